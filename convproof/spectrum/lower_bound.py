"""The exact lower bound on ``||T||_2``: the Rayleigh quotient of an explicit integer
vector, evaluated in rationals (:func:`_exact_quotient`), its square root rounded down
(:func:`_sqrt_down`); the vector from Lanczos started at the circulant model's top
singular vector (:func:`_plane_wave`, :func:`_lower_vector`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec
from convproof.spectrum.bounds import _Model
from convproof.spectrum.linear_map import _Operator

__all__: list[str] = []


_V_BITS = 20  # magnitude of the integer test vector


def _weight_digits(w: np.ndarray, bits: int) -> list[tuple[int, np.ndarray]]:
    """``w = sum_c digits_c * 2^e_c`` exactly, with integer-valued float64 digit arrays,
    ``|digits_c| < 2^bits``: peeled off from the top by truncation (each step exact)."""
    nz = w[w != 0]
    if nz.size == 0:
        return []
    _, top = np.frexp(np.abs(nz).max())  # |w| < 2^top
    out = []
    r = w.copy()
    e = int(top)
    while np.any(r != 0):
        e -= bits
        digit = np.trunc(np.ldexp(r, -e))
        r = r - np.ldexp(digit, e)  # exact: the bits of r below 2^e
        if np.any(digit != 0):
            out.append((e, digit))
        if len(out) > 80:  # pragma: no cover - weights spanning > 1600 binary orders
            raise ConvProofError("weight spans too many binary orders for the exact evaluation")
    return out


def _exact_quotient(
    spec: ConvSpec, shape: tuple[int, ...], w: np.ndarray, v: np.ndarray
) -> tuple[Fraction, np.ndarray]:
    """``||T x||^2 / ||x||^2`` exactly for ``x`` = ``v`` rounded to integers of at most
    ``_V_BITS`` bits; returns the Fraction and ``x`` (int64).

    ``T x`` is evaluated per weight digit with :func:`convproof.conv` in float64 on integer
    values whose every product and partial sum is an integer below ``2^53`` in magnitude
    (``|digit| < 2^B``, ``|x| <= 2^20``, at most ``C_in/groups * prod(k)`` terms per
    output, ``B`` chosen so that the total stays below ``2^52``): float64 represents them
    exactly, so every rounding is exact whatever the summation order.  The digits are then
    combined in Python integers.
    """
    from convproof.constructions.numeric import conv

    vmax = float(np.abs(v).max())
    if vmax == 0:
        raise ConvProofError("vector must be non-zero")  # pragma: no cover
    x = np.rint(v * (2.0**_V_BITS / vmax)).astype(np.int64)
    terms = (spec.in_channels // spec.groups) * math.prod(spec.kernel_size)
    bits = 52 - _V_BITS - max(1, math.ceil(math.log2(terms + 1)))
    if bits < 4:  # pragma: no cover - more than 2^28 terms per output
        raise ConvProofError("layer too wide for the exact evaluation")
    xf = x.astype(np.float64).reshape(shape)
    digits = _weight_digits(w, bits)
    if not digits:
        return Fraction(0), x
    e0 = min(e for e, _ in digits)
    total: Any = None
    for e, d in digits:
        y = conv(spec, xf, d)
        yi = y.astype(np.int64)
        if not np.array_equal(yi.astype(np.float64), y):  # pragma: no cover - cannot happen
            raise ConvProofError("internal error: a digit product was not an integer")
        part = yi.ravel().astype(object) * (1 << (e - e0))
        total = part if total is None else total + part
    num = sum(int(t) * int(t) for t in total)
    den = sum(int(t) * int(t) for t in x.ravel())
    q = Fraction(num, den) * (Fraction(2) ** (2 * e0))
    return q, x


def _sqrt_down(q: Fraction) -> float:
    """A float ``<= sqrt(q)`` (within 2 ulp)."""
    if q <= 0:
        return 0.0
    P = 60 - (q.numerator.bit_length() - q.denominator.bit_length()) // 2
    if P >= 0:
        m = math.isqrt(q.numerator * 4**P // q.denominator)
    else:
        m = math.isqrt(q.numerator // (q.denominator * 4 ** (-P)))
    extra = max(0, m.bit_length() - 53)
    m >>= extra
    return math.ldexp(m, extra - P)


def _plane_wave(model: _Model, spec: ConvSpec, shape: tuple[int, ...], shift: bool) -> np.ndarray:
    """The real part of the circulant model's top singular vector (a polyphase plane wave
    at the frequency with the largest ``||M(f)||``), cut to the input window."""
    axes = model.axes
    grp = model.groups
    best = int(np.argmax(model.lam))
    f_idx, g_idx = divmod(best, grp)
    _, _, vh = np.linalg.svd(model.M[best])
    cig = spec.in_channels // spec.groups
    gs = [ax.g for ax in axes]
    v = np.zeros(cig * math.prod(gs), dtype=complex)
    v[model.keep] = vh[0].conj()  # top right singular vector: M v = sigma u
    Ns = [ax.N for ax in axes]
    freqs = [np.arange(N) for N in Ns]
    freqs[-1] = np.arange(Ns[-1] // 2 + 1)
    f = np.unravel_index(f_idx, [len(q) for q in freqs])
    wave = v.reshape(cig, *gs)  # (k, r_1, ..., r_nd)
    field_ = np.ones((cig, *tuple(ax.L for ax in axes)), dtype=complex)
    for ax_i, ax in enumerate(axes):
        j = np.arange(ax.L)
        phase = np.exp(-2j * np.pi * f[ax_i] * (j // ax.g) / ax.N)
        shp = [1] * (spec.ndim + 1)
        shp[ax_i + 1] = ax.L
        field_ = field_ * phase.reshape(shp)
    # the phase component of each position
    idx: tuple[Any, ...] = np.ix_(*[np.arange(ax.L) % ax.g for ax in axes])
    field_ = field_ * wave[(slice(None), *idx)]
    pads = spec.resolve_padding(shape)
    window = tuple(
        slice(pl if shift else 0, (pl if shift else 0) + n) for (pl, _), n in zip(pads, shape[1:])
    )
    cut = field_[(slice(None), *window)]
    x = np.zeros(shape)
    x[g_idx * cig : (g_idx + 1) * cig] = cut.real if np.abs(cut.real).max() > 0 else cut.imag
    return x


def _lower_vector(op: _Operator, start: np.ndarray, tol: float) -> np.ndarray:
    """Lanczos (ARPACK ``eigsh`` on ``T^T T``) from the plane-wave start."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    x0 = start.ravel()
    if not np.any(x0):
        x0 = np.random.default_rng(0).standard_normal(op.n_in)
    if op.n_in <= 3:
        return x0
    gram = LinearOperator(
        (op.n_in, op.n_in), matvec=lambda x: op.rmatvec(op.matvec(x)), dtype=np.float64
    )
    try:
        _, vec = eigsh(gram, k=1, v0=x0, tol=tol, ncv=min(op.n_in - 1, 12), which="LA")
        return vec[:, 0]
    except Exception:  # ARPACK did not converge: power iteration from the start
        x = x0 / np.linalg.norm(x0)
        for _ in range(30):
            y = gram.matvec(x)
            x = y / np.linalg.norm(y)
        return x
