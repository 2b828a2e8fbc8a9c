"""A conv layer as a linear map ``T``: the input checks, the circulant model and the
matrix-free operator.

* :func:`_check` / :func:`_forward_of`: validated ``(shape, weight)``; a transposed conv as
  the adjoint of the forward conv with the same arguments (same singular values).
* :class:`_Axis`, :func:`_exact_circulant`, :func:`_symbols`: one spatial axis as (a row
  selection of) a strided circulant, when a circular layer *is* block-circulant, and the
  per-frequency (polyphase) matrices ``M(f)`` of such a circulant.
* :func:`_pad_maps`, :func:`_pad_norm`, :class:`_Operator`: the padding map and its norm,
  ``T x = conv(spec, x, w)`` and ``T^T y`` (transposed valid conv, padding folded back).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.padding import padding_mode
from convproof.layers.spec import ConvSpec, ConvTransposeSpec

__all__: list[str] = []


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


def _forward_of(spec: Any, input_shape: Any) -> tuple[ConvSpec, tuple[int, ...]]:
    """A transposed conv's matrix is ``T^T`` of the forward conv with the same arguments on
    the transposed layer's output: that conv and its input shape (same singular values)."""
    batch, _, _ = spec.split_input_shape(input_shape)
    if batch:
        raise ConvProofError(
            f"input_shape must be one sample (C, *spatial) for a spectrum, "
            f"got input_shape={tuple(input_shape)!r}"
        )
    out = spec.output_shape(input_shape)
    fwd = ConvSpec(
        in_channels=spec.out_channels,
        out_channels=spec.in_channels,
        kernel_size=spec.kernel_size,
        stride=spec.stride,
        padding=spec.resolve_padding(input_shape),
        dilation=spec.dilation,
        groups=spec.groups,
        bias=False,
        ndim=spec.ndim,
    )
    if fwd.output_shape(out) != tuple(input_shape):
        raise ConvProofError(
            f"output_padding must be smaller than the stride for a spectrum (the transposed "
            f"layer is then the adjoint of a conv), got output_padding={spec.output_padding!r}"
        )
    return fwd, out


def _check(spec: Any, input_shape: Any, weight: Any) -> tuple[tuple[int, ...], np.ndarray]:
    if not isinstance(spec, ConvSpec):
        raise ConvProofError(f"spec must be a ConvSpec or ConvTransposeSpec, got spec={spec!r}")
    batch, c, spatial = spec.split_input_shape(input_shape)
    if batch:
        raise ConvProofError(
            f"input_shape must be one sample (C, *spatial) for a spectrum, "
            f"got input_shape={tuple(input_shape)!r}"
        )
    spec.output_shape(input_shape)  # validates sizes and padding-mode limits
    try:
        w = np.asarray(weight)
    except (TypeError, ValueError):
        raise ConvProofError(
            f"weight must be a real array of shape {spec.weight_shape}, "
            f"got weight of type {type(weight).__name__}"
        ) from None
    if w.dtype.kind not in "biuf" or w.shape != spec.weight_shape:
        raise ConvProofError(
            f"weight must be a real array of shape {spec.weight_shape}, "
            f"got weight with shape {w.shape} and dtype {w.dtype}"
        )
    w = w.astype(np.float64)
    if not np.all(np.isfinite(w)):
        raise ConvProofError("weight must be finite, got weight with inf or nan entries")
    return (c, *spatial), w


# --------------------------------------------------------------------------------------
# the (polyphase) circulant model
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """One spatial axis of a layer seen as (a row selection of) a strided circulant.

    ``L`` grid size, ``offset`` = where input index 0 sits (the left padding), ``g`` the
    stride of the circulant (it divides ``L``), ``N = L / g`` its output size, ``m`` how many
    times each of its rows is repeated (1 for an embedding).
    """

    L: int
    offset: int
    g: int
    m: int

    @property
    def N(self) -> int:
        return self.L // self.g


def _exact_circulant(spec: ConvSpec, shape: tuple[int, ...]) -> tuple[_Axis, ...] | None:
    """The per-axis model when the circular-padded layer *is* block-circulant (see Notes of
    :func:`convproof.singular_values`), else ``None``."""
    if spec.padding_mode != "circular":
        return None
    pads = spec.resolve_padding(shape)
    outs = spec.output_shape(shape)[1:]
    axes = []
    for n, (pl, _), s, o in zip(shape[1:], pads, spec.stride, outs):
        g = math.gcd(s, n)
        N = n // g
        if o % N:
            return None
        axes.append(_Axis(n, pl, g, o // N))
    return tuple(axes)


def _symbols(
    w: np.ndarray,
    spec: ConvSpec,
    axes: Sequence[_Axis],
    half: bool = False,
    only: Sequence[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frequency matrices of the (polyphase) circulant: ``(F, groups, co_g, ci_g * G)``.

    Entry ``[f, grp, c, (k, r)] = sum_{u : t_u = r (mod g)} W[c, k, u] exp(-2 pi i f q_u / N)``
    with ``t_u = u d - offset``, ``q_u = floor(t_u / g)``, phase ``r = t_u mod g`` (per axis,
    multiplied over axes).  Evaluated as one matrix product of the tap-by-frequency phase
    table with the weights (so its rounding error has the stated bound), the phases
    reduced modulo ``N`` in integers first.  Also returns ``S = sum_u |W[c, k, u]|`` per
    group (``(groups, co_g, ci_g * G)``), for the error bound.  ``half``: the last axis's
    frequencies ``0..N//2`` only; ``only``: per axis, the frequencies to use (a product grid).
    """
    nd = spec.ndim
    gs = [a.g for a in axes]
    Ns = [a.N for a in axes]
    G = math.prod(gs)
    groups = spec.groups
    co, cig = w.shape[:2]
    cog = co // groups
    freqs = [np.arange(N) for N in Ns]
    if half:
        freqs[-1] = np.arange(Ns[-1] // 2 + 1)
    if only is not None:
        freqs = [np.asarray(f, dtype=np.int64) for f in only]
    taps = list(np.ndindex(*spec.kernel_size))
    # per-axis phase index and position
    phase = np.zeros(len(taps), dtype=np.int64)
    angle_parts = []
    for ax in range(nd):
        a = axes[ax]
        t = np.array([u[ax] * spec.dilation[ax] - a.offset for u in taps], dtype=np.int64)
        r = t % a.g
        q = (t - r) // a.g
        phase = phase * a.g + r
        # (f q) mod N in exact integers, per tap and frequency on this axis
        angle_parts.append(np.mod(np.multiply.outer(freqs[ax], q), a.N) / a.N)
    # total angle per (frequency, tap): sum over axes (each part in [0, 1))
    grid = np.zeros([len(f) for f in freqs] + [len(taps)])
    for ax in range(nd):
        shape_ax = [1] * nd + [len(taps)]
        shape_ax[ax] = len(freqs[ax])
        grid = grid + angle_parts[ax].reshape(shape_ax)
    grid = grid.reshape(-1, len(taps))
    grid = np.mod(grid, 1.0)
    E = np.exp(-2j * np.pi * grid)  # (F, K)
    F = E.shape[0]
    # weights per tap: (K, co, cig) -> scatter into phases: (K, co, cig, G) with one phase
    wt = w.reshape(co, cig, len(taps)).transpose(2, 0, 1)
    P = np.zeros((len(taps), co, cig, G))
    P[np.arange(len(taps)), :, :, phase] = wt
    M = (E @ P.reshape(len(taps), -1)).reshape(F, groups, cog, cig * G)
    S = np.abs(P).sum(axis=0).reshape(groups, cog, cig * G)
    return M, S


# --------------------------------------------------------------------------------------
# the matrix-free operator and its adjoint
# --------------------------------------------------------------------------------------


def _pad_maps(spec: ConvSpec, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Per axis the source index of each padded position (-1: a zero)."""
    maps = []
    for n, (pl, pr) in zip(shape[1:], spec.resolve_padding(shape)):
        idx = np.arange(n)
        if spec.padding_mode == "zeros":
            src = np.pad(idx, (pl, pr), mode="constant", constant_values=-1)
        else:
            src = np.pad(idx, (pl, pr), mode=padding_mode(spec.padding_mode).numpy)  # type: ignore[call-overload]
        maps.append(src)
    return maps


def _pad_norm(maps: list[np.ndarray]) -> float:
    """``||P||`` of the padding map: P^T P is diagonal (the copy counts), so the square root
    of the product over axes of the largest count."""
    total = 1
    for src in maps:
        total *= int(np.bincount(src[src >= 0]).max())
    return math.sqrt(total)


class _Operator:
    """``T x = conv(spec, x, w)`` and ``T^T y`` = transposed valid conv on the padded grid
    followed by folding the padding back (the adjoint of the padding map: each padded
    position adds into the input element it copies)."""

    def __init__(self, spec: ConvSpec, shape: tuple[int, ...], w: np.ndarray) -> None:
        self.spec, self.shape, self.w = spec, shape, w
        self.out = spec.output_shape(shape)
        self.maps = _pad_maps(spec, shape)
        padded = tuple(len(m) for m in self.maps)
        ops = tuple(
            (n - ke) % s for n, ke, s in zip(padded, spec.effective_kernel_size, spec.stride)
        )
        self.tspec = ConvTransposeSpec(
            in_channels=spec.out_channels,
            out_channels=spec.in_channels,
            kernel_size=spec.kernel_size,
            stride=spec.stride,
            padding=0,
            output_padding=ops,
            dilation=spec.dilation,
            groups=spec.groups,
            bias=False,
            ndim=spec.ndim,
        )
        folds = []
        for n, src in zip(shape[1:], self.maps):
            f = np.zeros((n, len(src)))
            ok = src >= 0
            f[src[ok], np.nonzero(ok)[0]] = 1.0
            folds.append(f)
        self.folds = folds
        self.n_in = math.prod(shape)
        self.n_out = math.prod(self.out)

    def matvec(self, x: np.ndarray) -> np.ndarray:
        from convproof.constructions.numeric import conv

        return conv(self.spec, np.asarray(x).reshape(self.shape), self.w).ravel()

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        from convproof.constructions.numeric import conv

        z = conv(self.tspec, np.asarray(y).reshape(self.out), self.w)
        for ax, f in enumerate(self.folds):
            z = np.moveaxis(np.tensordot(f, z, axes=([1], [ax + 1])), 0, ax + 1)
        return z.ravel()

    def linear_operator(self) -> Any:
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator(
            (self.n_out, self.n_in),
            matvec=self.matvec,
            rmatvec=self.rmatvec,
            dtype=np.float64,
        )
