"""Certified upper bounds on ``||T||_2``, each a named theorem, with the floating-point
rounding accounted (the theorems are stated in the Notes of
:func:`convproof.operator_norm`).

* The certificate: :func:`_certified_lambda` proves ``mu I - A`` positive definite by a
  Cholesky factorisation that runs to completion with a margin (Rump 2006), with the
  error bounds of forming ``A`` (:func:`_gram`) and of the symbols (:func:`_model`).
* Circulant embedding (and block-circulant circular layers): :class:`_Model`,
  :func:`_embedding_axes`, :func:`_circulant_bound`, :func:`_best_grid`.
* Explicit Gram matrix of ``conv_matrix``: :func:`_direct_bound`.
* The localised Toeplitz bound (zero padding, stride 1): :func:`_reduced_bound`.
* Singla & Feizi (2021) :func:`_singla_feizi`; Araujo et al. (2021) :func:`_araujo`; and
  :func:`reshaped_weight_norm` (what ``spectral_norm`` normalises: **not** a bound).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec
from convproof.spectrum.linear_map import _Axis, _symbols

__all__: list[str] = []


_U = 2.0**-53  # unit roundoff of IEEE binary64, round to nearest

ARITHMETIC_ASSUMPTIONS = (
    "IEEE-754 binary64 arithmetic with round-to-nearest (unit roundoff u = 2^-53) in NumPy, "
    "BLAS and LAPACK, with the standard error bounds of inner products (|error| <= "
    "gamma_m |a|.|b| for any summation order, constants doubled for complex arithmetic) "
    "and of Cholesky (Demmel 1989; Higham, Accuracy and Stability, Thm 10.3; Rump 2006)",
    "NumPy's cos and sin are accurate to 4 ulp on [0, 2 pi]",
)


# --------------------------------------------------------------------------------------
# the certificate: rounding and Cholesky
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


# --------------------------------------------------------------------------------------
# circulant models and the circulant embedding
# --------------------------------------------------------------------------------------


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


def _embedding_axes(spec: ConvSpec, shape: tuple[int, ...], extra: int) -> tuple[_Axis, ...]:
    """Circulant grids for the embedding of the valid conv on the padded input (Notes of
    :func:`convproof.operator_norm`): per axis ``L`` = the smallest multiple of ``s`` that is at
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


# --------------------------------------------------------------------------------------
# the explicit Gram matrix
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# the localised Toeplitz bound
# --------------------------------------------------------------------------------------


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
    :func:`convproof.operator_norm`, *localised Toeplitz bound*): ``(bound, r, beta)``.

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


# --------------------------------------------------------------------------------------
# Singla & Feizi, Araujo et al., and the reshaped-weight norm
# --------------------------------------------------------------------------------------


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

    Not an upper bound of the operator norm (see :func:`convproof.lipschitz_report`).

    Examples
    --------
    >>> import numpy as np
    >>> from convproof.spectrum.bounds import reshaped_weight_norm
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
