"""Concrete proofs: the conv matrix (or yours) *is* the sliding-window sum, exactly.

Both sides of ``vec(Z) = T vec(X) + bias`` are polynomials in the input symbols ``X``, the
kernel symbols ``W`` and the bias symbols ``b``: every output is a sum of monomials
``c * X[i] * W[t]`` (``c`` a rational; for average pooling ``c * X[i]``) plus ``b[c_out]``.
Two such polynomials are equal iff their coefficient tables are equal, so :func:`prove`
builds both tables as NumPy arrays, brings them to a canonical form (duplicate monomials
summed, zeros dropped, sorted by one composite integer key) and compares them with array
equality.  No floating point is involved and no SymPy expression is built for large cases.

Convproof's own matrix is compared *block by block* (a range of channels times a slab of
the first spatial axis, about 131 k entries): both sides list a block's monomials in the
same order (output, input channel, tap), so equal lists prove the block with one pass and
no sort; a block that differs is compared exactly (canonical tables) and the smallest
difference over all blocks is the counterexample.  Memory stays at one block, so whole
networks are provable (ResNet-50's 53 conv layers at 224x224, about 4 G monomials, in
seconds: see ``benchmarks/bench_prove_networks.py``); :func:`convproof.prove_network` proves
every layer of a network.

=========================  ===========================================================
side                       built from
=========================  ===========================================================
definition                 :mod:`convproof.constructions.definition`: its own index
                           arithmetic, straight from the definition (gather form for
                           convolution and pooling, scatter form for the transposed
                           convolution), padding modes included
matrix                     :func:`convproof.constructions.matrix.matrix_entries` (per-axis index
                           patterns combined by Kronecker structure), or *your* matrix
=========================  ===========================================================

A failed proof is a result, not an exception: :class:`ProofResult` with ``status ==
"refuted"`` and the smallest counterexample (which output, which monomial, expected vs
found coefficient).  :func:`prove_function` checks a conv *function* the same way.

Examples
--------
>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
>>> result = cp.prove(spec, (3, 25, 25))
>>> bool(result), result.status, result.method
(True, 'proved', 'coefficient-table')
>>> result.checks[0].monomials   # 5 x 3 channel pairs x 73**2 (output, tap) pairs
79935
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np

from convproof._docfill import LAYER_INPUT, fill_doc
from convproof.constructions.coefficients import Entries, canonical
from convproof.constructions.definition import (
    Layout,
    bias_definition,
    definition_entries,
    definition_table,
    layout_of,
    monomial_count,
)
from convproof.constructions.matrix_layout import from_layout
from convproof.errors import ConvProofError
from convproof.layers.layout import parse_layout, parse_weight_layout
from convproof.layers.spec import PoolSpec
from convproof.proofs import claimed_matrix
from convproof.proofs.claimed_matrix import (
    library_object_check,
    max_pool_proof,
    prove_numeric,
    sympy_crosschecks,
    with_unreadable,
)
from convproof.proofs.progress import progress_bar
from convproof.proofs.reading import (
    bias_from_vector,
    entries_from_matrix_entries,
    is_entries,
    is_sympy_matrix,
    library_bias,
    numeric_bias,
    numeric_bias_definition,
    parse_symbolic,
    symbol_maps,
)
from convproof.proofs.result import (
    ProofCounterexample,
    ProofResult,
    combine,
    compare_entries,
    index_text,
    layer_sizes,
    unravel,
)
from convproof.proofs.streaming import check_memory, stream_compare

__all__ = ["coefficient_table", "prove"]

#: Above this many monomials the optional SymPy cross-check is skipped by default.
_CROSSCHECK_LIMIT = 600


@fill_doc(layer_input=LAYER_INPUT)
def coefficient_table(
    spec: Any, input_shape: Sequence[int]
) -> dict[tuple[int, int, int], Fraction]:
    """The definition's coefficient table as a dict (small layers; for inspection and tests).

    Parameters
    ----------
    {layer_input}

    Returns
    -------
    dict
        ``{(row, col, tap): coefficient}``: output ``row`` (flat over ``(C_out, *out)``)
        contains ``coefficient * X[col] * W[tap]`` (flat C-order indices; ``tap == -1``
        for pooling, which has no kernel symbols).  Built by the own index arithmetic of
        :mod:`convproof.constructions.definition`, never from the matrix code.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    >>> table = cp.coefficient_table(spec, (1, 3, 3))   # the seed's 4x9 matrix
    >>> sorted(col for (row, col, tap) in table if row == 0)
    [0, 1, 3, 4]
    >>> pool = cp.coefficient_table(cp.PoolSpec(kind="avg", kernel_size=2, ndim=1), (1, 4))
    >>> [(row, col, str(c)) for (row, col, tap), c in pool.items()]
    [(0, 0, '1/2'), (0, 1, '1/2'), (1, 2, '1/2'), (1, 3, '1/2')]
    """
    lay = layout_of(spec, input_shape)
    table = canonical(definition_entries(spec, input_shape), lay.nrows, lay.ncols, lay.ntaps)
    return {table.decode(i): table.coefficient(i) for i in range(table.size)}


def prove(
    spec: Any,
    input_shape: Sequence[int],
    *,
    matrix: Any = None,
    weight: Any = None,
    bias: Any = None,
    bias_vector: Any = None,
    crosscheck: bool | None = None,
    max_bytes: int | None = None,
    progress: bool | None = None,
    layout: str | None = None,
    weight_layout: str | None = None,
) -> ProofResult:
    """Prove that a conv matrix computes the layer's sliding-window sum, exactly.

    Decides ``vec(Z) = T vec(X) + bias_vector`` as an identity of polynomials in the input,
    kernel and bias symbols by comparing canonical coefficient tables (see the module
    docstring).  Nothing is rounded.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``; the proof is per sample.
    matrix : optional
        The claimed ``T``.  ``None`` (default): convproof's own
        :func:`~convproof.constructions.matrix.matrix_entries` / ``conv_matrix``.  A SymPy matrix
        whose
        entries are linear in the kernel symbols of :func:`convproof.layer_symbols`
        (constants for average pooling).  A NumPy array or SciPy sparse matrix: numeric, for
        the given ``weight``.  Or matrix entries (an object with ``rows``, ``cols``, ``taps``
        and optionally ``divisors`` arrays, as from ``matrix_entries``).
    weight : array_like, optional
        Required with a numeric ``matrix`` (conv and transposed conv): the weights it was
        built from, PyTorch layout.  Integers and Fractions compare exactly; floats too,
        with a tolerance fallback (status ``"inconclusive"``) when only rounding differs.
    bias, bias_vector : optional
        The claimed bias part.  With a user ``matrix`` and ``spec.bias``, give
        ``bias_vector``: SymPy entries in the ``b`` symbols, or numbers together with
        ``bias`` (the values of ``b``).  A missing ``bias_vector`` means zero, which refutes a
        layer with bias (use ``bias=False`` in the spec to check ``T`` alone).
    crosscheck : bool, optional
        Also compare with SymPy: :func:`~convproof.sliding_sum` vs the symbolic
        ``conv_matrix`` (coefficient tables) and row-by-row ``expand(T x + b - Z) == 0``.
        Default: only for small layers (at most 600 monomials).
    max_bytes : int, optional
        Refuse (before allocating) a proof whose estimated peak memory is larger; default
        :func:`convproof.get_max_bytes` (the one memory limit).  Convproof's own matrix
        (``matrix=None``) is compared
        block by block: the estimate is one block (about 12 MiB) plus about 80 bytes per
        output for the bias part, so whole VGG layers fit.  A given matrix is compared at
        once: about 40 bytes per monomial.
    progress : bool, optional
        Show a progress bar (``tqdm``, on stderr) while comparing the blocks.  Default
        (``None``): only when stderr is a terminal and the layer has more than 20 million
        monomials.
    layout, weight_layout : str, optional
        The claimed ``matrix`` (and ``bias_vector``) act on samples flattened in
        ``layout`` (``"NHWC"``, ``"HWC"``, ...; ``input_shape`` is in it) and ``weight``
        is in ``weight_layout`` (``"HWIO"``, ...), as :func:`convproof.conv_matrix` builds
        them with these keywords.  Needs a claimed ``matrix``; the counterexample's
        indices are channels-first.

    Returns
    -------
    ProofResult
        Truthy iff proved.  ``method`` is ``"coefficient-table"``, ``"numeric-exact"``,
        ``"numeric-tolerance"`` or ``"window-sets"`` (max pooling: not linear, so the
        windows' input sets are proved equal instead).  When refuted, ``counterexample`` is
        the smallest differing monomial in (output row, input column, tap) order.

    Raises
    ------
    ConvProofError
        For invalid input (a shape that does not fit, a numeric matrix without ``weight``).
    MemoryLimitError
        When the estimated memory exceeds ``max_bytes``; the message says how much.

    Notes
    -----
    The definition side is built by this module's own index arithmetic (gather form for
    convolution and pooling, scatter form for the transposed convolution, padding modes
    mapped per axis), never from :mod:`convproof.constructions.index` or
    :mod:`convproof.constructions.matrix`.
    With ``matrix=None`` both sides are built block by block (channels x a slab of the first
    spatial axis): the library's entries (the construction of
    :func:`~convproof.constructions.matrix.matrix_entries`, one block at a time) and the
    definition's, in
    the same order, compared element by element (int32 when every index fits).  Equal
    blocks are proved in one pass; a differing block is compared exactly as below, and an
    entry outside its block sends the proof to the whole-layer comparison.  Cost ``O(m)``
    for ``m`` monomials, memory one block.  A given matrix is compared at once: the keys
    ``(row * n_cols + col) * (n_taps + 1) + tap + 1`` are sorted as one int64 array
    (three-column lexicographic sort when they would overflow), duplicate monomials are
    summed, zeros dropped: ``O(m log m)``, about 40 bytes per monomial.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    >>> r = cp.prove(spec, (1, 3, 3))
    >>> print(r)                                             # doctest: +ELLIPSIS
    PROVED: vec(Z) = T vec(X)
      method:   coefficient-table
      layer:    ConvSpec(1->1, kernel_size=(2, 2), stride=(1, 1), ...)
      input:    (1, 3, 3)
      output:   (1, 2, 2)
      padding:  ((0, 0), (0, 0))
      matrix:   4 x 9
      kernel:   4 symbols W[1, 1, 2, 2]
      compared: 16 monomials
      covers:   per sample: input (1, 3, 3) -> output (1, 2, 2)
      covers:   conv_matrix (scipy.sparse): assembled at random distinct integer weights, exact
      covers:   SymPy objects: sliding_sum and the symbolic conv_matrix, compared exactly
      PROVED: T = the definition's coefficient table (x*w monomials)
        method:   coefficient-table
        compared: 16 monomials
      PROVED: conv_matrix(weight) (CSR) = the definition at that weight
        method:   object-exact
        compared: 16 monomials
      PROVED: sliding_sum (SymPy) = the definition's table
        method:   sympy-coefficients
        compared: 16 monomials
      PROVED: expand(T x + bias - sliding_sum) == 0, row by row
        method:   sympy-expand
        rows:     4
      time:     ... s

    A user's symbolic matrix with the kernel flipped is refuted, with the smallest
    counterexample:

    >>> import sympy
    >>> X, W, b = cp.layer_symbols(spec, (1, 3, 3))
    >>> T = cp.conv_matrix(spec, (1, 3, 3))
    >>> flip = {W[0, 0, i, j]: W[0, 0, 1 - i, 1 - j] for i in range(2) for j in range(2)}
    >>> bad = cp.prove(spec, (1, 3, 3), matrix=T.xreplace(flip))
    >>> bad.status
    'refuted'
    >>> print(bad.counterexample)
    output [0, 0, 0]: coefficient of x_{0,0,0}*w_{0,0,0,0} is 0, the definition says 1
    """
    if layout is not None or weight_layout is not None:
        return _prove_in_layout(
            spec, input_shape, matrix, weight, bias, bias_vector, layout, weight_layout,
            crosscheck=crosscheck, max_bytes=max_bytes, progress=progress,
        )  # fmt: skip
    t0 = time.perf_counter()
    lay = layout_of(spec, input_shape)
    streaming = matrix is None and not (isinstance(spec, PoolSpec) and spec.kind == "max")
    limit = check_memory(spec, input_shape, max_bytes, streaming=streaming)
    sizes = layer_sizes(spec, lay)
    if isinstance(spec, PoolSpec) and spec.kind == "max":
        return max_pool_proof(spec, lay, matrix, t0)
    statement = "vec(Z) = T vec(X) + bias" if getattr(spec, "bias", False) else "vec(Z) = T vec(X)"
    checks: list[ProofResult] = []
    ntaps = lay.ntaps

    has_bias = bool(getattr(spec, "bias", False))
    scope: dict[str, Any] = {"per sample": f"input {lay.in_shape} -> output {lay.out_shape}"}
    bias_claimed = has_bias and (matrix is None or bias_vector is not None)
    if has_bias and not bias_claimed:
        statement = "vec(Z) - bias = T vec(X) (the linear part)"
        scope["bias"] = "not part of the claim (no bias_vector given): T alone was checked"

    if matrix is not None and not is_sympy_matrix(matrix) and not is_entries(matrix):
        res, _ = prove_numeric(spec, lay, matrix, weight, t0)
        checks.append(res)
        scope["weights"] = "the given numeric weight only"
        if bias_vector is not None:
            bexp = numeric_bias_definition(spec, lay, bias)
            bfound = (
                Entries(*(np.zeros(0, np.int64),) * 3, None)
                if bias_vector is None
                else numeric_bias(spec, lay, bias_vector, bias)
            )
            checks.append(
                compare_entries(
                    "bias_vector = b[c_out]",
                    bexp,
                    bfound,
                    lay,
                    ncols=1,
                    ntaps=0,
                    method="numeric-exact",
                    bias=True,
                )
            )
        return replace(combine(statement, checks, sizes, t0, method=res.method), scope=scope)

    bad = None
    method = "coefficient-table"
    kept: list[Any] = []  # the definition's blocks, reused by the object check
    if matrix is None:
        count = monomial_count(spec, lay)
        with progress_bar(progress, count) as tick:
            keep = kept if count <= claimed_matrix._OBJECT_CHECK_LIMIT else None
            main = stream_compare(spec, lay, tick, limit, keep)
    elif is_entries(matrix):
        found = entries_from_matrix_entries(matrix)
    else:
        wmap = symbol_maps(spec, lay)[1] if lay.weight_shape is not None else {}
        if tuple(matrix.shape) != (lay.nrows, lay.ncols):
            raise ConvProofError(
                f"matrix must have shape ({lay.nrows}, {lay.ncols}) (outputs x inputs of one "
                f"sample), got matrix with shape {tuple(matrix.shape)}"
            )
        parsed = parse_symbolic(
            matrix, lay, wmap, lambda c: f"x_{{{index_text(unravel(c, lay.in_shape))}}}"
        )
        found, bad = parsed
    if matrix is not None:
        main = compare_entries(
            "T = the definition's coefficient table (x*w monomials)",
            definition_table(spec, lay),
            found,
            lay,
            ncols=lay.ncols,
            ntaps=ntaps,
            method=method,
        )
    if bad is not None and (
        main.counterexample is None or (bad[0], bad[1]) <= _rc(lay, main.counterexample)
    ):
        r, c, mono, value = bad
        cx = ProofCounterexample(
            unravel(r, lay.out_shape), mono, Fraction(0), value, unravel(c, lay.in_shape), None
        )
        main = replace(main, status="refuted", counterexample=cx)
    checks.append(main)

    if bias_claimed or bias_vector is not None:
        bexp = bias_definition(spec, lay)
        if matrix is None:
            parsed_b = library_bias(spec, lay)
        else:
            bmap = symbol_maps(spec, lay)[2]
            parsed_b = bias_from_vector(bias_vector, lay, bmap)
        checks.append(
            with_unreadable(
                compare_entries(
                    "bias = b[c_out] once per output",
                    bexp,
                    parsed_b.entries,
                    lay,
                    ncols=lay.out_shape[0],
                    ntaps=0,
                    method=method,
                    bias=True,
                ),
                parsed_b.bad,
                lay,
            )
        )
    if matrix is None and main.status == "proved":  # (a refuted T needs no second witness)
        checks.append(library_object_check(spec, lay, main.monomials, scope, kept))
    elif matrix is None:
        scope["conv_matrix (scipy.sparse)"] = "not checked: its entries are already refuted"
    else:
        scope["weights"] = "all (an identity of polynomials in the kernel symbols)"

    if crosscheck is None:
        crosscheck = matrix is None and main.monomials <= _CROSSCHECK_LIMIT
    if crosscheck:
        checks.extend(sympy_crosschecks(spec, lay, definition_table(spec, lay)))
        scope["SymPy objects"] = "sliding_sum and the symbolic conv_matrix, compared exactly"
    return replace(combine(statement, checks, sizes, t0, method=method), scope=scope)


def _prove_in_layout(
    spec: Any, input_shape: Any, matrix: Any, weight: Any, bias: Any, bias_vector: Any,
    layout: Any, weight_layout: Any, **options: Any,
) -> ProofResult:  # fmt: skip
    """:func:`prove` for a matrix claimed in a data layout: reordered to channels-first by
    the layout's row-major element order, then proved as usual."""
    if matrix is None:
        raise ConvProofError(
            f"layout={layout!r} / weight_layout={weight_layout!r} need a claimed matrix "
            f"(matrix=...), got matrix=None"
        )
    shape, canonical_matrix, canonical_bias = from_layout(
        spec, input_shape, layout, matrix, bias_vector
    )
    if weight is not None and weight_layout is not None:
        weight = parse_weight_layout(weight_layout, spec).to_canonical(weight)
    res = prove(
        spec, shape, matrix=canonical_matrix, weight=weight, bias=bias,
        bias_vector=canonical_bias, **options,
    )  # fmt: skip
    lay = parse_layout(layout, spec.ndim, batched=len(tuple(input_shape)) == spec.ndim + 2)
    text = f"rows and columns in {lay.per_sample().text} order (row-major)"
    if weight_layout is not None:
        text += f", weight in {weight_layout}"
    return replace(res, scope={**res.scope, "layout": text + "; counterexample channels-first"})


def _rc(lay: Layout, cx: ProofCounterexample) -> tuple[int, int]:
    row = int(np.ravel_multi_index(cx.output, lay.out_shape))
    col = -1 if cx.input is None else int(np.ravel_multi_index(cx.input, lay.in_shape))
    return row, col
