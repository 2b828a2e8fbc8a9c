"""A certified interval ``[lower, upper]`` for a conv layer's largest singular value:
:func:`operator_norm` and its result :class:`OperatorNorm`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec
from convproof.spectrum.bounds import (
    ARITHMETIC_ASSUMPTIONS,
    _best_grid,
    _direct_bound,
    _embedding_axes,
    _model,
    _reduced_bound,
    _reduced_entries,
    _singla_feizi,
    _up,
)
from convproof.spectrum.linear_map import (
    _check,
    _exact_circulant,
    _forward_of,
    _Operator,
    _pad_norm,
)
from convproof.spectrum.lower_bound import _exact_quotient, _lower_vector, _plane_wave, _sqrt_down

__all__ = ["OperatorNorm", "operator_norm"]


_DIRECT_MAX = 4096  # largest Gram matrix side for the explicit-matrix bound
_REDUCED_MAX = 2048  # default size of the reduced (frequency-localised) problem
_REDUCED_STOP = 3e-4  # sizes 512, 1024, ... up to the maximum until the width is below this
_REDUCED_ENTRIES = 1 << 24  # largest stack of per-frequency matrices (complex entries)


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

    *Upper, circular and block-circulant* (see :func:`convproof.singular_values`):
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
    (polyphase, :func:`convproof.singular_values`) is then bounded rigorously: for the computed
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
    localised Toeplitz bound ``1.8e-4`` (3 x 3) and ``8.1e-4`` (5 x 5), without it
    (``reduced=0``, circulant embedding) ``8.7e-4`` and ``2.5e-3`` (He-normal weights, seed 0).

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
