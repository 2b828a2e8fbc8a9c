"""Inverse shape arithmetic: the paddings, output paddings and input sizes users ask for.

The forward direction (output shape, padding, parameters, MACs of a layer) lives on the
specs themselves (:meth:`ConvSpec.output_shape <convproof.ConvSpec.output_shape>`, ...).
This module answers the inverse questions, one spatial axis at a time (axes are
independent):

=====================================  ===================================================
function                               returns
=====================================  ===================================================
:func:`padding_options`                every ``(before, after)`` pair per axis that gives a
                                       target output size
:func:`padding_for_output`             the smallest symmetric (or smallest total) padding
                                       that gives it, as ``((before, after), ...)``
:func:`inverse_output_padding`         the ``output_padding`` with which a transposed conv
                                       maps a forward conv's output size back to its input
:func:`transpose_of`                   that :class:`~convproof.ConvTransposeSpec` itself
:func:`input_sizes_with_same_output`   every input size a layer maps to the same output
                                       size (the stride ambiguity), as ``range`` per axis
:func:`output_padding_for_size`        PyTorch's ``output_size=`` argument of a transposed
                                       conv, turned into ``output_padding``
=====================================  ===================================================

Every answer is checked against the spec's own rules (padding limits of the padding
mode and of pooling, PyTorch's legality rules): a padding is only offered if the spec
built with it accepts the input.

Examples
--------
>>> import convproof as cp
>>> conv = cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3, stride=2, padding=1)
>>> conv.output_shape((3, 7, 8))
(8, 4, 4)
>>> cp.input_sizes_with_same_output(conv, (3, 7, 8))
(range(7, 9), range(7, 9))
>>> t = cp.transpose_of(conv, (3, 7, 8))
>>> t.output_padding, t.output_shape((8, 4, 4))
((0, 1), (3, 7, 8))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from convproof._docfill import fill_doc
from convproof.errors import ConvProofError
from convproof.layers import sizes as _axis
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, Pairs, PoolSpec, Spec, _ints

__all__ = [
    "input_sizes_with_same_output",
    "inverse_output_padding",
    "output_padding_for_size",
    "padding_for_output",
    "padding_options",
    "transpose_of",
]

_SPEC_TYPES = (ConvSpec, ConvTransposeSpec, PoolSpec)


def _check_spec(spec: Any, name: str = "spec", types: tuple[type, ...] = _SPEC_TYPES) -> None:
    if not isinstance(spec, types):
        accepted = ", ".join(t.__name__ for t in types)
        raise ConvProofError(f"{name} must be a {accepted}, got {name}={spec!r}")


def _axis_out(spec: Spec, axis: int, i: int, padding: Any) -> int | None:
    """Output size along ``axis`` for input size ``i``, or ``None`` if the spec refuses it."""
    if getattr(spec, "input_at_least_kernel", False) and i < spec.kernel_size[axis]:
        return None  # the full spec refuses it; its one-axis slice would not
    try:
        return spec.one_axis(axis, padding).output_spatial((i,))[0]
    except ConvProofError:
        return None


def _spatial(spec: Spec, input_shape: Sequence[int]) -> tuple[int, ...]:
    return spec.split_input_shape(input_shape)[2]


def _axis_padding(spec: Spec, axis: int) -> Any:
    """The spec's padding along one axis: a name, or a ``((before, after),)`` pair."""
    if isinstance(spec.padding, str):
        return spec.padding
    return (spec.padding[axis],)


def _candidate_pairs(spec: Spec, axis: int, i: int, o: int) -> list[tuple[int, int]]:
    """Pairs that may give output ``o`` (a superset; the caller filters with the spec)."""
    k, s, d = spec.kernel_size[axis], spec.stride[axis], spec.dilation[axis]
    k_eff = _axis.effective_kernel(k, d)
    if isinstance(spec, ConvTransposeSpec):
        totals = [(i - 1) * s + k_eff + spec.output_padding[axis] - o]
    elif isinstance(spec, ConvSpec):
        # floor((i + T - k_eff)/s) + 1 == o  <=>  (o-1)s <= i + T - k_eff <= (o-1)s + s - 1
        lo = (o - 1) * s + k_eff - i
        totals = list(range(lo, lo + s))
    else:  # pooling: each side at most k // 2
        totals = list(range(0, 2 * (k // 2) + 1))
    return [(pl, t - pl) for t in totals if t >= 0 for pl in range(t + 1)]


def padding_options(
    spec: Spec, input_shape: Sequence[int], output_size: int | Sequence[int]
) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Every per-side padding that gives a target output size, per spatial axis.

    The spec's own ``padding`` is ignored; every other argument (kernel, stride, dilation,
    ``output_padding``, ``ceil_mode``, padding mode) is kept, and a pair is only listed if
    the spec built with it accepts the input (e.g. ``reflect`` needs padding < input size,
    pooling padding at most ``kernel_size // 2``).

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``.
    output_size : int or tuple of int
        Target spatial output size (an int applies to every axis).

    Returns
    -------
    tuple of tuple of (int, int)
        Per axis, the ``(before, after)`` pairs sorted by total then ``before``; an empty
        tuple where no padding works (see :func:`padding_for_output` for an error instead).

    Notes
    -----
    For a convolution the total ``T = before + after`` must satisfy
    ``(o - 1)s <= i + T - k_eff <= (o - 1)s + s - 1`` (``s`` consecutive totals); a
    transposed conv needs exactly ``T = (i - 1)s + k_eff + op - o``.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=4, ndim=1)
    >>> cp.padding_options(spec, (1, 10), 10)
    (((0, 3), (1, 2), (2, 1), (3, 0)),)
    >>> pool = cp.PoolSpec(kind="max", kernel_size=3, stride=2, ndim=1)
    >>> cp.padding_options(pool, (1, 8), 4)
    (((0, 1), (1, 0), (1, 1)),)
    """
    _check_spec(spec)
    spatial = _spatial(spec, input_shape)
    target = _ints("output_size", output_size, spec.ndim, 1)
    options = []
    for axis, (i, o) in enumerate(zip(spatial, target)):
        pairs = [
            pair
            for pair in _candidate_pairs(spec, axis, i, o)
            if _axis_out(spec, axis, i, (pair,)) == o
        ]
        options.append(tuple(sorted(pairs, key=lambda p: (p[0] + p[1], p[0]))))
    return tuple(options)


def _reachable(spec: Spec, axis: int, i: int) -> str:
    """A short description of the output sizes that padding can reach along one axis."""
    k, s, d = spec.kernel_size[axis], spec.stride[axis], spec.dilation[axis]
    if isinstance(spec, ConvTransposeSpec):
        biggest = _axis.transposed_out(i, k, s, d, 0, 0, spec.output_padding[axis])
        return f"a transposed conv's output is at most {biggest} (padding 0) here"
    if isinstance(spec, PoolSpec):
        sizes = sorted(
            {
                o
                for pl in range(k // 2 + 1)
                for pr in range(k // 2 + 1)
                if (o := _axis_out(spec, axis, i, ((pl, pr),))) is not None
            }
        )
        return f"pooling padding is at most kernel_size // 2 = {k // 2}, reachable sizes {sizes}"
    smallest = _axis.conv_out(i, k, s, d, 0, 0)
    note = "" if spec.padding_mode == "zeros" else f" (padding_mode={spec.padding_mode!r} limits)"
    return f"padding >= 0 gives output sizes >= {max(smallest, 1)}{note}"


def padding_for_output(
    spec: Spec,
    input_shape: Sequence[int],
    output_size: int | Sequence[int],
    *,
    symmetric: bool = True,
) -> Pairs:
    """The smallest padding that gives a target output size, as ``((before, after), ...)``.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
        Its own ``padding`` is ignored.
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``.
    output_size : int or tuple of int
        Target spatial output size (an int applies to every axis).
    symmetric : bool, default True
        ``True``: the smallest ``p`` with ``(p, p)`` per axis (PyTorch's int padding).
        ``False``: the smallest total, split as evenly as possible with the odd extra at the
        end (TF's ``SAME`` convention), falling back to the smallest other split.

    Returns
    -------
    tuple of (int, int)
        One ``(before, after)`` pair per axis, ready for ``padding=`` or
        :meth:`~convproof.ConvSpec.resolve_padding`'s format.

    Raises
    ------
    ConvProofError
        ``no padding gives output size ... along dim ...`` when no (symmetric) padding does,
        with the sizes that are reachable.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=7, stride=2)
    >>> cp.padding_for_output(spec, (3, 224, 224), 112)
    ((3, 3), (3, 3))
    >>> cp.padding_for_output(spec, (3, 224, 224), 112, symmetric=False)
    ((2, 3), (2, 3))
    >>> cp.padding_for_output(spec, (3, 224, 224), 50)
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: no padding gives output size 50 along dim 0: input size
    224, padding >= 0 gives output sizes >= 109, got output_size=50
    """
    options = padding_options(spec, input_shape, output_size)
    spatial = _spatial(spec, input_shape)
    target = _ints("output_size", output_size, spec.ndim, 1)
    chosen = []
    for axis, (pairs, i, o) in enumerate(zip(options, spatial, target)):
        if not pairs:
            raise ConvProofError(
                f"no padding gives output size {o} along dim {axis}: input size {i}, "
                f"{_reachable(spec, axis, i)}, got output_size={output_size!r}"
            )
        if symmetric:
            sym = [p for p in pairs if p[0] == p[1]]
            if not sym:
                raise ConvProofError(
                    f"no symmetric padding gives output size {o} along dim {axis}: input size "
                    f"{i}; per-side paddings that do: {list(pairs[:4])} (use symmetric=False), "
                    f"got output_size={output_size!r}"
                )
            chosen.append(sym[0])
        else:
            total = pairs[0][0] + pairs[0][1]
            upper = _axis.split_total(total, True)
            chosen.append(upper if upper in pairs else pairs[0])
    return tuple(chosen)


#: The Parameters both inverses of a forward conv document (their ``{forward}`` line).
_forward_doc = fill_doc(
    forward="""\
    conv_spec : ConvSpec
        The forward convolution.
    input_shape : tuple of int
        Its input, ``(C, *spatial)`` or ``(N, C, *spatial)``.
"""
)


@_forward_doc
def inverse_output_padding(conv_spec: ConvSpec, input_shape: Sequence[int]) -> tuple[int, ...]:
    """The ``output_padding`` that makes the transposed conv undo this conv's shape change.

    Parameters
    ----------
    {forward}

    Returns
    -------
    tuple of int
        ``op = (i + p_before + p_after - k_eff) mod s`` per axis: the input elements the
        forward conv never reached, always ``< s``.

    Notes
    -----
    The forward output is ``o = floor((i + T - k_eff)/s) + 1`` (``T`` the total padding);
    the transposed conv with the same arguments returns ``(o - 1)s - T + k_eff + op``,
    which equals ``i`` exactly when ``op = (i + T - k_eff) - (o - 1)s``, the remainder.

    Examples
    --------
    >>> import convproof as cp
    >>> conv = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=3, ndim=1)
    >>> conv.output_shape((1, 7)), cp.inverse_output_padding(conv, (1, 7))
    ((1, 2), (1,))
    """
    _check_spec(conv_spec, "conv_spec", (ConvSpec,))
    spatial = _spatial(conv_spec, input_shape)
    pads = conv_spec.resolve_padding(input_shape)
    conv_spec.output_shape(input_shape)  # validates
    return tuple(
        (i + pl + pr - _axis.effective_kernel(k, d)) % s
        for i, k, s, d, (pl, pr) in zip(
            spatial, conv_spec.kernel_size, conv_spec.stride, conv_spec.dilation, pads
        )
    )


@_forward_doc
def transpose_of(conv_spec: ConvSpec, input_shape: Sequence[int]) -> ConvTransposeSpec:
    """The transposed convolution that maps this conv's output shape back to its input shape.

    Channels are swapped; kernel size, stride, dilation, groups and bias are kept; named
    paddings are resolved for ``input_shape``; ``output_padding`` is
    :func:`inverse_output_padding`.

    Parameters
    ----------
    {forward}

    Returns
    -------
    ConvTransposeSpec
        With ``transpose_of(c, x).output_shape(c.output_shape(x)) == x``.  With
        ``padding_mode="zeros"`` its matrix is the transpose of the forward conv's matrix
        (the adjoint); with another padding mode only the shapes correspond.

    Examples
    --------
    >>> import convproof as cp
    >>> conv = cp.ConvSpec(in_channels=3, out_channels=16, kernel_size=3, stride=2,
    ...                    padding=1)
    >>> t = cp.transpose_of(conv, (3, 32, 31))
    >>> t.in_channels, t.out_channels, t.padding, t.output_padding
    (16, 3, ((1, 1), (1, 1)), (1, 0))
    >>> t.output_shape(conv.output_shape((3, 32, 31)))
    (3, 32, 31)
    """
    op = inverse_output_padding(conv_spec, input_shape)
    return ConvTransposeSpec(
        in_channels=conv_spec.out_channels,
        out_channels=conv_spec.in_channels,
        kernel_size=conv_spec.kernel_size,
        stride=conv_spec.stride,
        padding=conv_spec.resolve_padding(input_shape),
        output_padding=op,
        dilation=conv_spec.dilation,
        groups=conv_spec.groups,
        bias=conv_spec.bias,
        ndim=conv_spec.ndim,
    )


def input_sizes_with_same_output(spec: Spec, input_shape: Sequence[int]) -> tuple[range, ...]:
    """Every input size that the layer maps to the same output size, per spatial axis.

    With stride ``s > 1`` a convolution or pooling layer sends up to ``s`` consecutive input
    sizes to one output size (why transposed convs need ``output_padding``); a transposed
    conv is injective on sizes.  Named paddings (``"SAME_UPPER"``, ...) are re-resolved
    for each candidate size, as the layer would.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``.

    Returns
    -------
    tuple of range
        Per axis, the consecutive input sizes ``i`` (accepted by the spec) with the same
        output size as ``input_shape``'s.

    Examples
    --------
    >>> import convproof as cp
    >>> conv = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=3, ndim=1)
    >>> cp.input_sizes_with_same_output(conv, (1, 7))
    (range(6, 9),)
    >>> same = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=4,
    ...                    padding="SAME_UPPER", ndim=1)
    >>> cp.input_sizes_with_same_output(same, (1, 10))
    (range(9, 13),)
    """
    _check_spec(spec)
    spec.output_shape(input_shape)  # validates
    spatial = _spatial(spec, input_shape)
    ranges = []
    for axis, i in enumerate(spatial):
        padding = _axis_padding(spec, axis)
        o = _axis_out(spec, axis, i, padding)
        # the output size is non-decreasing in i and grows by >= 1 every s steps
        limit = spec.stride[axis] + 2
        lo = i
        while lo > 1 and lo > i - limit and _axis_out(spec, axis, lo - 1, padding) == o:
            lo -= 1
        hi = i
        while hi < i + limit and _axis_out(spec, axis, hi + 1, padding) == o:
            hi += 1
        ranges.append(range(lo, hi + 1))
    return tuple(ranges)


def output_padding_for_size(
    tspec: ConvTransposeSpec, input_shape: Sequence[int], output_size: int | Sequence[int]
) -> tuple[int, ...]:
    """PyTorch's ``output_size=`` for a transposed conv, as ``output_padding``.

    ``ConvTranspose*d.forward(x, output_size=...)`` accepts, per axis, a size in
    ``[m, m + s - 1]`` where ``m`` is the output size with ``output_padding = 0``, and uses
    ``output_padding = size - m``.  The spec's own ``output_padding`` is ignored.

    Parameters
    ----------
    tspec : ConvTransposeSpec
    input_shape : tuple of int
        ``(C_in, *spatial)`` or ``(N, C_in, *spatial)``.
    output_size : int or tuple of int
        Requested spatial output size.

    Returns
    -------
    tuple of int
        ``output_padding`` per axis (each ``< s``).

    Raises
    ------
    ConvProofError
        When a requested size is outside ``[m, m + s - 1]`` (PyTorch raises too), or the
        output padding is refused by the spec (``op`` must be < stride or < dilation).

    Examples
    --------
    >>> import convproof as cp
    >>> t = cp.ConvTransposeSpec(in_channels=4, out_channels=2, kernel_size=3, stride=2,
    ...                          padding=1)
    >>> t.output_shape((4, 8, 8))
    (2, 15, 15)
    >>> cp.output_padding_for_size(t, (4, 8, 8), (16, 15))
    (1, 0)
    """
    _check_spec(tspec, "tspec", (ConvTransposeSpec,))
    spatial = _spatial(tspec, input_shape)
    pads = tspec.resolve_padding(input_shape)
    target = _ints("output_size", output_size, tspec.ndim, 1)
    ops = []
    for axis, (i, k, s, d, (pl, pr), o) in enumerate(
        zip(spatial, tspec.kernel_size, tspec.stride, tspec.dilation, pads, target)
    ):
        m = _axis.transposed_out(i, k, s, d, pl, pr, 0)
        if not m <= o <= m + s - 1:
            raise ConvProofError(
                f"output_size must be between {m} and {m + s - 1} along dim {axis} (sizes "
                f"with output_padding 0 to stride - 1), got output_size={output_size!r}"
            )
        ops.append(o - m)
    kwargs = {f.name: getattr(tspec, f.name) for f in fields(tspec)}
    kwargs["output_padding"] = tuple(ops)
    got = ConvTransposeSpec(**kwargs).output_shape(input_shape)[-tspec.ndim :]
    if got != target:  # named paddings depend on output_padding
        raise ConvProofError(
            f"no output_padding gives output size {target} with padding={tspec.padding!r} "
            f"(it resolves to {got}), got output_size={output_size!r}"
        )
    return tuple(ops)
