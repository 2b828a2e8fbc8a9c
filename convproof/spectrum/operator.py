"""The operator's spectrum: singular values, certified operator norms, Lipschitz checks.

A convolution layer (bias aside) is a linear map ``T`` from ``R^(C_in prod(n))`` to
``R^(C_out prod(o))`` (the matrix :func:`convproof.conv_matrix` builds).  This module gives

=========================  ==============================================================
call                       returns
=========================  ==============================================================
:func:`singular_values`    every singular value for circular padding whenever the layer is
                           block-circulant (stride 1 **and** strided, groups, dilation), by
                           FFT; the top ``k`` otherwise (ARPACK on the matrix-free operator
                           built from :func:`convproof.conv` and its adjoint)
:func:`operator_norm`      a certified interval ``[lower, upper]`` for the largest singular
                           value: ``lower`` from an explicit vector evaluated exactly,
                           ``upper`` from a named theorem, for every padding mode
:func:`lipschitz_report`   per conv layer of a network: the interval next to the
                           reshaped-weight norm (``torch.nn.utils.spectral_norm``), the
                           ``sqrt(prod k)`` bound, Singla & Feizi's and Araujo et al.'s
:func:`check_lipschitz`    a property test of a user's layer that claims a Lipschitz bound
=========================  ==============================================================

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
...                    padding_mode="circular", bias=False)
>>> w = np.array([[[[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]]])   # the discrete Laplacian
>>> cp.singular_values(spec, (1, 4, 4), w)[:3]
array([8., 6., 6.])
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.padding import padding_mode
from convproof.layers.spec import ConvSpec, ConvTransposeSpec

__all__ = [
    "LipschitzCheck",
    "LipschitzReport",
    "LipschitzRow",
    "OperatorNorm",
    "check_lipschitz",
    "lipschitz_report",
    "operator_norm",
    "singular_values",
]

_U = 2.0**-53  # unit roundoff of IEEE binary64, round to nearest
_DENSE_MAX = 1 << 22  # largest matrix (entries) for which k=None falls back to a dense SVD
_STATUSES = ("proved", "verified", "inconclusive")

ARITHMETIC_ASSUMPTIONS = (
    "IEEE-754 binary64 arithmetic with round-to-nearest (unit roundoff u = 2^-53) in NumPy, "
    "BLAS and LAPACK, with the standard error bounds of inner products (|error| <= "
    "gamma_m |a|.|b| for any summation order, constants doubled for complex arithmetic) "
    "and of Cholesky (Demmel 1989; Higham, Accuracy and Stability, Thm 10.3; Rump 2006)",
    "NumPy's cos and sin are accurate to 4 ulp on [0, 2 pi]",
)


# --------------------------------------------------------------------------------------
# validation and geometry
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
    :func:`singular_values`), else ``None``."""
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


def _svals_circulant(w: np.ndarray, spec: ConvSpec, axes: Sequence[_Axis]) -> np.ndarray:
    M, _ = _symbols(w, spec, axes)
    sv = np.linalg.svd(M, compute_uv=False).ravel()
    sv = sv * math.sqrt(math.prod(a.m for a in axes))
    return np.sort(sv)[::-1]


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


def _top_svds(op: _Operator, k: int, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    from scipy.sparse.linalg import svds

    v0 = np.random.default_rng(0).standard_normal(min(op.n_in, op.n_out))
    _, s, vt = svds(op.linear_operator(), k=k, tol=tol, v0=v0, which="LM")
    order = np.argsort(s)[::-1]
    return s[order], vt[order]


def singular_values(
    spec: ConvSpec | ConvTransposeSpec,
    input_shape: Sequence[int],
    weight: Any,
    *,
    k: int | None = None,
) -> np.ndarray:
    """Singular values of a convolution layer's operator, in descending order.

    Parameters
    ----------
    spec : ConvSpec or ConvTransposeSpec
        Any padding mode, stride, dilation, groups, 1-3 spatial dims (bias is ignored: the
        operator is the linear part).  A transposed conv (``output_padding < stride``) is
        the adjoint of the conv with the same arguments: same singular values.
    input_shape : tuple of int
        One sample, ``(C_in, *spatial)``.
    weight : array_like
        ``spec.weight_shape``, real.
    k : int, optional
        How many (the largest ``k``).  ``None``: all of them, which needs a block-circulant
        layer (below) or a matrix of at most 4 Mi entries (then a dense SVD of
        :func:`convproof.conv_matrix`).

    Returns
    -------
    numpy.ndarray
        ``min(C_out prod(o), C_in prod(n))`` values (or ``k``), descending.

        ======================================  ==========================================
        layer                                   route
        ======================================  ==========================================
        circular, block-circulant (Notes)       FFT: SVD of the per-frequency matrices
        anything else, ``k`` given              ARPACK (``scipy.sparse.linalg.svds``) on the
                                                matrix-free operator: ``conv`` and its
                                                adjoint (transposed conv + folded padding)
        anything else, ``k=None``, small        dense SVD of ``conv_matrix``
        ======================================  ==========================================

    Raises
    ------
    ConvProofError
        Bad spec, shape or weight; ``k`` out of range; ``k=None`` for a large layer that is
        not block-circulant.

    Notes
    -----
    *When a circular layer is block-circulant.*  Per axis, with input size ``n``, left
    padding ``p``, stride ``s``, dilation ``d`` and output size ``o``, circular padding
    gives ``Z[a] = sum_u W[u] X[(a s + u d - p) mod n]``.  Let ``g = gcd(s, n)`` and
    ``N = n / g``.  The rows ``a s mod n`` (``0 <= a < o``) run through the multiples of
    ``g`` modulo ``n`` with period ``N`` (``s / g`` is invertible modulo ``N``), so when
    ``N`` divides ``o`` the layer is, up to a permutation of rows, ``m = o / N`` stacked
    copies of the map ``B: X -> (g b + t_u)``-indexed sums, ``b`` in ``Z_N``; then
    ``T^T T = m B^T B`` and the singular values are ``sqrt(m)`` times those of ``B``.
    Otherwise (``N`` does not divide ``o``) the rows are an uneven selection and the FFT
    does not apply: the general route is used.  Axes multiply (the index sets are
    products).

    *Polyphase split (stride).*  Write the taps' offsets ``t_u = u d - p = g q_u + r_u``
    with ``0 <= r_u < g``, and the input in its ``g`` polyphase components
    ``X_r[b] = X[g b + r]`` (``b`` in ``Z_N``).  Then ``(g a + t_u) mod n = g ((a + q_u)
    mod N) + r_u``, so ``B X = sum_r C_r X_r`` where ``C_r`` is the circulant on ``Z_N``
    with the taps ``{u : r_u = r}`` at shifts ``q_u``: ``B = [C_0 ... C_{g-1}]``.  The
    unitary DFT on ``Z_N`` diagonalises every ``C_r`` at once (Sedghi, Gupta & Long, ICLR
    2019, for ``g = 1``): at frequency ``f``, ``B`` acts as the ``C_out x (C_in g)`` matrix
    ``M(f)[c, (k, r)] = sum_{u : r_u = r} W[c, k, u] exp(2 pi i f q_u / N)``.  So the
    singular values of ``B`` are those of all ``M(f)``, ``f`` in ``Z_N^ndim`` (``g`` and
    ``N`` per axis; ``G = prod g`` phases); there are ``prod(N) min(C_out, C_in G) =
    min(C_out prod(o) / m, C_in prod(n))`` of them.  Groups make ``M(f)`` block diagonal
    (one block per group).  Computed with ``exp(-2 pi i ...)`` (the conjugate frequency
    ``-f``, same singular values).

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2,
    ...                    padding_mode="circular", bias=False, ndim=1)
    >>> cp.singular_values(spec, (1, 4), np.array([[[3.0, 4.0]]]))   # two disjoint pairs
    array([5., 5.])
    >>> zeros = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2,
    ...                     bias=False, ndim=1)
    >>> cp.singular_values(zeros, (1, 4), np.array([[[3.0, 4.0]]]), k=1)
    array([5.])
    """
    if isinstance(spec, ConvTransposeSpec):
        return singular_values(*_forward_of(spec, input_shape), weight, k=k)
    shape, w = _check(spec, input_shape, weight)
    out = spec.output_shape(shape)
    total = min(math.prod(out), math.prod(shape))
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= total:
            raise ConvProofError(f"k must be an int in [1, {total}], got k={k!r}")
        k = int(k)
    axes = _exact_circulant(spec, shape)
    if axes is not None:
        sv = _svals_circulant(w, spec, axes)
        return sv if k is None else sv[:k]
    if k is None or k >= total - 1 or math.prod(out) * math.prod(shape) <= 4096:
        if math.prod(out) * math.prod(shape) > _DENSE_MAX:
            raise ConvProofError(
                f"k must be given for this layer (padding_mode={spec.padding_mode!r} is not "
                f"block-circulant here, and its {math.prod(out)} x {math.prod(shape)} matrix is "
                f"too large for a dense SVD), got k={k!r}"
            )
        from convproof.constructions.matrix import conv_matrix

        dense = conv_matrix(spec, shape, w).toarray()
        sv = np.linalg.svd(dense, compute_uv=False)
        return sv if k is None else sv[:k]
    s, _ = _top_svds(_Operator(spec, shape, w), k)
    return s


# --------------------------------------------------------------------------------------
# certified upper bounds (floating point with its error accounted)
# --------------------------------------------------------------------------------------


def _gamma(m: int) -> float:
    return m * _U / (1 - m * _U)


def _up(x: float, ops: int = 4) -> float:
    """``x`` enlarged by ``ops`` roundings (and one more ulp)."""
    return math.nextafter(x * (1 + _gamma(ops + 1)), math.inf)


def _cholesky_ok(X: np.ndarray) -> np.ndarray:
    """Per matrix of a stack: did LAPACK's Cholesky (``?potrf``) run to completion?"""
    try:
        np.linalg.cholesky(X)
        return np.ones(X.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        pass
    from scipy.linalg import lapack

    potrf = lapack.zpotrf if np.iscomplexobj(X) else lapack.dpotrf
    ok = np.zeros(X.shape[0], dtype=bool)
    for i in range(X.shape[0]):
        _, info = potrf(X[i], lower=True, clean=False, overwrite_a=False)
        ok[i] = info == 0
    return ok


def _power_estimates(A: np.ndarray, iters: int = 40) -> np.ndarray:
    """Rayleigh-quotient estimates of the largest eigenvalue of each PSD matrix of a stack."""
    n = A.shape[1]
    x = (np.ones((A.shape[0], n)) + 0.1 * np.arange(n)).astype(A.dtype)
    lam = np.zeros(A.shape[0])
    for _ in range(iters):
        y = np.einsum("bij,bj->bi", A, x)
        lam = np.real(np.einsum("bi,bi->b", x.conj(), y)) / np.real(
            np.einsum("bi,bi->b", x.conj(), x)
        )
        nrm = np.sqrt(np.real(np.einsum("bi,bi->b", y.conj(), y)))
        x = np.where((nrm > 0)[:, None], y / np.where(nrm > 0, nrm, 1.0)[:, None], x)
    return lam


def _certified_lambda(A: np.ndarray, guess: float) -> float:
    """A rigorous upper bound on ``max_i lambda_max(A_i)`` (Hermitian stack as computed).

    Finds ``mu`` with ``mu I - A_i`` positive definite for every ``i``, certified by
    Cholesky of ``fl(mu I - A_i) - c I`` running to completion with
    ``c = 2 gamma_{2n+4} tr(mu I - A_i)`` (Rump 2006, Thm 2.3, with the constants doubled
    for complex arithmetic), and adds the rounding of forming ``mu I - A_i``.
    """
    n = A.shape[-1]
    diag = np.real(np.einsum("bii->bi", A))
    gam = 2 * _gamma(2 * n + 4)
    tr_min = float(np.real(np.einsum("bii->b", A)).min())

    def margin(mu: float) -> float:  # c of the certificate at mu, with room to spare
        return 4 * gam * _up(max(n * mu - tr_min, 0.0), n) + 1e-290

    mu = max(guess, float(diag.max()), 0.0) * (1 + 1e-9) + 1e-300
    mu += margin(mu)
    pending = np.arange(A.shape[0])
    di = np.arange(n)
    for attempt in range(60):
        X = -A[pending]  # then mu I - A and - c I on the diagonal only (same roundings)
        X[:, di, di] += mu
        tr = np.real(np.einsum("bii->b", X))
        c = gam * _up(float(max(tr.max(), 0.0)), n) + 1e-290
        X[:, di, di] -= c
        ok = _cholesky_ok(X)
        pending = pending[~ok]
        if pending.size == 0:
            slack = _U * (mu - float(diag.min())) * 1.01 + 1e-300
            return _up(mu + slack, 2)
        # the failing ones: their largest eigenvalue by LAPACK, then a little above it
        top = float(np.linalg.eigvalsh(A[pending])[:, -1].max())
        mu = max(mu, top) * (1 + 1e-9 * 4**attempt) + 1e-300
        mu += margin(mu)
    raise ConvProofError("no certified bound found (Cholesky never succeeded)")  # pragma: no cover


def _gram(M: np.ndarray) -> tuple[np.ndarray, float]:
    """``fl(M M^H)`` (or ``M^H M``, the smaller) of a stack and a bound on its error in the
    2-norm: ``2 gamma_{2m+4} max ||M||_F^2`` (``m`` the inner dimension)."""
    a, b = M.shape[-2:]
    if a <= b:
        A = M @ np.ascontiguousarray(np.swapaxes(M, -1, -2).conj())
        inner = b
    else:
        A = np.ascontiguousarray(np.swapaxes(M, -1, -2).conj()) @ M
        inner = a
    fro2 = _up(float((np.abs(M) ** 2).sum(axis=(-1, -2)).max()), a * b + 4)
    # |fl(M M^H) - M M^H| <= 2 gamma_{2m+4} |M| |M|^H entrywise (complex inner products), and
    # || |M| |M|^H ||_2 <= || |M| ||_F^2 = ||M||_F^2
    return A, 2 * _gamma(2 * inner + 4) * fro2


def _certified_norm(M: np.ndarray, dM: float, guess: float | None = None) -> float:
    """A rigorous upper bound on ``max_f ||M_true(f)||_2`` where ``M`` (a stack) is the
    computed value of ``M_true`` with ``||M - M_true||_2 <= dM`` for every ``f``."""
    A, eA = _gram(M)
    if guess is None:
        guess = math.sqrt(max(float(_power_estimates(A).max()), 0.0))
    lam = _certified_lambda(A, guess * guess)
    return _up(math.sqrt(_up(lam + eA, 2)) + dM, 3)


@dataclass
class _Model:
    """A circulant model of a layer: its per-frequency matrices (half the frequencies,
    phase columns without taps dropped), their Gram matrices and error bounds."""

    axes: tuple[_Axis, ...]
    M: np.ndarray  # (F * groups, co_g, kept columns)
    keep: np.ndarray  # kept column indices of (ci_g * G)
    groups: int
    dM: float
    A: np.ndarray
    eA: float
    lam: np.ndarray  # power-iteration estimates of the largest eigenvalue per matrix

    @property
    def estimate(self) -> float:
        return math.sqrt(max(float(self.lam.max()), 0.0))

    def bound(self) -> float:
        """Certified ``max_f ||M_true(f)||``."""
        lam = _certified_lambda(self.A, float(self.lam.max()))
        return _up(math.sqrt(_up(lam + self.eA, 2)) + self.dM, 3)


def _model(w: np.ndarray, spec: ConvSpec, axes: Sequence[_Axis]) -> _Model:
    M, S = _symbols(w, spec, axes, half=True)
    F, grp, a, b = M.shape
    keep = np.nonzero(S.reshape(-1, b).any(axis=0))[0]  # a column with no tap is 0 (norm)
    if keep.size == 0:
        keep = np.arange(1)
    Ms = np.ascontiguousarray(M.reshape(F * grp, a, b)[:, :, keep])
    K = math.prod(spec.kernel_size)
    # entries: a K-term sum of weights times computed phases.  The phase's angle: (f q mod N)
    # exact in integers, then a division, <= 3 additions, an exact mod 1 and a product with
    # the rounded 2 pi: error <= 2 pi 12u < 76u; exp within 4 ulp: |phase error| < 96u.
    # So |dM| <= (2 gamma_{K+2} (1 + 96u) + 96u) S elementwise (rounded up to 128u), and
    # ||dM||_2 <= ||dM||_F
    dM = (2 * _gamma(K + 2) * (1 + 128 * _U) + 128 * _U) * _up(
        float(np.sqrt((S**2).sum(axis=(1, 2))).max()), K
    )
    A, eA = _gram(Ms)
    return _Model(tuple(axes), Ms, keep, grp, dM, A, eA, _power_estimates(A))


_DIRECT_MAX = 4096  # largest Gram matrix side for the explicit-matrix bound


def _direct_bound(
    spec: ConvSpec, shape: tuple[int, ...], w: np.ndarray
) -> tuple[float, np.ndarray]:
    """Certified ``||T||`` from the explicit matrix, and a top right singular vector.

    ``A = fl(T^T T)`` (or ``T T^T``, the smaller) and a Cholesky certificate for
    ``mu I - A``, ``mu`` just above Lanczos' (ARPACK) largest eigenvalue of the dense ``A``.
    ``conv_matrix`` entries are weights or, where padding folds taps onto one column, sums
    of at most ``K`` of them: ``|dT| <= gamma_K |T|(|w|)``, so ``||T_true|| <= ||T|| +
    gamma_K ||conv_matrix(|w|)||_F``."""
    from scipy.sparse.linalg import eigsh

    from convproof.constructions.matrix import conv_matrix

    T = conv_matrix(spec, shape, w).tocsr()
    K = math.prod(spec.kernel_size)
    absT = conv_matrix(spec, shape, np.abs(w))
    dT = _gamma(K + 1) * _up(float(np.sqrt((absT.data**2).sum())), absT.nnz + 4) * (1 + _gamma(K))
    tall = T.shape[0] >= T.shape[1]
    A = (T.T @ T).toarray() if tall else (T @ T.T).toarray()
    inner = T.shape[0] if tall else T.shape[1]
    fro2 = _up(float((T.data**2).sum()), T.nnz + 4)
    eA = 2 * _gamma(2 * inner + 4) * fro2  # |fl(T^T T) - T^T T| <= gamma |T|^T |T|
    n = A.shape[0]
    if n <= 2:
        vals, vecs = np.linalg.eigh(A)
        lam_hat, vec = float(vals[-1]), vecs[:, -1]
    else:
        v0 = np.random.default_rng(0).standard_normal(n)
        vals, vecs = eigsh(A, k=1, which="LA", tol=1e-14, v0=v0)
        lam_hat, vec = float(vals[0]), vecs[:, 0]
    lam = _certified_lambda(A[None], lam_hat)
    v = vec if tall else T.T @ vec
    return _up(math.sqrt(_up(lam + eA, 2)) + dT, 3), np.asarray(v)


_REDUCED_MAX = 2048  # default size of the reduced (frequency-localised) problem
_REDUCED_STOP = 3e-4  # sizes 512, 1024, ... up to the maximum until the width is below this
_REDUCED_ENTRIES = 1 << 24  # largest stack of per-frequency matrices (complex entries)


def _reduced_entries(spec: ConvSpec, shape: tuple[int, ...]) -> int:
    """Entries of the per-frequency stack of the localised Toeplitz bound."""
    Ls = [n + (k - 1) * d for n, k, d in zip(shape[1:], spec.kernel_size, spec.dilation)]
    freqs = math.prod(Ls[:-1]) * (Ls[-1] // 2 + 1)
    return freqs * spec.groups * (spec.in_channels // spec.groups) ** 2


def _reduced_bound(
    spec: ConvSpec,
    shape: tuple[int, ...],
    w: np.ndarray,
    rmax: int,
    target: float | None = None,
) -> tuple[float, int, float]:
    """Certified ``||T||`` for zero padding that sees the boundary (Notes of
    :func:`operator_norm`, *localised Toeplitz bound*): ``(bound, r, beta)``.

    ``||T x|| <= ||C_L E x||`` (``T`` is a row selection of the full convolution of the
    zero-extended input; no wrap on ``L = n + (k - 1) d``).  Per frequency the certified
    majorant ``Phi(f) = M(f)^H M(f) <= beta I + U_f S_f^2 U_f^H`` (top eigenvectors above
    ``beta``) turns ``||C_L E x||^2 / ||x||^2`` into ``beta`` plus the largest eigenvalue
    of the ``r x r`` Gram matrix of the window-restricted plane waves ``s u_f e_f``.
    """
    from scipy.sparse.linalg import eigsh

    nd = spec.ndim
    Ls = [n + (k - 1) * d for n, k, d in zip(shape[1:], spec.kernel_size, spec.dilation)]
    axes = tuple(_Axis(L, 0, 1, 1) for L in Ls)
    # real weights: M(-f) = conj(M(f)), so half the frequencies (last axis 0..L//2) are
    # computed and certified; the mirrored ones reuse conj(U_f) (same certificate)
    M, S = _symbols(w, spec, axes, half=True)  # M_sym(f) = M(-f): paired with e^{+2 pi i f j/L}
    F, grp, a, b = M.shape
    Ms = np.ascontiguousarray(M.reshape(F * grp, a, b))
    K = math.prod(spec.kernel_size)
    dM = (2 * _gamma(K + 2) * (1 + 128 * _U) + 128 * _U) * _up(
        float(np.sqrt((S**2).sum(axis=(1, 2))).max()), K
    )
    Phi = np.swapaxes(Ms, -1, -2).conj() @ Ms
    fro2 = _up(float((np.abs(Ms) ** 2).sum(axis=(-1, -2)).max()), a * b + 4)
    # ||Phi_true - fl(M^H M)|| <= 2 gamma_{2a+4} ||M||_F^2 + 2 ||M|| dM + dM^2
    mnorm = _up(math.sqrt(fro2), 2)
    e_phi = _up(2 * _gamma(2 * a + 4) * fro2 + 2 * mnorm * dM + dM * dM, 4)
    lam, U = np.linalg.eigh(Phi)  # ascending, per stack entry
    half_shape = (*Ls[:-1], Ls[-1] // 2 + 1)
    fa_half = np.unravel_index(np.arange(F), half_shape)
    last = fa_half[-1]
    twin = (last != 0) & ~((Ls[-1] % 2 == 0) & (last == Ls[-1] // 2))  # -f not in the half
    mult = np.repeat(np.where(twin, 2, 1), grp)  # per stack entry
    order = np.argsort(lam.ravel())[::-1]
    counts = np.cumsum(np.repeat(mult, b)[order])
    flat = lam.ravel()[order]
    unorm2 = _up(float((np.abs(U) ** 2).sum(axis=1).max()), b + 4)

    def certify(rmax: int) -> tuple[float, int, float]:
        r_cut = int(np.searchsorted(counts, rmax, side="right"))  # entries whose total fits
        beta = max(float(flat[r_cut]) if r_cut < flat.size else 0.0, 0.0)
        keep = lam > beta
        x = np.where(keep, lam - beta, 0.0)
        s = np.nextafter(np.sqrt(x) * (1 + 4 * _U), np.inf) * keep  # s >= sqrt(x): s^2 >= x
        s2 = s * s  # fl(s^2); the majorant below is certified for U diag(s2) U^H as computed
        P = (U * s2[:, None, :]) @ np.swapaxes(U, -1, -2).conj()
        e_p = 2 * _gamma(2 * b + 4) * _up(float((s2.sum(axis=1)).max()) * unorm2, 3)
        N = Phi - P
        e_n = _U * _up(float(np.sqrt((np.abs(N) ** 2).sum(axis=(1, 2))).max()), b * b + 4)
        mu = _certified_lambda(N, beta)
        # + U diag(fl(s^2) - s^2) U^H, ||U||_2^2 <= ||U||_F^2 <= b max ||u||^2
        e_s = _U * _up(float(s2.max()) * b * unorm2, 3)
        beta_cert = _up(mu + e_phi + e_p + e_n + e_s, 6)
        if not keep.any():
            return _up(math.sqrt(beta_cert), 2), 0, beta_cert
        # the reduced Gram matrix G[p, q] = s_p s_q (u_p^H u_q) prod_axes k(f_p - f_q) [same group]
        t_idx, i_idx = np.nonzero(keep)
        V = U[t_idx, :, i_idx]  # (r, b): the kept eigenvectors as rows
        sv = s[t_idx, i_idx]
        f_idx, g_idx = np.divmod(t_idx, grp)
        fa = [c[f_idx] for c in fa_half]
        m = twin[f_idx]  # their mirrors -f carry conj(u)
        V = np.concatenate([V, V[m].conj()])
        sv = np.concatenate([sv, sv[m]])
        g_idx = np.concatenate([g_idx, g_idx[m]])
        fa = [np.concatenate([c, np.mod(-c[m], L)]) for c, L in zip(fa, Ls)]
        r = int(sv.size)
        G = (V.conj() @ V.T) * np.outer(sv, sv)
        if grp > 1:
            G = G * (g_idx[:, None] == g_idx[None, :])
        eps_k = 0.0
        for ax in range(nd):
            L, n = Ls[ax], shape[1 + ax]
            j = np.arange(n)
            # k(delta) = (1/L) sum_{j < n} exp(2 pi i delta j / L), phases reduced mod L exactly
            kt = np.exp(2j * np.pi * (np.mod(np.multiply.outer(np.arange(L), j), L) / L)).sum(1) / L
            G = G * kt[np.mod(fa[ax][:, None] - fa[ax][None, :], L)]
            eps_k += n * (128 * _U + _gamma(n + 2)) / L
        # |G - G_true| <= s_p s_q (2 gamma_{2b+4} |u_p||u_q| (1 + eps) + |u_p||u_q| eps + products)
        eta = (2 * _gamma(2 * b + 4) + 2 * eps_k + _gamma(2 * nd + 8)) * (1 + 2 * eps_k) * unorm2
        e_g = _up(eta * float((sv * sv).sum()), 4)
        if r <= 3:
            nu_hat = float(np.linalg.eigvalsh(G)[-1])
        else:
            v0 = np.random.default_rng(0).standard_normal(r)
            try:
                nu_hat = float(eigsh(G, k=1, which="LA", tol=1e-12, v0=v0)[0][0])
            except Exception:  # ARPACK did not converge: LAPACK (only the guess is at stake)
                nu_hat = float(np.linalg.eigvalsh(G)[-1])
        nu = _certified_lambda(G[None], nu_hat)
        return _up(math.sqrt(_up(beta_cert + nu + e_g, 3)), 2), r, beta_cert

    best = (math.inf, 0, 0.0)
    size = min(512, rmax)
    while True:
        res = certify(size)
        best = min(best, res)
        if size >= rmax or (target is not None and best[0] <= target):
            return best
        size = min(2 * size, rmax)


def _embedding_axes(spec: ConvSpec, shape: tuple[int, ...], extra: int) -> tuple[_Axis, ...]:
    """Circulant grids for the embedding of the valid conv on the padded input (Notes of
    :func:`operator_norm`): per axis ``L`` = the smallest multiple of ``s`` that is at
    least ``max(n_p, o s)``, plus ``extra`` strides."""
    pads = spec.resolve_padding(shape)
    outs = spec.output_shape(shape)[1:]
    axes = []
    for n, (pl, pr), s, o in zip(shape[1:], pads, spec.stride, outs):
        n_p = n + pl + pr
        L = s * (-(-max(n_p, o * s) // s)) + extra * s
        axes.append(_Axis(L, 0, s, 1))
    return tuple(axes)


def _circulant_bound(
    w: np.ndarray, spec: ConvSpec, axes: Sequence[_Axis], guess: float | None = None
) -> tuple[float, float]:
    """(certified upper bound, float estimate) of the circulant model's norm (without the
    ``sqrt(m)`` factor).  Real weights: ``M(-f) = conj(M(f))``, so half the frequencies
    suffice."""
    model = _model(w, spec, axes)
    return model.bound(), model.estimate


def _best_grid(w: np.ndarray, spec: ConvSpec, base: _Model, grids: int, peaks: int = 4) -> _Model:
    """The embedding grid (per axis ``L = L_min + j s``, ``j < grids``) whose circulant
    norm is estimated smallest, judged near the largest peaks of ``base`` (the frequencies
    nearest each peak on every candidate grid); the full model of the winner."""
    if grids <= 1:
        return base
    nd = spec.ndim
    top = np.argsort(base.lam)[::-1][: peaks * base.groups]
    Ns = [a.N for a in base.axes]
    half = [np.arange(N) for N in Ns]
    half[-1] = np.arange(Ns[-1] // 2 + 1)
    centres = []
    for idx in top:
        f = np.unravel_index(int(idx) // base.groups, [len(h) for h in half])
        centres.append([int(fi) / N for fi, N in zip(f, Ns)])
    per_axis = [[_Axis(a.L + j * a.g, 0, a.g, 1) for j in range(grids)] for a in base.axes]
    best_axes, best_est = base.axes, base.estimate
    import itertools

    for combo in itertools.product(*per_axis):
        est = 0.0
        for c in centres:
            only = []
            for ax_i in range(nd):
                N = combo[ax_i].N
                x = c[ax_i] * N
                only.append(np.unique(np.mod(np.arange(math.floor(x) - 1, math.ceil(x) + 2), N)))
            M, _ = _symbols(w, spec, combo, only=only)
            est = max(est, float(np.linalg.svd(M, compute_uv=False).max()))
            if est >= best_est:
                break
        if est < best_est:
            best_axes, best_est = combo, est
    return base if best_axes == base.axes else _model(w, spec, best_axes)


def _group_blocks(w: np.ndarray, groups: int) -> list[np.ndarray]:
    co = w.shape[0]
    cog = co // groups
    return [w[g * cog : (g + 1) * cog] for g in range(groups)]


def _reshaped(wg: np.ndarray, rows: tuple[int, ...]) -> np.ndarray:
    """``wg`` (co, ci, *k) with the kernel axes in ``rows`` moved next to ``co``."""
    nd = wg.ndim - 2
    cols = tuple(ax for ax in range(nd) if ax not in rows)
    perm = (0, *(2 + ax for ax in rows), 1, *(2 + ax for ax in cols))
    r = wg.transpose(perm)
    nrow = wg.shape[0] * math.prod(wg.shape[2 + ax] for ax in rows)
    return r.reshape(nrow, -1)


def reshaped_weight_norm(weight: Any) -> float:
    """``||W.reshape(C_out, -1)||_2``: what ``torch.nn.utils.spectral_norm`` normalises.

    Not an upper bound of the operator norm (see :func:`lipschitz_report`).

    Examples
    --------
    >>> import numpy as np
    >>> from convproof.spectrum.operator import reshaped_weight_norm
    >>> reshaped_weight_norm(np.ones((1, 1, 3, 3)))
    3.0
    """
    w = np.asarray(weight, dtype=np.float64)
    return float(np.linalg.norm(w.reshape(w.shape[0], -1), 2))


def _singla_feizi(w: np.ndarray, spec: ConvSpec) -> float:
    """Certified ``sqrt(prod k) min_A ||R_A||`` (the ``2^ndim`` reshapings), max over groups."""
    nd = spec.ndim
    best = math.inf
    import itertools

    for r in range(nd + 1):
        for rows in itertools.combinations(range(nd), r):
            val = 0.0
            for wg in _group_blocks(w, spec.groups):
                R = _reshaped(wg, rows)
                val = max(val, _certified_norm(R[None], 0.0))
            best = min(best, val)
    return _up(best * math.sqrt(math.prod(spec.kernel_size)), 3)


def _araujo(w: np.ndarray, spec: ConvSpec) -> float:
    """``sqrt(sum_ij sup_w |f_ij(w)|^2)`` with ``sup |f_ij| <= sum_u |W[i, j, u]|``, max over
    groups (Araujo et al. 2021, with the triangle inequality for the suprema)."""
    val = 0.0
    K = math.prod(spec.kernel_size)
    for wg in _group_blocks(w, spec.groups):
        S = np.abs(wg).reshape(wg.shape[0], wg.shape[1], -1).sum(axis=-1)
        val = max(val, float(np.sqrt((S * S).sum())))
    return _up(val, K + wg.size + 4)


# --------------------------------------------------------------------------------------
# the exact lower bound
# --------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:.10g}"


@dataclass(frozen=True)
class OperatorNorm:
    """A certified interval for the largest singular value of a layer (truthy iff certified).

    Attributes
    ----------
    lower : float
        ``sqrt(||T v||^2 / ||v||^2)`` for :attr:`vector`, the quotient evaluated exactly in
        rationals (:attr:`lower_squared`), then rounded **down**.
    upper : float
        The tightest of the :attr:`bounds`, each a rigorous upper bound; :attr:`theorem`
        names the one used.
    theorem : str
    vector : numpy.ndarray
        The explicit input (int64, shape ``input_shape``) whose Rayleigh quotient is
        ``lower``.
    status : {"verified", "inconclusive"}
        ``"verified"`` when ``lower <= upper``: ``lower`` is exact, and ``upper`` is
        rigorous under the stated floating-point :attr:`assumptions` (IEEE binary64 and
        the libraries' error bounds), so the interval is certified but not "proved" in
        the sense of exact arithmetic alone; ``"inconclusive"`` if not (a violated
        assumption: report it).
    scope, assumptions : str, tuple of str
    bounds : dict
        Every upper bound computed: name -> value.
    lower_squared : Fraction
        The exact Rayleigh quotient ``||T v||^2 / ||v||^2``.
    seconds : float
    """

    lower: float
    upper: float
    theorem: str
    vector: np.ndarray = field(repr=False, compare=False)
    status: str = "verified"
    scope: str = ""
    assumptions: tuple[str, ...] = ()
    bounds: dict[str, float] = field(default_factory=dict, compare=False)
    lower_squared: Fraction = Fraction(0)
    seconds: float = 0.0

    def __bool__(self) -> bool:
        return self.status in ("proved", "verified")

    @property
    def proved(self) -> bool:
        """``True`` iff the status is ``"proved"`` (``bool(result)`` accepts verified)."""
        return self.status == "proved"

    @property
    def width(self) -> float:
        """``upper / lower - 1`` (relative width; ``inf`` when ``lower`` is 0)."""
        return self.upper / self.lower - 1 if self.lower > 0 else math.inf

    def __contains__(self, value: float) -> bool:
        return self.lower <= value <= self.upper

    def __str__(self) -> str:
        lines = [
            f"{self.status.upper()}: {_fmt(self.lower)} <= ||T||_2 <= {_fmt(self.upper)} "
            f"(relative width {self.width:.2e})",
            f"  lower:    sqrt of the exact Rayleigh quotient of an explicit integer vector "
            f"({self.lower_squared.numerator.bit_length()}-bit / "
            f"{self.lower_squared.denominator.bit_length()}-bit rational)",
            f"  upper:    {self.theorem}",
        ]
        for name, value in self.bounds.items():
            lines.append(f"  bound:    {name} = {_fmt(value)}")
        lines.append(f"  scope:    {self.scope}")
        for a in self.assumptions:
            lines.append(f"  assumes:  {a}")
        lines.append(f"  time:     {self.seconds:.3f} s")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the vector's shape only, and the exact quotient as a string).

        Examples
        --------
        >>> import json, numpy as np, convproof as cp
        >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
        >>> d = cp.operator_norm(spec, (1, 3), np.array([[[1.0, 1.0]]])).to_dict()
        >>> d["status"], d["lower"] <= 3 ** 0.5 <= d["upper"]
        ('verified', True)
        >>> sorted(json.loads(json.dumps(d)))[:4]
        ['assumptions', 'bounds', 'lower', 'lower_squared']
        """
        return {
            "status": self.status,
            "proved": self.proved,
            "lower": self.lower,
            "upper": self.upper,
            "width": self.width,
            "theorem": self.theorem,
            "bounds": dict(self.bounds),
            "lower_squared": str(self.lower_squared),
            "vector_shape": list(self.vector.shape),
            "scope": self.scope,
            "assumptions": list(self.assumptions),
            "seconds": self.seconds,
        }


def _spec_text(spec: ConvSpec, shape: tuple[int, ...]) -> str:
    return (
        f"{spec.in_channels}->{spec.out_channels}, kernel {spec.kernel_size}, stride "
        f"{spec.stride}, dilation {spec.dilation}, groups {spec.groups}, padding "
        f"{spec.resolve_padding(shape)} {spec.padding_mode}, input {shape}"
    )


def operator_norm(
    spec: ConvSpec | ConvTransposeSpec,
    input_shape: Sequence[int],
    weight: Any,
    *,
    grids: int = 6,
    tol: float = 1e-6,
    reduced: int = _REDUCED_MAX,
) -> OperatorNorm:
    """A certified interval ``[lower, upper]`` for the largest singular value ``||T||_2``.

    Parameters
    ----------
    spec : ConvSpec or ConvTransposeSpec
        Any padding mode, stride, dilation, groups, 1-3 spatial dims (bias ignored).  For a
        transposed conv the certificate is for its adjoint (the conv with the same
        arguments; same norm) and ``vector`` lies in the transposed layer's output space.
    input_shape : tuple of int
        One sample, ``(C_in, *spatial)``.
    weight : array_like
        ``spec.weight_shape``, real (float weights are exact dyadic rationals).
    grids : int
        How many circulant grid sizes to try per axis for the embedding bound (the smallest
        ``grids`` admissible sizes, all combinations, judged by the circulant norm near the
        largest peaks of the smallest grid's; the best is certified).
    tol : float
        Relative tolerance of the Lanczos iteration (ARPACK) that finds the lower-bound
        vector; it only affects how tight ``lower`` is, never its validity.
    reduced : int
        Largest size of the reduced problem of the localised Toeplitz bound (zero padding,
        stride 1, layers too large for the explicit Gram matrix, at most ``2^24`` entries in
        the per-frequency stack, 64 channels up to 86 x 86; Notes); 0 skips it.  Sizes
        512, 1024, ... up to ``reduced`` are tried until the width is below ``3e-4``; the
        default 2048 takes 1-4 s of CPU on a 64-channel layer at 32 x 32.

    Returns
    -------
    OperatorNorm
        ``lower``, ``upper``, ``theorem``, ``vector``, ``status``, ``bounds``, ...

    Raises
    ------
    ConvProofError
        Bad spec, shape, weight, ``grids`` or ``tol``; a transposed conv whose
        ``output_padding`` is not smaller than its stride.

    Notes
    -----
    *Lower.*  Any ``v != 0`` gives ``||T||^2 >= ||T v||^2 / ||v||^2``.  ``v`` is ARPACK's
    (Lanczos on ``T^T T``, started from the circulant model's top singular vector: a
    polyphase plane wave cut to the input window) top right singular vector rounded to
    21-bit integers; the quotient is
    computed exactly (see ``_exact_quotient``: integer digits of the weights, exact
    float64 sums of integers below ``2^53``, Python integers) and its square root rounded
    down.

    *Upper, circular and block-circulant* (see :func:`singular_values`):
    ``||T|| = sqrt(m) max_f ||M(f)||`` exactly.

    *Upper, circulant embedding.*  Otherwise ``T = C_valid P``: ``P`` pads (zeros,
    reflect, replicate or circular copies; ``P^T P`` is diagonal with the copy counts, so
    ``||P|| = sqrt(prod_axes max count)``, 1 for zeros) and ``C_valid`` is the unpadded
    strided convolution on the padded size ``n_p``.  On a grid ``L >= max(n_p, o s)`` with
    ``s | L``, let ``C_L`` be the circular convolution with stride ``s`` and no padding.
    For output ``a < o`` and tap ``u``, ``a s + u d <= (o - 1) s + d (k - 1) <= n_p - 1 <
    L``: no index wraps, so ``C_valid = R C_L E`` with ``E`` the isometric embedding of the
    padded input at positions ``0..n_p - 1`` and ``R`` the selection of rows ``a < o`` (a
    co-isometry, ``o <= L / s``): ``T`` is a compression of ``C_L`` times ``P``, hence
    ``||T|| <= ||R|| ||C_L|| ||E|| ||P|| = ||C_L|| ||P||``.  ``||C_L|| = max_f ||M_L(f)||``
    (polyphase, :func:`singular_values`) is then bounded rigorously: for the computed
    ``M(f)`` with entrywise error ``<= (2 gamma_{K+2} + 128u) sum_u |W_u|`` (the phases'
    angles reduced modulo ``N`` in integers), form
    ``A = fl(M M^H)`` (error ``<= 2 gamma_{2n+4} ||M||_F^2``), and find ``mu`` such that
    Cholesky of ``fl(mu I - A) - c I`` runs to completion for every ``f`` with
    ``c = 2 gamma_{2n+4} tr(mu I - A)``, which proves ``mu I - A`` positive definite
    (Rump 2006; Cholesky reads one triangle, so the certified matrix is the Hermitian one
    built from it, whose entries obey the same error bound);
    ``||M(f)|| <= sqrt(mu + errors) + ||dM||``.  Real weights give
    ``M(-f) = conj(M(f))``: half the frequencies are checked.  ``mu`` starts from power
    iteration (Delattre et al. 2023 use Gram iteration for the same ``max_f``; this is its
    certified counterpart) and rises to LAPACK's eigenvalue where Cholesky fails.

    *Upper, explicit Gram matrix* (when ``min(C_in prod(n), C_out prod(o)) <= 4096`` and
    the layer is not block-circulant): ``A = fl(T^T T)`` (or ``T T^T``) of the explicit
    :func:`convproof.conv_matrix`, certified with the same Cholesky argument (the Gram of
    a sparse product: error ``<= 2 gamma_{2m+4} ||T||_F^2``; folded padding taps are sums
    of at most ``K`` weights: ``||dT|| <= gamma_K ||T(|W|)||_F``).  Tight (rounding only),
    and the only bound here that sees the boundary exactly.

    *Upper, localised Toeplitz bound* (zero padding, stride 1).  The circulant bounds
    above cannot see the boundary: they converge to ``sup_f ||M(f)||``, which exceeds the
    zero-padded norm by about ``5e-3`` at 32 x 32.  This one does.  (1) With ``E`` the
    zero extension of the input window to the grid ``L = n + (k - 1) d`` and ``C_L`` the
    circular convolution without padding there, no index wraps for the full convolution,
    and ``T`` is a selection of its rows (the others read only padding): ``||T x|| <=
    ||C_L E x||``, and ``||C_L E x||^2 = sum_f X(f)^H Phi(f) X(f)`` (unitary DFT ``X`` of
    ``E x``, ``Phi = M^H M``).  (2) Per frequency, with ``u_{f,i}`` LAPACK's eigenvectors
    of ``fl(Phi(f))`` whose eigenvalues exceed ``beta`` (the ``reduced`` largest over all
    frequencies) and ``s_{f,i} >= sqrt(lambda_{f,i} - beta)``, the matrix
    ``Phi(f) - U_f S_f^2 U_f^H`` is certified ``<= beta' I`` by the Cholesky test above
    (with the rounding of ``Phi``, of ``M`` and of the product added).  So ``||T x||^2
    <= beta' ||x||^2 + ||Psi x||^2``, where ``Psi x = (s_{f,i} u_{f,i}^H X(f))`` has
    ``r`` rows.  (3) ``||Psi||^2`` is the largest eigenvalue of ``G = Psi Psi^H``:
    ``G[(f,i), (g,j)] = s_{f,i} s_{g,j} (u_{f,i}^H u_{g,j}) prod_axes k(f - g)`` with
    ``k(delta) = (1/L) sum_{j < n} exp(2 pi i delta j / L)`` (the window's Dirichlet sum;
    zero across groups), certified by Cholesky with its entrywise error bound added.  Then
    ``||T||^2 <= beta' + lambda_max(G) + ||dG||_F``.  The price: the border outputs of the
    full convolution (about ``3e-4`` at 32 x 32) and the eigen-directions below ``beta``
    treated as ``beta``; the window's boundary itself is exact.

    *Upper, Singla & Feizi (2021).*  Stride 1 circular: ``||M(f)|| <= sqrt(prod k) ||R_A||``
    for each of the ``2^ndim`` reshapings ``R_A`` (kernel axes in ``A`` joined to the
    output channels, the rest to the input channels), since ``M(f) = D_A R_A D_B`` with
    ``||D_A|| ||D_B|| = sqrt(prod k)``.  Striding selects rows and the padding bound above
    applies (``||T|| <= ||C_L|| ||P||``), so it bounds every layer here after the factor
    ``||P||`` (``sqrt(m)`` for repeated rows).  Certified norms of the reshaped matrices.

    The tightest bound is reported.  Measured relative widths (benchmarks/bench_spectrum.py):
    circular block-circulant layers only the rounding; layers with at most 4096 inputs or
    outputs (explicit Gram matrix) about ``1e-10``; zero-padded 64 -> 64 at 32 x 32 with the
    localised Toeplitz bound below ``1e-3`` (5 x 5: ``8e-4``), without it (``reduced=0``)
    about ``2e-3`` to ``1e-2``.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1, bias=False)
    >>> w = np.array([[[[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]]])
    >>> r = cp.operator_norm(spec, (1, 8, 8), w)
    >>> r.status, r.lower <= r.upper <= 8.0
    ('verified', True)
    >>> r.lower > 7.5     # the zero-padded Laplacian: 8 cos^2(pi/18) = 7.76
    True
    """
    t0 = time.perf_counter()
    if isinstance(spec, ConvTransposeSpec):
        fwd, fwd_shape = _forward_of(spec, input_shape)
        return _operator_norm(fwd, fwd_shape, weight, grids, tol, reduced, True, t0)
    return _operator_norm(spec, input_shape, weight, grids, tol, reduced, False, t0)


def _operator_norm(
    spec: ConvSpec,
    input_shape: Sequence[int],
    weight: Any,
    grids: int,
    tol: float,
    reduced: int,
    transposed: bool,
    t0: float,
) -> OperatorNorm:
    shape, w = _check(spec, input_shape, weight)
    if isinstance(grids, bool) or not isinstance(grids, int) or grids < 1:
        raise ConvProofError(f"grids must be an int >= 1, got grids={grids!r}")
    if not isinstance(tol, float | int) or isinstance(tol, bool) or not 0 <= tol < 1:
        raise ConvProofError(f"tol must be a number in [0, 1), got tol={tol!r}")
    if isinstance(reduced, bool) or not isinstance(reduced, int) or reduced < 0:
        raise ConvProofError(f"reduced must be an int >= 0, got reduced={reduced!r}")
    op = _Operator(spec, shape, w)
    bounds: dict[str, float] = {}
    exact = axes = _exact_circulant(spec, shape)
    assumptions = list(ARITHMETIC_ASSUMPTIONS)
    if axes is not None:
        m = math.prod(a.m for a in axes)
        model = _model(w, spec, axes)
        name = (
            "block-circulant (circular padding): sqrt(m) max_f ||M(f)||, polyphase "
            f"DFT (Sedghi, Gupta & Long 2019), grid {tuple(a.L for a in axes)}, "
            f"phases {tuple(a.g for a in axes)}, m={m}"
        )
        bounds[name] = _up(model.bound() * math.sqrt(m), 3)
        pnorm = math.sqrt(m)
    else:
        pnorm = _pad_norm(op.maps)
        model = _best_grid(w, spec, _model(w, spec, _embedding_axes(spec, shape, 0)), grids)
        name = (
            f"circulant embedding: ||T|| <= ||P|| max_f ||M_L(f)||, grid L="
            f"{tuple(a.L for a in model.axes)}, ||P||={pnorm:.6g} ({spec.padding_mode} "
            f"padding map)"
        )
        bounds[name] = _up(model.bound() * pnorm, 3)
    sf = _singla_feizi(w, spec)
    bounds["Singla & Feizi 2021: sqrt(prod k) min_A ||R_A|| (times ||P||)"] = _up(sf * pnorm, 3)
    direct_ok = min(op.n_in, op.n_out) <= _DIRECT_MAX and exact is None
    if direct_ok:
        direct, v = _direct_bound(spec, shape, w)
        bounds[
            "explicit Gram matrix of conv_matrix (the smaller of T^T T, T T^T), Cholesky "
            "certificate"
        ] = direct
    else:
        v = _lower_vector(op, _plane_wave(model, spec, shape, shift=exact is None), tol)
    q, x = _exact_quotient(spec, shape, w, v)
    lower = _sqrt_down(q)
    if (
        reduced > 0
        and not direct_ok
        and spec.padding_mode == "zeros"
        and all(s == 1 for s in spec.stride)
        and _reduced_entries(spec, shape) <= _REDUCED_ENTRIES
    ):
        rb, r, beta = _reduced_bound(spec, shape, w, reduced, lower * (1 + _REDUCED_STOP))
        grid = tuple(n + (k - 1) * d for n, k, d in zip(shape[1:], spec.kernel_size, spec.dilation))
        bounds[
            f"localised Toeplitz bound (zero padding): ||T x|| <= ||C_L E x||, Phi(f) <= "
            f"beta I + U_f S_f^2 U_f^H per frequency (Cholesky certificates), beta={beta:.6g}, "
            f"reduced Gram matrix of {r} window-restricted plane waves, grid L="
            f"{grid}"
        ] = rb
    theorem = min(bounds, key=lambda b: bounds[b])
    upper = bounds[theorem]
    status = "verified" if lower <= upper else "inconclusive"
    if status != "verified":  # pragma: no cover - would mean a violated assumption
        assumptions.append("VIOLATED: the exact lower bound exceeds the upper bound")
    return OperatorNorm(
        lower=lower,
        upper=upper,
        theorem=theorem,
        vector=x.reshape(shape),
        status=status,
        scope=(
            f"largest singular value of the linear part of {_spec_text(spec, shape)}"
            + (
                " = the transposed layer's adjoint (same singular values; vector lives in "
                "the transposed layer's output space)"
                if transposed
                else ""
            )
        ),
        assumptions=tuple(assumptions),
        bounds=bounds,
        lower_squared=q,
        seconds=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------------------
# per-layer report of a network
# --------------------------------------------------------------------------------------

REPORT_NOTE = (
    "per conv layer, linear part only (bias and other layers excluded); the product of the "
    "certified upper bounds bounds the network's Lipschitz constant only for a plain chain "
    "of these convs with 1-Lipschitz layers between them (no residual additions, batch norm "
    "folded in)"
)


@dataclass(frozen=True)
class LipschitzRow:
    """One conv layer of a :class:`LipschitzReport`.

    Attributes
    ----------
    name : str
    input_shape : tuple of int
    norm : OperatorNorm
        The certified interval.
    reshaped : float
        ``||W.reshape(C_out, -1)||_2`` (``torch.nn.utils.spectral_norm``): **not** a bound.
    sqrt_k : float
        ``sqrt(prod k) ||W.reshape(C_out, -1)||_2`` (an upper bound: Singla & Feizi's first
        reshaping).
    singla_feizi, araujo : float
        Singla & Feizi's (2021) and Araujo et al.'s (2021) upper bounds (see
        :func:`operator_norm`).
    """

    name: str
    input_shape: tuple[int, ...]
    norm: OperatorNorm
    reshaped: float
    sqrt_k: float
    singla_feizi: float
    araujo: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "lower": self.norm.lower,
            "upper": self.norm.upper,
            "width": self.norm.width,
            "status": self.norm.status,
            "theorem": self.norm.theorem,
            "reshaped_weight_norm": self.reshaped,
            "sqrt_k_bound": self.sqrt_k,
            "singla_feizi": self.singla_feizi,
            "araujo": self.araujo,
            "seconds": self.norm.seconds,
        }


class LipschitzReport:
    """Per-layer certified norms and the common bounds, with products over the network.

    Attributes
    ----------
    name : str
    input_shape : tuple
    rows : tuple of LipschitzRow
    products : dict
        Product over the rows of ``lower``, ``upper``, ``reshaped``, ``sqrt_k``,
        ``singla_feizi``, ``araujo``.
    weights_note : str
        Where the weights came from.
    """

    def __init__(
        self,
        name: str,
        input_shape: tuple[int, ...],
        rows: Sequence[LipschitzRow],
        weights_note: str,
    ) -> None:
        self.name = name
        self.input_shape = tuple(input_shape)
        self.rows: tuple[LipschitzRow, ...] = tuple(rows)
        self.weights_note = weights_note
        keys = ("lower", "upper", "reshaped", "sqrt_k", "singla_feizi", "araujo")
        self.products = {k: math.prod(self._value(r, k) for r in self.rows) for k in keys}
        self._by_name = {r.name: r for r in self.rows}

    @staticmethod
    def _value(r: LipschitzRow, key: str) -> float:
        if key in ("lower", "upper"):
            return float(getattr(r.norm, key))
        return float(getattr(r, key))

    def __getitem__(self, name: str) -> LipschitzRow:
        try:
            return self._by_name[name]
        except KeyError:
            raise ConvProofError(
                f"layer must name a conv row of the report, got layer={name!r}"
            ) from None

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __repr__(self) -> str:
        return f"LipschitzReport(name={self.name!r}, {len(self.rows)} conv layers)"

    def __str__(self) -> str:
        return self.to_markdown()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready rows, products and notes."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "rows": [r.to_dict() for r in self.rows],
            "products": dict(self.products),
            "weights": self.weights_note,
            "note": REPORT_NOTE,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_markdown(self) -> str:
        """A Markdown table: one row per conv layer, the products underneath.

        Examples
        --------
        >>> import numpy as np, convproof as cp
        >>> conv = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
        ...                    bias=False)
        >>> w = np.array([[[[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]]])
        >>> rep = cp.lipschitz_report(cp.Network([("lap", conv)]), (1, 8, 8),
        ...                           weights={"lap": w})
        >>> print(rep.to_markdown().splitlines()[0][:50])
        | Layer | Input | Lower | Upper | Width | Reshaped
        """
        head = (
            "| Layer | Input | Lower | Upper | Width | Reshaped (spectral_norm) | "
            "sqrt(prod k) x reshaped | Singla-Feizi | Araujo |"
        )
        lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in self.rows:
            lines.append(
                f"| {r.name} | {list(r.input_shape)} | {r.norm.lower:.6g} | {r.norm.upper:.6g} "
                f"| {r.norm.width:.1e} | {r.reshaped:.6g} | {r.sqrt_k:.6g} | "
                f"{r.singla_feizi:.6g} | {r.araujo:.6g} |"
            )
        p = self.products
        lines.append(
            f"| **Product** | | **{p['lower']:.4g}** | **{p['upper']:.4g}** | | "
            f"**{p['reshaped']:.4g}** | **{p['sqrt_k']:.4g}** | **{p['singla_feizi']:.4g}** | "
            f"**{p['araujo']:.4g}** |"
        )
        lines.append("")
        lines.append(f"Weights: {self.weights_note}. Note: {REPORT_NOTE}.")
        return "\n".join(lines)


def _weights_for(
    model: Any, net: Any, weights: Any, seed: int
) -> tuple[Callable[[str, Any], np.ndarray], Callable[[], str]]:
    from convproof.networks.torch_import import is_torch_module

    if is_torch_module(model):
        modules = dict(model.named_modules())

        def from_torch(name: str, spec: Any) -> np.ndarray:
            mod = modules.get(name.split("@")[0])
            if mod is None or getattr(mod, "weight", None) is None:
                raise ConvProofError(f"layer {name!r} has no weight in the torch module")
            return np.asarray(mod.weight.detach().cpu().double().numpy())

        return from_torch, lambda: "the torch module's parameters"
    given = dict(weights or {})
    rng = np.random.default_rng(seed)
    drawn: list[str] = []

    def lookup(name: str, spec: ConvSpec | ConvTransposeSpec) -> np.ndarray:
        if name in given:
            return np.asarray(given[name], dtype=np.float64)
        fan_in = spec.weight_shape[1] * math.prod(spec.kernel_size)
        drawn.append(name)
        return rng.standard_normal(spec.weight_shape) * math.sqrt(2.0 / fan_in)

    def describe() -> str:
        if not drawn:
            return "given for every layer"
        what = "every layer" if not given else f"{', '.join(drawn)} (the others given)"
        return (
            f"random He-normal N(0, 2/fan_in), seed {seed}, for {what} "
            f"(a convproof network has no weights)"
        )

    return lookup, describe


def lipschitz_report(
    model: Any,
    input_shape: Sequence[int],
    *,
    weights: dict[str, Any] | None = None,
    seed: int = 0,
    grids: int = 1,
    tol: float = 1e-4,
    reduced: int = 0,
) -> LipschitzReport:
    """Certified operator norms of every conv layer of a network, next to common bounds.

    Parameters
    ----------
    model : Network or torch.nn.Module
        A convproof network (weights from ``weights``, else drawn at random) or a PyTorch
        module (its parameters).
    input_shape : tuple of int
        ``(C, *spatial)`` (one sample).
    weights : dict, optional
        Node name -> weight array for a convproof network; missing layers get seeded random
        He-normal weights (stated in the report).
    seed : int
        Seed of the random weights.
    grids, tol : int, float
        Circulant grids tried per layer and the Lanczos tolerance (see
        :func:`operator_norm`; ``tol=1e-4`` already gives ``lower`` to about ``1e-7``).
    reduced : int
        Size of the localised Toeplitz bound per layer (see :func:`operator_norm`); 0 (the
        default) skips it, which keeps a ResNet-18 report fast.

    Returns
    -------
    LipschitzReport
        One :class:`LipschitzRow` per conv and transposed conv layer (linear layers and
        pooling are not included; a transposed conv's reshaped-weight norm is taken in the
        forward conv's layout), ``products``; ``to_markdown``, ``to_json``.

    Raises
    ------
    ConvProofError
        A model that is neither a convproof network nor a torch module, a batched or
        ill-fitting input shape, or a torch layer without a weight.

    Examples
    --------
    >>> import convproof as cp
    >>> net = cp.Network([("c1", cp.ConvSpec(in_channels=2, out_channels=4, kernel_size=3,
    ...                                      padding=1)),
    ...                   ("relu", cp.Activation()),
    ...                   ("c2", cp.ConvSpec(in_channels=4, out_channels=2, kernel_size=3,
    ...                                      stride=2))])
    >>> rep = cp.lipschitz_report(net, (2, 8, 8), seed=1)
    >>> [r.name for r in rep], all(r.norm for r in rep)
    (['c1', 'c2'], True)
    >>> all(r.norm.upper <= min(r.singla_feizi, r.araujo, r.sqrt_k) for r in rep)
    True
    """
    from convproof.networks.graph import INPUT, _split_input, analyze
    from convproof.networks.torch_import import as_network

    net = as_network(model)
    batch, sample = _split_input(net, input_shape)
    if batch:
        raise ConvProofError(
            f"input_shape must be one sample (C, *spatial), got input_shape={tuple(input_shape)!r}"
        )
    results = analyze(net, input_shape)
    shapes: dict[str, tuple[int, ...]] = {INPUT: tuple(int(v) for v in sample)}
    for res in results:
        shapes[res.name] = tuple(int(v) for v in res.shape)
    lookup, describe = _weights_for(model, net, weights, seed)
    rows = []
    for node in net.nodes:
        layer = node.layer
        if not isinstance(layer, ConvSpec | ConvTransposeSpec):
            continue
        shape = shapes[node.inputs[0]]
        w = lookup(node.name, layer)
        r = operator_norm(layer, shape, w, grids=grids, tol=tol, reduced=reduced)
        spec, fshape = (
            _forward_of(layer, shape) if isinstance(layer, ConvTransposeSpec) else (layer, shape)
        )
        _, wf = _check(spec, fshape, w)
        reshaped = reshaped_weight_norm(wf)
        sqrt_k = math.sqrt(math.prod(spec.kernel_size)) * max(
            reshaped_weight_norm(g) for g in _group_blocks(wf, spec.groups)
        )
        sf = next(v for k, v in r.bounds.items() if k.startswith("Singla"))
        rows.append(LipschitzRow(node.name, shape, r, reshaped, sqrt_k, sf, _araujo(wf, spec)))
    return LipschitzReport(net.name, tuple(sample), rows, describe())


# --------------------------------------------------------------------------------------
# property test of a claimed Lipschitz bound
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LipschitzCheck:
    """The outcome of :func:`check_lipschitz`: truthy iff no violation was found.

    Attributes
    ----------
    passed : bool
    bound : float
        The claimed Lipschitz constant.
    max_ratio : float
        The largest ``||f(x) - f(y)|| / ||x - y||`` seen.
    counterexample : tuple of (x, y) or None
        A violating pair (Hypothesis-shrunk when Hypothesis found it).
    ratio : float or None
        Its ratio.
    certified : OperatorNorm or None
        The layer's certified norm, when ``spec`` and ``weight`` were given.
    examples : int
        Pairs evaluated.
    method : str
        What found the counterexample (``"certified vector"``, ``"spectral probe"``,
        ``"hypothesis"``) or ``"none"``.
    """

    passed: bool
    bound: float
    max_ratio: float
    counterexample: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    ratio: float | None = None
    certified: OperatorNorm | None = field(default=None, repr=False)
    examples: int = 0
    method: str = "none"

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = "PASSED" if self.passed else "FAILED"
        lines = [
            f"{head}: claimed Lipschitz bound {self.bound:.6g}; largest ratio seen "
            f"{self.max_ratio:.6g} over {self.examples} pairs"
        ]
        if self.counterexample is not None:
            lines.append(f"  violation: ratio {self.ratio:.6g} found by {self.method}")
        if self.certified is not None:
            c = self.certified
            lines.append(f"  certified: {c.lower:.8g} <= ||T|| <= {c.upper:.8g} ({c.status})")
        return "\n".join(lines)


def _ratio(fn: Callable[[np.ndarray], Any], x: np.ndarray, y: np.ndarray) -> float:
    d = float(np.linalg.norm((x - y).ravel()))
    if d == 0:
        return 0.0
    fx = np.asarray(fn(x), dtype=np.float64)
    fy = np.asarray(fn(y), dtype=np.float64)
    return float(np.linalg.norm((fx - fy).ravel())) / d


def _probe_attack(
    fn: Callable[[np.ndarray], Any], shape: tuple[int, ...], freqs: list[tuple[int, ...]]
) -> tuple[float, np.ndarray | None]:
    """Adjoint-free spectral probing: for each frequency, the (assumed linear) map from
    channel coefficients of the cos / sin plane waves to outputs is measured column by
    column, and its top right singular vector gives a candidate input."""
    c = shape[0]
    spatial = shape[1:]
    best, best_x = 0.0, None
    base = np.asarray(fn(np.zeros(shape)), dtype=np.float64).ravel()
    grids = np.meshgrid(*[np.arange(n) for n in spatial], indexing="ij")
    for f in freqs:
        theta = sum(2 * np.pi * fi * g / n for fi, g, n in zip(f, grids, spatial))
        waves = [np.cos(theta), np.sin(theta)]
        cols, probes = [], []
        for wave in waves:
            if not np.any(np.abs(wave) > 1e-12):
                continue
            for k in range(c):
                x = np.zeros(shape)
                x[k] = wave
                probes.append(x)
                cols.append(np.asarray(fn(x), dtype=np.float64).ravel() - base)
        if not cols:
            continue
        J = np.stack(cols, axis=1)
        Pm = np.stack([p.ravel() for p in probes], axis=1)
        # maximise ||J a|| / ||P a||: generalised singular problem via QR of P
        _q, r = np.linalg.qr(Pm)
        try:
            Jr = np.linalg.solve(r.T, J.T).T
        except np.linalg.LinAlgError:
            continue
        _, _, vh = np.linalg.svd(Jr, full_matrices=False)
        a = np.linalg.solve(r, vh[0])
        x = (Pm @ a).reshape(shape)
        ratio = _ratio(fn, x, np.zeros(shape))
        if ratio > best:
            best, best_x = ratio, x
    return best, best_x


def check_lipschitz(
    fn: Callable[[np.ndarray], Any],
    bound: float,
    input_shape: Sequence[int],
    *,
    max_examples: int = 100,
    seed: int | None = None,
    spec: ConvSpec | None = None,
    weight: Any = None,
    rtol: float = 1e-9,
) -> LipschitzCheck:
    """Property-test a layer that claims ``||fn(x) - fn(y)|| <= bound ||x - y||``.

    Parameters
    ----------
    fn : callable
        NumPy array of ``input_shape`` -> array.
    bound : float
        The claimed Lipschitz constant (Euclidean norms).
    input_shape : tuple of int
        ``(C, *spatial)``.
    max_examples : int
        Hypothesis examples (pairs drawn from plane waves and random arrays, guided by
        ``hypothesis.target`` towards large ratios).
    seed : int, optional
        Makes the Hypothesis search and the probe frequencies reproducible.
    spec, weight : optional
        When ``fn`` is claimed to be this conv layer (plus a bias), its certified norm is
        reported and the certificate's vector is tried first.
    rtol : float
        A ratio counts as a violation when it exceeds ``bound * (1 + rtol)`` (floating
        point evaluation of ``fn``).

    Returns
    -------
    LipschitzCheck
        Truthy iff no violating pair was found; else ``.counterexample`` (shrunk by
        Hypothesis when it found it) and ``.ratio``.

    Raises
    ------
    ConvProofError
        ``fn`` not callable, ``bound`` negative, a bad ``input_shape`` or
        ``max_examples``, or only one of ``spec`` and ``weight``.

    Notes
    -----
    Three searches, in order: (1) the certified top vector of ``spec`` / ``weight``;
    (2) adjoint-free spectral probing: for the zero frequency and a few others, the map from
    the channel coefficients of cos / sin plane waves to outputs is measured column by column
    (exact for a linear ``fn``; a conv's top singular vectors are near plane waves) and its
    top singular vector tried; (3) Hypothesis: pairs ``(x, x + h)`` with ``h`` a scaled plane
    wave, one coordinate or a random array, at base points ``x`` drawn by Hypothesis or
    uniformly (seeded), targeted at large ratios, shrunk on failure.  A pass is
    evidence, not proof: use :func:`operator_norm` for a certificate.

    Examples
    --------
    >>> import numpy as np, convproof as cp
    >>> spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, padding=1, bias=False)
    >>> w = np.random.default_rng(0).standard_normal(spec.weight_shape)
    >>> w_sn = w / np.linalg.norm(w.reshape(2, -1), 2)       # spectral_norm's scaling
    >>> bad = cp.check_lipschitz(lambda x: cp.conv(spec, x, w_sn), 1.0, (2, 6, 6), seed=0,
    ...                          max_examples=20)
    >>> bool(bad), bad.ratio > 1
    (False, True)
    >>> up = cp.operator_norm(spec, (2, 6, 6), w).upper
    >>> good = cp.check_lipschitz(lambda x: cp.conv(spec, x, w / up), 1.0, (2, 6, 6), seed=0,
    ...                           max_examples=20)
    >>> bool(good)
    True
    """
    if not callable(fn):
        raise ConvProofError(f"fn must be callable, got fn={fn!r}")
    if isinstance(bound, bool) or not isinstance(bound, int | float) or not bound >= 0:
        raise ConvProofError(f"bound must be a number >= 0, got bound={bound!r}")
    try:
        shape = tuple(int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ConvProofError(
            f"input_shape must be a tuple of ints, got input_shape={input_shape!r}"
        ) from None
    if len(shape) < 2 or any(v < 1 for v in shape):
        raise ConvProofError(
            f"input_shape must be (C, *spatial) with sizes >= 1, got input_shape={input_shape!r}"
        )
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ConvProofError(f"max_examples must be an int >= 1, got max_examples={max_examples!r}")
    limit = float(bound) * (1 + rtol)
    certified = None
    examples = 0
    best = 0.0
    zero = np.zeros(shape)
    if (spec is None) != (weight is None):
        raise ConvProofError("spec and weight must be given together, got only one of them")
    if spec is not None:
        certified = operator_norm(spec, shape, weight)
        x = certified.vector.astype(np.float64)
        x = x / np.linalg.norm(x)
        ratio = _ratio(fn, x, zero)
        examples += 1
        best = max(best, ratio)
        if ratio > limit:
            return LipschitzCheck(
                False,
                float(bound),
                best,
                (x, zero),
                ratio,
                certified,
                examples,
                "certified vector",
            )
    rng = np.random.default_rng(seed)
    spatial = shape[1:]
    freqs: list[tuple[int, ...]] = [tuple(0 for _ in spatial), tuple(n // 2 for n in spatial)]
    for _ in range(6):
        freqs.append(tuple(int(rng.integers(0, n)) for n in spatial))
    if shape[0] * 2 * len(freqs) <= 4096:
        ratio, probe = _probe_attack(fn, shape, freqs)
        examples += shape[0] * 2 * len(freqs)
        best = max(best, ratio)
        if probe is not None and ratio > limit:
            return LipschitzCheck(
                False,
                float(bound),
                best,
                (probe, zero),
                ratio,
                certified,
                examples,
                "spectral probe",
            )
    found = _hypothesis_search(fn, shape, limit, max_examples, seed)
    examples += found[2]
    best = max(best, found[1])
    if found[0] is not None:
        x, y = found[0]
        return LipschitzCheck(
            False,
            float(bound),
            best,
            (x, y),
            _ratio(fn, x, y),
            certified,
            examples,
            "hypothesis",
        )
    return LipschitzCheck(True, float(bound), best, None, None, certified, examples, "none")


def _hypothesis_search(
    fn: Callable[[np.ndarray], Any],
    shape: tuple[int, ...],
    limit: float,
    max_examples: int,
    seed: int | None,
) -> tuple[tuple[np.ndarray, np.ndarray] | None, float, int]:
    from hypothesis import HealthCheck, given, settings, target
    from hypothesis import seed as hseed
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    spatial = shape[1:]
    elems = st.floats(-1.0, 1.0, allow_nan=False, width=64)
    wave = st.tuples(
        st.tuples(*[st.integers(0, n - 1) for n in spatial]),
        arrays(np.float64, (shape[0],), elements=elems),
        st.floats(0.0, 2 * math.pi, allow_nan=False),
    )
    state: dict[str, Any] = {"best": 0.0, "n": 0, "pair": None}

    def build(base: np.ndarray, kind: Any, scale: float) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(kind, np.ndarray):
            h = kind
        elif isinstance(kind, int):  # one coordinate (a local slope of a nonlinear fn)
            h = np.zeros(shape)
            h.flat[kind] = 1.0
        else:
            f, coef, phase = kind
            grids = np.meshgrid(*[np.arange(n) for n in spatial], indexing="ij")
            theta = sum(2 * np.pi * fi * g / n for fi, g, n in zip(f, grids, spatial)) + phase
            h = coef.reshape((-1,) + (1,) * len(spatial)) * np.cos(theta)[None]
        return base, base + scale * h

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=seed is not None,
    )
    @given(
        base=st.one_of(
            arrays(np.float64, shape, elements=elems),
            st.integers(0, 2**32 - 1).map(
                lambda k: np.random.default_rng(k).uniform(-1.0, 1.0, shape)
            ),
        ),
        kind=st.one_of(
            wave,
            st.integers(0, math.prod(shape) - 1),
            arrays(np.float64, shape, elements=elems),
        ),
        scale=st.sampled_from([1e-3, 1.0, 1e-2, 10.0]),
    )
    def prop(base: np.ndarray, kind: Any, scale: float) -> None:
        x, y = build(base, kind, scale)
        r = _ratio(fn, x, y)
        state["n"] += 1
        state["best"] = max(state["best"], r)
        target(r, label="ratio")
        if r > limit:
            state["pair"] = (x, y)
            raise AssertionError(f"ratio {r} > {limit}")

    test = prop if seed is None else hseed(seed)(prop)
    try:
        test()
    except AssertionError:
        pass
    return state["pair"], state["best"], state["n"]
