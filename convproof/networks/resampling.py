"""Resampling layers, modelled exactly: :class:`Interpolate` (``nn.Upsample``,
``F.interpolate``), :class:`PixelShuffle` and :class:`PixelUnshuffle`.

Output sizes follow PyTorch's rules: ``size`` when given, else ``floor(n * scale_factor)``
per axis (computed in floating point, as ``F.interpolate`` does, for concrete sizes; SymPy's
``floor(n * q)`` with the scale's exact binary value for symbolic sizes); a pixel shuffle
multiplies each spatial size by ``r`` and divides the channels by ``r**2``, an unshuffle
the converse (every spatial size must be a multiple of ``r``).

Receptive fields, with ``s = n_in / n_out`` the source step per output position (``1/r`` for
an upsampling by an integer ``r``; ``d`` for a downsampling by an integer ``d``):

=====================  ====================================  ==============================
mode                   source of output ``o``                window ``(k_eff, s, p_left)``
=====================  ====================================  ==============================
nearest                ``floor(o s)``                        ``(1 + (q-1)/q, s, (q-1)/q)``
nearest-exact          ``floor((o + 1/2) s)``                as nearest; ``(1, d, -(d // 2))``
(bi/tri)linear         ``src = max(0, (o + 1/2) s - 1/2)``;  ``(3, s, (3 - s)/2)``
                       taps ``floor(src)``, ``+1``
bicubic                taps ``floor(src) - 1 .. + 2``        ``(5, s, (5 - s)/2)``
=====================  ====================================  ==============================

(``q`` is the denominator of ``s``; every tap lies in ``[-p + o s, -p + o s + k - 1]`` and
the window is centred on the source position, so an upsampled branch lines up with a
transposed conv of stride ``r`` and kernel ``r``.)  Windows are given when the step ``s`` is
an integer or the inverse of one; otherwise (and for ``align_corners=True``, whose step
``(n_in - 1)/(n_out - 1)`` depends on the size, when the size is symbolic) the receptive
field ends with a note.  Taps are clamped to the input, as PyTorch clamps them.

MAC convention, stated once: nearest modes and pixel (un)shuffles copy, 0 MACs; the
interpolating modes count one multiply-accumulate per tap per output element
(``2**d`` for (bi/tri)linear, ``16`` for bicubic), as fvcore counts bilinear upsampling (4
per output element); torchvision's published figures count conv and linear layers only.

Examples
--------
>>> from convproof.networks.resampling import Interpolate, PixelShuffle
>>> step = Interpolate(scale_factor=(2.0, 2.0), mode="bilinear").apply((3, 5, 7), 2, "up")
>>> step.shape, step.macs, step.receptive[0]
((3, 10, 14), 1680, (3, Fraction(1, 2), Fraction(5, 4)))
>>> PixelShuffle(2).apply((12, 4, 4), 2, "ps").shape
(3, 8, 8)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import sympy

from convproof.errors import ConvProofError
from convproof.networks.protocol import IDENTITY, NetworkLayer, Resets, Step
from convproof.networks.values import check_int, fmt_shape, is_concrete, prod

__all__ = ["Interpolate", "PixelShuffle", "PixelUnshuffle"]

#: Interpolation modes modelled, with the taps each output reads per axis.
MODES = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2}
MODES["bicubic"] = 4


def _per_axis(name: str, value: Any, kind: type) -> tuple[Any, ...] | None:
    if value is None:
        return None
    values = tuple(value) if isinstance(value, tuple | list) else (value,)
    allowed = (int, float) if kind is float else (int,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, allowed) or not v > 0:
            raise ConvProofError(f"{name} must hold positive numbers, got {name}={value!r}")
    return tuple(float(v) for v in values) if kind is float else values


@dataclass(frozen=True)
class Interpolate(NetworkLayer):
    """``F.interpolate`` / ``nn.Upsample``: resize every spatial axis to ``size`` or by
    ``scale_factor`` (one of the two), with ``mode`` in ``nearest``, ``nearest-exact``,
    ``linear``, ``bilinear``, ``trilinear``, ``bicubic``.  See the module docstring for the
    shape rule, the receptive windows and the MAC convention.

    Examples
    --------
    >>> from convproof.networks.resampling import Interpolate
    >>> Interpolate(size=(7,)).apply((2, 3), 1, "up").shape
    (2, 7)
    >>> Interpolate(scale_factor=(2.0,)).apply((2, 3), 1, "up").receptive
    ((Fraction(3, 2), Fraction(1, 2), Fraction(1, 2)),)
    """

    size: tuple[int, ...] | None = None
    scale_factor: tuple[float, ...] | None = None
    mode: str = "nearest"
    align_corners: bool = False
    layer: ClassVar[str] = "interpolate"

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", _per_axis("size", self.size, int))
        object.__setattr__(
            self, "scale_factor", _per_axis("scale_factor", self.scale_factor, float)
        )
        if (self.size is None) == (self.scale_factor is None):
            raise ConvProofError(
                f"size or scale_factor must be given (exactly one), got size={self.size!r}, "
                f"scale_factor={self.scale_factor!r}"
            )
        if self.mode not in MODES:
            raise ConvProofError(
                f"mode must be one of {', '.join(map(repr, MODES))}, got mode={self.mode!r}"
            )
        if self.align_corners and MODES[self.mode] == 1:
            raise ConvProofError(
                f"align_corners must be False for mode={self.mode!r}, "
                f"got align_corners={self.align_corners!r}"
            )

    @property
    def kind(self) -> str:
        """``"upsample_<mode>"``."""
        return f"upsample_{self.mode.replace('-', '_')}"

    def _factors(self, spatial_ndim: int) -> tuple[Any, ...]:
        given = self.size if self.size is not None else self.scale_factor
        assert given is not None
        if len(given) == 1:
            return given * spatial_ndim
        return given

    def size_step(self, axis: int, spatial_ndim: int) -> Fraction | None:
        """``n_in / n_out`` along ``axis`` as the sizes grow (``1 / scale_factor``), or
        ``None`` when the output size is fixed (``size`` given)."""
        if self.scale_factor is None:
            return None
        return 1 / Fraction(self._factors(spatial_ndim)[axis])

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """Output sizes by PyTorch's rule; MACs by the stated convention; one window per
        axis when every step is an integer or the inverse of one."""
        self.needs_spatial(shape, spatial_ndim, name)
        factors = self._factors(spatial_ndim)
        if len(factors) != spatial_ndim:
            raise ConvProofError(
                f"{self.where(name)} has {len(factors)} sizes or factors for input shape "
                f"{fmt_shape(shape)}"
            )
        if (self.mode == "bicubic" and spatial_ndim != 2) or (
            self.mode == "trilinear" and (spatial_ndim != 3)
        ):
            raise ConvProofError(f"{self.where(name)} needs another number of spatial axes")
        sizes = []
        for i, f in zip(shape[1:], factors):
            if self.size is not None:
                sizes.append(f)
            elif is_concrete(i):
                sizes.append(math.floor(float(i) * f))
            else:
                sizes.append(sympy.floor(i * sympy.Rational(Fraction(f))))
        for axis, o in enumerate(sizes):
            if is_concrete(o) and o < 1:
                raise ConvProofError(
                    f"{self.where(name)}: input size {shape[1 + axis]} along dim {axis} "
                    f"gives output size {o}"
                )
        out = (shape[0], *sizes)
        taps = MODES[self.mode] ** spatial_ndim
        macs = 0 if taps == 1 else prod([taps, *out])
        return Step(out, macs=macs, receptive=self._windows(shape[1:], sizes))

    def _step(self, i: Any, o: Any) -> Fraction | None:
        if not (is_concrete(i) and is_concrete(o)):
            return None
        if self.align_corners:
            return Fraction(i - 1, o - 1) if o > 1 else Fraction(0)
        if self.scale_factor is not None:
            return None  # set by the caller from the factor
        return Fraction(i, o)

    def _windows(self, spatial: tuple[Any, ...], sizes: list[Any]) -> Any:
        windows: list[tuple[Any, Any, Any]] = []
        for axis, (i, o) in enumerate(zip(spatial, sizes)):
            s = self._step(i, o)
            if s is None and self.scale_factor is not None and not self.align_corners:
                s = 1 / Fraction(self._factors(len(spatial))[axis])
            regular = s is not None and (s.denominator == 1 or s.numerator == 1)
            if not regular or s is None or s == 0:
                why = (
                    "align_corners=True with a symbolic size"
                    if self.align_corners
                    else (f"a scale that is neither an integer nor the inverse of one (step {s})")
                )
                return Resets(f"{self.kind}: source positions are not a regular grid ({why})", True)
            if self.align_corners:  # src = o s, taps floor(src) (+1 / -1 .. +2)
                half = MODES[self.mode] // 2
                windows.append((1 + 2 * half, s, Fraction(half)))
                continue
            q = s.denominator
            if MODES[self.mode] == 1:
                # nearest-exact reads floor((o + 1/2) s): floor(o s) for s = 1/r, o d + d // 2
                shift = s.numerator // 2 if self.mode == "nearest-exact" and q == 1 else 0
                windows.append((1 + Fraction(q - 1, q), s, Fraction(q - 1, q) - shift))
            else:
                k = 3 if MODES[self.mode] == 2 else 5  # [src - 1, src + 1] or [src - 2, src + 2]
                windows.append((k, s, (k - s) / 2))
        if all(w == (1, 1, 0) for w in windows):
            return IDENTITY
        return tuple(windows)

    def trace_back(
        self, step: Step, in_shape: tuple[int, ...], axis: int, outs: set[int]
    ) -> set[int] | None:
        """The exact taps PyTorch reads (clamped to the input), from the source rule."""
        rf = step.receptive
        if isinstance(rf, Resets):
            return None
        n = in_shape[1 + axis]
        o_n = step.shape[1 + axis]
        s = Fraction(n, o_n) if self.scale_factor is None else None
        if self.align_corners:
            s = Fraction(n - 1, o_n - 1) if o_n > 1 else Fraction(0)
        elif s is None:
            s = rf[axis][1] if rf != IDENTITY else Fraction(1)
        read: set[int] = set()
        taps = MODES[self.mode]
        for o in outs:
            if taps == 1:
                src = (o + Fraction(1, 2)) * s if self.mode == "nearest-exact" else o * s
                read.add(min(math.floor(src), n - 1))
                continue
            src = o * s if self.align_corners else (o + Fraction(1, 2)) * s - Fraction(1, 2)
            if taps == 2:
                src = max(src, Fraction(0))
                base = math.floor(src)
                read |= {base, min(base + 1, n - 1)}
            else:
                base = math.floor(src)
                read |= {min(max(base + j, 0), n - 1) for j in (-1, 0, 1, 2)}
        return read


class _Shuffle(NetworkLayer):
    """What the two pixel shuffles share: PyTorch rearranges the last two axes, by ``r``
    (the dataclass field named ``factor_name``), up (``size_step`` ``1/r``) or down (``r``)."""

    factor_name: ClassVar[str] = ""
    up: ClassVar[bool] = True

    @property
    def factor(self) -> int:
        """``r``."""
        return int(getattr(self, self.factor_name))

    def __post_init__(self) -> None:
        check_int(self.factor_name, getattr(self, self.factor_name), 1)

    @property
    def ndim(self) -> int:
        """PyTorch (un)shuffles the last two axes."""
        return 2

    def size_step(self, axis: int, spatial_ndim: int) -> Fraction:
        """``1 / r`` (sizes multiplied by ``r``) or ``r`` (divided by ``r``)."""
        return Fraction(1, self.factor) if self.up else Fraction(self.factor)


@dataclass(frozen=True)
class PixelShuffle(_Shuffle):
    """``nn.PixelShuffle(r)``: ``(C r^2, H, W) -> (C, H r, W r)``; output ``(y, x)`` reads
    input position ``(y // r, x // r)`` (window ``(1 + (r-1)/r, 1/r, (r-1)/r)`` per axis,
    as an upsampling by ``r``); 0 MACs.

    Examples
    --------
    >>> from convproof.networks.resampling import PixelShuffle
    >>> PixelShuffle(3).apply((18, 2, 5), 2, "ps").shape
    (2, 6, 15)
    """

    upscale_factor: int = 2
    layer: ClassVar[str] = "pixel_shuffle"
    factor_name: ClassVar[str] = "upscale_factor"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """Channels divided by ``r**2`` (an error unless they divide), sizes times ``r``."""
        self.needs_spatial(shape, spatial_ndim, name)
        r = self.upscale_factor
        c = shape[0]
        if is_concrete(c) and c % (r * r):
            raise ConvProofError(
                f"{self.where(name)}: input channels {c} must be a multiple of "
                f"upscale_factor**2 = {r * r}"
            )
        win = (1 + Fraction(r - 1, r), Fraction(1, r), Fraction(r - 1, r))
        out = (c // (r * r), *(i * r for i in shape[1:]))
        return Step(out, receptive=IDENTITY if r == 1 else (win, win))

    def trace_back(
        self, step: Step, in_shape: tuple[int, ...], axis: int, outs: set[int]
    ) -> set[int] | None:
        """``o // r``."""
        return {o // self.upscale_factor for o in outs}


@dataclass(frozen=True)
class PixelUnshuffle(_Shuffle):
    """``nn.PixelUnshuffle(r)``: ``(C, H, W) -> (C r^2, H / r, W / r)``; ``H`` and ``W`` must
    be multiples of ``r``.  Output ``y`` reads input rows ``y r .. y r + r - 1`` (over its
    channels): window ``(r, r, 0)``; 0 MACs.  :func:`~convproof.valid_input_sizes` counts
    the divisibility as a condition on the residue, like a join.

    Examples
    --------
    >>> from convproof.networks.resampling import PixelUnshuffle
    >>> PixelUnshuffle(2).apply((3, 8, 6), 2, "pu").shape
    (12, 4, 3)
    """

    downscale_factor: int = 2
    layer: ClassVar[str] = "pixel_unshuffle"
    factor_name: ClassVar[str] = "downscale_factor"
    up: ClassVar[bool] = False

    def misfit(self, size: int) -> str | None:
        """Why an axis of ``size`` cannot be unshuffled (``None``: it can)."""
        r = self.downscale_factor
        return None if size % r == 0 else f"needs a multiple of {r}"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """Channels times ``r**2``, sizes divided by ``r`` (an error unless they divide)."""
        self.needs_spatial(shape, spatial_ndim, name)
        r = self.downscale_factor
        sizes = []
        for axis, i in enumerate(shape[1:]):
            if is_concrete(i) and (i % r or i < r):
                raise ConvProofError(
                    f"{self.where(name)}: input size {i} along dim {axis} must be a positive "
                    f"multiple of downscale_factor={r}"
                )
            sizes.append(i // r if is_concrete(i) else sympy.floor(i / r))
        return Step((shape[0] * r * r, *sizes), receptive=((r, r, 0),) * len(sizes))
