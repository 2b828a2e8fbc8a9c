"""On which input sizes do two layers compute the same function?

``cp.agreement(spec_a, spec_b)`` answers, per spatial axis, with the *exact* set of input
sizes on which the two layers give equal outputs for every input and every (shared) weight:
a finite list of small sizes, then residues modulo a period from some size on.  This is the
question behind every port: PyTorch ``padding=(k-1)//2`` and TF/JAX ``"SAME"`` give the same
output *shape* at stride 2 for every input size, but the same *values* only for odd sizes.

How it is decided
-----------------
Along one axis a layer is described by its index table (:mod:`convproof.constructions.index`):
for every output position and kernel tap, the input element it reads (or none: zero padding).
Two layers with the same weights are the same map on an axis exactly when their output sizes
and tables are equal (conv: the output is a sum of distinct monomials ``W[u]·x[j]``; max
pooling: the max over the window's set of elements; average pooling: the window's set and
its divisor; transposed conv: the table of where each input writes).  That comparison is
exact for one size.  For *all* sizes, the shift lemma below reduces the infinitely many sizes
to finitely many comparisons.

**Shift lemma.**  Let ``L`` be the least common multiple of both layers' strides on the axis.
(1) Every resolved padding is periodic in ``n`` with period ``s`` (so with period ``L``):
explicit paddings are constant; TF/JAX ``SAME`` has total ``max(0, k_eff - s + ((-n) mod s))``
because ``ceil(n/s)·s - n = (-n) mod s``; a transposed conv's ``SAME`` total does not depend
on ``n``.  (2) Hence ``o(n + L) = o(n) + L/s`` (the ceil-mode "last window starts in the
right padding" test is invariant too), and for a transposed conv ``o(n + L) = o(n) + L·s``.
(3) For ``n >= N0`` (``N0`` four times the largest reach ``k_eff + p_before + p_after + s``
plus ``4L``, see :func:`_threshold`), the table at ``n + L`` is the table at ``n`` with its
left-half rows unchanged, its right-half rows moved by ``L`` positions (the same rows
relative to the right end: every padding mode folds ``n - 1 - t`` the same way; circular
wraps stay on the far side, which is more than the reach away) and ``L/s`` new *interior*
rows (all taps inside the input) inserted in the middle.  Interior rows of the two layers
agree or disagree identically at every position (tap ``u`` reads ``a·s + u·d - p_before``:
equal for all ``a`` iff the offsets ``u·d - p_before`` are equal), and an interior row exists
at ``n`` already.  So the two layers agree at ``n + L`` exactly when they agree at ``n``.
Therefore comparing every size ``1 .. N0 + L - 1`` decides every size: below ``N0`` each size
is listed, and from ``N0`` on membership depends only on ``n mod L``.

Examples
--------
>>> import convproof as cp
>>> stem = dict(in_channels=3, out_channels=64, kernel_size=7, stride=2)
>>> a = cp.agreement(cp.ConvSpec(**stem, padding=3), cp.ConvSpec(**stem, padding="SAME_UPPER"))
>>> 225 in a[0], 224 in a[0]
(True, False)
>>> print(a[0])
n >= 1, n ≡ 1 (mod 2)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields

import numpy as np

from convproof.constructions.index import axis_patterns
from convproof.errors import ConvProofError
from convproof.layers.size_sets import SizeSet
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

__all__ = ["Agreement", "agreement"]

Spec = ConvSpec | ConvTransposeSpec | PoolSpec


@dataclass(frozen=True)
class Agreement:
    """Per spatial axis, the input sizes on which two layers compute the same function.

    ``result[axis]`` is a :class:`SizeSet`; ``(h, w) in result`` is True when every axis
    agrees (then the layers are equal on that input shape).

    Attributes
    ----------
    axes : tuple of SizeSet
    status : str
        ``"proved"``: exact comparisons of every size below the shift lemma's threshold and one
        period beyond it, the lemma covering the rest (see the module docstring).
    method, scope : str
    assumptions : tuple of str
    smallest_failing : tuple of (int or None)
        Per axis, the smallest size outside the set.
    seconds : float
    """

    axes: tuple[SizeSet, ...]
    status: str
    method: str
    scope: str
    assumptions: tuple[str, ...]
    seconds: float

    def __getitem__(self, axis: int) -> SizeSet:
        return self.axes[axis]

    def __len__(self) -> int:
        return len(self.axes)

    def __contains__(self, shape: object) -> bool:
        if not isinstance(shape, tuple) or len(shape) != len(self.axes):
            return False
        return all(n in s for n, s in zip(shape, self.axes))

    @property
    def smallest_failing(self) -> tuple[int | None, ...]:
        return tuple(s.smallest_outside for s in self.axes)

    def __str__(self) -> str:
        return "; ".join(f"axis {i}: {s}" for i, s in enumerate(self.axes))


def _comparable(a: Spec, b: Spec) -> None:
    for name, spec in (("spec_a", a), ("spec_b", b)):
        if not isinstance(spec, (ConvSpec, ConvTransposeSpec, PoolSpec)):
            raise ConvProofError(
                f"{name} must be a ConvSpec, ConvTransposeSpec or PoolSpec, got {name}={spec!r}"
            )
    if type(a) is not type(b):
        raise ConvProofError(
            f"spec_b must be the same kind of layer as spec_a ({type(a).__name__}), "
            f"got spec_b={b!r}"
        )
    if a.ndim != b.ndim:
        raise ConvProofError(f"spec_b must have ndim={a.ndim}, got spec_b={b!r}")
    if isinstance(a, PoolSpec):
        assert isinstance(b, PoolSpec)
        if a.kind != b.kind:
            raise ConvProofError(f"spec_b must pool with kind={a.kind!r}, got spec_b={b!r}")
        return
    assert isinstance(b, (ConvSpec, ConvTransposeSpec))
    same = (a.in_channels, a.out_channels, a.groups, a.weight_shape, a.bias) == (
        b.in_channels,
        b.out_channels,
        b.groups,
        b.weight_shape,
        b.bias,
    )
    if not same:
        raise ConvProofError(
            "spec_b must take the same weights as spec_a (channels, groups, kernel_size, bias), "
            f"got spec_b={b!r}"
        )


def _reach(spec: Spec, axis: int, period: int) -> int:
    """Largest extent, over one padding period, that the boundary effects can reach."""
    e = spec.effective_kernel_size[axis]
    s = spec.stride[axis]
    most = 0
    for n in range(e + 4 * period + 1, e + 5 * period + 1):
        try:
            pl, pr = spec._resolve_spatial(tuple(n for _ in range(spec.ndim)))[axis]
        except ConvProofError:
            continue
        most = max(most, abs(pl) + abs(pr))
    extra = 0
    if isinstance(spec, ConvTransposeSpec):
        extra = spec.output_padding[axis] + s * s
    return e + most + s + extra


def _threshold(a: Spec, b: Spec, axis: int, period: int) -> int:
    """``N0`` of the shift lemma: from here on, membership depends on ``n mod period``."""
    return 4 * max(_reach(a, axis, period), _reach(b, axis, period)) + 4 * period


def _axis_key(spec: Spec, axis: int) -> tuple[object, ...]:
    """Everything that decides the layer along ``axis``."""
    per_axis = [
        f.name
        for f in fields(spec)
        if isinstance(getattr(spec, f.name), tuple) and f.name != "padding"
    ]
    pad = spec.padding if isinstance(spec.padding, str) else spec.padding[axis]
    rest = tuple(
        (f.name, getattr(spec, f.name))
        for f in fields(spec)
        if f.name not in per_axis and f.name != "padding"
    )
    return (type(spec).__name__, pad, rest, *(getattr(spec, n)[axis] for n in per_axis))


def _table(spec: Spec, spatial: tuple[int, ...], axis: int) -> tuple[object, ...] | None:
    """What the layer computes along ``axis`` for these input sizes, as comparable data."""
    try:
        p = axis_patterns(spec, (spec._expected_channels() or 1, *spatial))[axis]
    except ConvProofError:
        return None  # not a valid layer at this size (empty output, padding-mode limit)
    if isinstance(spec, PoolSpec):
        # a window is the set of elements it reads (max and mean do not depend on order)
        rows = np.sort(np.where(p.index >= 0, p.index, -1), axis=1)
        divisor = None if p.divisor is None else p.divisor.tobytes()
        return (p.out_size, p.in_size, rows.tobytes(), rows.shape, divisor)
    return (p.out_size, p.in_size, p.index.tobytes(), p.index.shape)


def agreement(spec_a: Spec, spec_b: Spec) -> Agreement:
    """Per spatial axis, the exact set of input sizes on which two layers are equal.

    Parameters
    ----------
    spec_a, spec_b : ConvSpec, ConvTransposeSpec or PoolSpec
        Two layers of the same kind taking the same weights (channels, groups, kernel size and
        bias; pooling layers: the same ``kind``).  Strides, dilations, paddings, padding modes,
        output paddings and pooling options may differ.

    Returns
    -------
    Agreement
        ``result[axis]`` is a :class:`SizeSet` supporting ``n in result[axis]``.  A size where
        either layer is invalid (empty output, a padding-mode limit) is not a member.

    Raises
    ------
    ConvProofError
        If the two layers are not comparable.

    Notes
    -----
    Axis ``j``'s set is computed with the other axes at a fixed valid size; axes are
    independent, so the two layers are equal on a shape when every axis agrees.  The converse
    holds except for shapes on which some axis reads no input at all (every window entirely
    in padding): then both outputs are bias-only on all of that shape.  The set below the
    shift lemma's threshold is compared size by size; the lemma (module docstring) extends
    the last period to every larger size.

    Examples
    --------
    >>> import convproof as cp
    >>> same = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding="SAME_UPPER")
    >>> one = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1)
    >>> print(cp.agreement(same, one))
    axis 0: n >= 1; axis 1: n >= 1
    >>> s2 = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=4, stride=2, padding=1)
    >>> r = cp.agreement(s2, cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=4, stride=2,
    ...                                  padding="SAME_UPPER"))
    >>> print(r[0]), r.smallest_failing
    n >= 1, n ≡ 0 (mod 2)
    (None, (1, 1))
    """
    t0 = time.perf_counter()
    _comparable(spec_a, spec_b)
    axes = []
    notes = []
    done: dict[tuple[object, ...], tuple[int, SizeSet]] = {}
    for axis in range(spec_a.ndim):
        key = (_axis_key(spec_a, axis), _axis_key(spec_b, axis))
        if key in done:  # an axis with the same parameters as an earlier one (square kernels)
            earlier, sizes = done[key]
            axes.append(sizes)
            notes.append(f"axis {axis}: as axis {earlier} (same parameters)")
            continue
        period = math.lcm(spec_a.stride[axis], spec_b.stride[axis])
        n0 = _threshold(spec_a, spec_b, axis, period)
        other = n0  # other axes: a size valid for both layers (>= every kernel and padding)
        members = []
        for n in range(1, n0 + period):
            spatial = tuple(n if j == axis else other for j in range(spec_a.ndim))
            ta = _table(spec_a, spatial, axis)
            tb = _table(spec_b, spatial, axis)
            if ta is not None and ta == tb:
                members.append(n)
        axes.append(SizeSet.from_members(members, start=n0, period=period))
        done[key] = (axis, axes[-1])
        notes.append(f"axis {axis}: sizes 1..{n0 + period - 1} compared, period {period}")
    return Agreement(
        axes=tuple(axes),
        status="proved",
        method=(
            "exact comparison of the per-axis index tables (what each output reads) at every "
            "size below the shift lemma's threshold plus one period; the shift lemma "
            "(paddings periodic in n, tables at n + L = tables at n with interior rows "
            "inserted) extends it to every size"
        ),
        scope="; ".join(notes) + "; every larger size by the shift lemma",
        assumptions=(
            "the other spatial axes read some input (not entirely padding)",
            "equality for every input and every shared weight (generic values)",
        ),
        seconds=time.perf_counter() - t0,
    )
