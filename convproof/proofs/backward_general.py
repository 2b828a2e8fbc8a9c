"""The backward passes for symbolic sizes: their one index rule against the definitions.

:func:`prove_backward_general` takes the rule from :mod:`convproof.constructions.backward`
itself (``_tap_cell``, ``_cell_index``) and compares it by delta summation with the
definitions of :mod:`convproof.proofs.symbolic_sizes`, which never use that module.
"""

from __future__ import annotations

import time
from typing import Any

import sympy

from convproof.constructions import backward_plan as _bw
from convproof.errors import ConvProofError
from convproof.proofs.result import ProofResult
from convproof.proofs.symbolic_sizes import (
    SYMBOL_CONDITIONS,
    axis_symbols,
    combine_steps,
    compare_symbolic,
    conv_point,
    definition_read,
    definition_write,
    delta_sum,
    gated,
)

__all__ = ["prove_backward_general"]


def prove_backward_general(ndim: int = 2, *, seed: int = 0) -> ProofResult:
    """Prove for symbolic sizes that the backward passes use the layer's own index rule.

    :func:`convproof.conv_backward` and :func:`convproof.pool_backward` pair every
    ``grad_output[a]`` with tap ``u`` at the buffer cell ``_tap_cell(a, u) = a*s + u*d`` and
    read or write tensor index ``_cell_index(q) = q - p`` there (zero padding outside).
    With ``n, s, d, k, p, a, u`` integer symbols (per axis, ``ndim`` axes), this compares
    that rule, taken from the backward module itself, with the definitions written in
    :mod:`convproof.proofs.symbolic_sizes` (never from :mod:`convproof.constructions.backward`):

    * convolution and pooling: ``<x, grad_input(g)>`` and ``grad_weight`` pair ``g[a] w[u]``
      with ``x[pos]``: ``sum_j x(j) [j = pos]`` by delta summation must be the definition's
      read ``x(a*s + u*d - p)`` inside the input, 0 in the padding.  So
      ``grad_input = T^T g`` and ``grad_weight[u] = sum_a g[a] x(read(a, u))``, the
      adjoints of the forward definition, for every size;
    * transposed convolution: input ``a`` lands, through tap ``u``, on output
      ``a*s + u*d - p`` (the scatter definition), so its gradients read ``g`` there;
    * the bias gradient is ``sum g`` (no index rule).

    Zero padding only (other modes fold taps with reflections that delta summation cannot
    handle; they are proved per shape by :func:`convproof.prove_backward`).

    Parameters
    ----------
    ndim : int
        Number of spatial axes (1, 2 or 3).
    seed : int
        Seed of the search for a concrete counterexample when a step is not identical.

    Returns
    -------
    ProofResult
        ``"proved"`` when every step is identical, ``"refuted"`` with a concrete point
        otherwise; ``.conditions`` state the symbols' domains.

    Examples
    --------
    >>> import convproof as cp
    >>> r = cp.prove_backward_general(ndim=2)
    >>> r.status, [c.status for c in r.checks]
    ('proved', ['proved', 'proved'])
    """
    if isinstance(ndim, bool) or not isinstance(ndim, int) or not 1 <= ndim <= 3:
        raise ConvProofError(f"ndim must be 1, 2 or 3, got ndim={ndim!r}")
    t0 = time.perf_counter()
    S = axis_symbols(ndim)
    axes = range(ndim)
    x = sympy.Function("x")
    y = sympy.Function("g")

    def rule(a: Any, i: int) -> Any:
        cell = _bw._tap_cell(a, S["u"][i], stride=S["s"][i], dilation=S["d"][i])
        return _bw._cell_index(cell, pad_before=S["p"][i])

    conditions = (SYMBOL_CONDITIONS, "zero padding")

    def step(name: str, statement: str, f: Any, define: Any, notes: tuple[str, str, str]) -> Any:
        """Delta-sum ``f`` at the backward rule's position; compare with ``define``'s term."""
        t = time.perf_counter()
        rule_at = [rule(S["a"][i], i) for i in axes]
        derived = delta_sum(f, rule_at, S["j"], S["n"])
        terms = [define(S["a"][i], S["u"][i], S["s"][i], S["d"][i], S["p"][i]) for i in axes]
        definition = gated(f, terms, S["n"])
        lines = [
            notes[0] + ", ".join(sympy.sstr(m) for m in rule_at),
            f"{notes[1]}: {sympy.sstr(derived)}",
            f"{notes[2]}: {sympy.sstr(definition)}",
        ]
        point = conv_point(S, ndim)
        return compare_symbolic(
            name, statement, derived, definition, point, seed, lines, conditions, t
        )

    first = step(
        f"{ndim}-D gather",
        "grad_input = T^T g and grad_weight pair g[a] w[u] with the input the window reads",
        x,
        definition_read,
        (
            "backward rule: pos = _cell_index(_tap_cell(a, u)) = ",
            "sum_j x(j) [j = pos] over the input box",
            "definition (window a, tap u reads a*s + u*d - p)",
        ),
    )
    second = step(  # transposed: input a lands where the rule points
        f"{ndim}-D scatter",
        "transposed convolution: the gradients read g where input a lands through tap u",
        y,
        definition_write,
        (
            "backward rule (transposed): landing = _cell_index(_tap_cell(a, u)) = ",
            "sum_j g(j) [j = landing] over the output box",
            "definition (scatter: a*s + u*d - p, cropped outside)",
        ),
    )
    steps = [
        "grad_bias = sum of g over batch and positions (no index rule)",
        *first.steps,
        *second.steps,
    ]
    return combine_steps(
        f"backward index rules for symbolic sizes ({ndim}-D, zero padding)",
        [first, second],
        None,
        steps,
        conditions,
        {"sizes": f"symbolic, {ndim}-D", "layers": "conv, transposed conv, pooling (routing)"},
        t0,
    )
