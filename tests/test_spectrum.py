"""Singular values, certified operator norms and the Lipschitz tools (convproof.spectrum).

Every expected value comes from elsewhere: the dense SVD of ``conv_matrix(...).toarray()``
(LAPACK on the explicit matrix), closed forms worked by hand (circulant eigenvalues), and the
loop reference ``tests/reference.py`` evaluated in exact ``Fraction`` arithmetic.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import convproof as cp
from convproof.errors import ConvProofError
from convproof.spectrum import bounds, linear_map, lower_bound
from convproof.spectrum import operator_norm as norm_module
from convproof.spectrum import singular_values as sv_module
from tests.reference import ref_conv


def dense_svals(spec, shape, w):
    return np.linalg.svd(cp.conv_matrix(spec, shape, w).toarray(), compute_uv=False)


def spec_of(in_channels=1, out_channels=1, **kw):
    """A conv layer without bias: its operator is the linear part."""
    return cp.ConvSpec(in_channels=in_channels, out_channels=out_channels, bias=False, **kw)


def drawn_layer(draw, cin, cout, ns, **kw):
    """A drawn layer: ``spec_of`` (per-axis lists made tuples), seeded normal weights and
    the input shape ``(cin, *ns)``."""
    spec = spec_of(cin, cout, **{k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()})
    seed = draw(st.integers(0, 2**32 - 1))
    return spec, (cin, *ns), np.random.default_rng(seed).standard_normal(spec.weight_shape)


def draw_channels(draw, max_out):
    """``(groups, in_channels, out_channels)``: 1-2 groups, per group 1-2 in, 1-``max_out`` out."""
    groups = draw(st.integers(1, 2))
    return groups, groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, max_out))


def draw_taps(draw, max_stride):
    """One axis: kernel size 1-3, stride 1-``max_stride``, dilation 1-2 and the effective kernel."""
    k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, max_stride)), draw(st.integers(1, 2))
    return k, s, d, d * (k - 1) + 1


def axes_layer(draw, cin, cout, groups, axes, padding_mode):
    """``drawn_layer`` from per-axis ``(kernel, stride, dilation, (left, right), size)``."""
    ks, ss, ds, pads, ns = (list(v) for v in zip(*axes))
    return drawn_layer(
        draw, cin, cout, ns, kernel_size=ks, stride=ss, dilation=ds, padding=pads, groups=groups,
        padding_mode=padding_mode,
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# hand-worked closed forms
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 4, 5, 8])
def test_circular_second_difference_closed_form(n):
    # circulant with taps [1, -2, 1]: eigenvalues -2 + 2 cos(2 pi j / n), j = 0..n-1
    spec = spec_of(1, 1, kernel_size=3, padding=1, padding_mode="circular", ndim=1)
    expected = sorted((abs(-2 + 2 * math.cos(2 * math.pi * j / n)) for j in range(n)), reverse=True)
    got = cp.singular_values(spec, (1, n), np.array([[[1.0, -2.0, 1.0]]]))
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_strided_pairs_closed_form():
    # stride 2, kernel [3, 4] on 6 inputs: three disjoint pairs, each |(3, 4)| = 5
    spec = spec_of(1, 1, kernel_size=2, stride=2, padding_mode="circular", ndim=1)
    np.testing.assert_allclose(cp.singular_values(spec, (1, 6), np.array([[[3.0, 4.0]]])), [5] * 3)


def test_repeated_rows_scale_by_sqrt_m():
    # circular padding 2 on both sides of n=2 with a 1-tap kernel: o = 6 = 3 copies of each
    # input, so T^T T = 3 I and every singular value is sqrt(3) * |w|
    spec = spec_of(1, 1, kernel_size=1, padding=2, padding_mode="circular", ndim=1)
    got = cp.singular_values(spec, (1, 2), np.array([[[2.0]]]))
    np.testing.assert_allclose(got, [2 * math.sqrt(3)] * 2)
    r = cp.operator_norm(spec, (1, 2), np.array([[[2.0]]]))
    assert r.lower_squared == 12 and r.lower <= 2 * math.sqrt(3) <= r.upper < r.lower * (1 + 1e-8)
    assert any("m=3" in name for name in r.bounds)


# --------------------------------------------------------------------------------------
# circular padding: every singular value against the dense SVD
# --------------------------------------------------------------------------------------


@st.composite
def circulant_layers(draw):
    """Circular layers that are block-circulant: per axis o * g = n * m (see the Notes)."""
    ndim = draw(st.integers(1, 2))
    groups, cin, cout = draw_channels(draw, max_out=2)
    axes = []
    for _ in range(ndim):
        k, s, d, keff = draw_taps(draw, max_stride=3)
        lo_n = max(1, -(-keff // s))
        N = draw(st.integers(lo_n, lo_n + 2))
        n = s * N
        lo, hi = max(0, keff - s), keff - 1  # total padding giving o = N
        total = draw(st.integers(lo, min(hi, 2 * n)))
        left = draw(st.integers(max(0, total - n), min(total, n)))
        axes.append((k, s, d, (left, total - left), n))
    return axes_layer(draw, cin, cout, groups, axes, "circular")


@given(circulant_layers())
def test_circular_all_singular_values_match_dense_svd(layer):
    spec, shape, w = layer
    assert linear_map._exact_circulant(spec, shape) is not None  # the FFT route is used
    got = cp.singular_values(spec, shape, w)
    expected = dense_svals(spec, shape, w)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-9 * max(1.0, expected[0]))


@pytest.mark.parametrize(
    ("kw", "n"),
    [
        (dict(kernel_size=3, stride=2, padding=1), 8),  # strided, 2-D
        (dict(kernel_size=3, stride=2, padding=2, dilation=2), 8),  # strided + dilated
        (dict(kernel_size=3, stride=3, padding=1), 9),  # stride 3, polyphase with 9 phases
        (dict(kernel_size=2, stride=2, padding=0, groups=2), 6),  # groups
        (dict(kernel_size=(3, 1), stride=(1, 2), padding=((2, 0), (0, 0))), 6),  # one-sided
    ],
)
def test_circular_strided_table_matches_dense(kw, n):
    spec = spec_of(2, 4, padding_mode="circular", **kw)
    shape = (2, n, n)
    assert linear_map._exact_circulant(spec, shape) is not None
    w = np.random.default_rng(3).standard_normal(spec.weight_shape)
    np.testing.assert_allclose(
        cp.singular_values(spec, shape, w), dense_svals(spec, shape, w), atol=1e-10
    )


def test_circular_3d_matches_dense():
    spec = spec_of(
        2, 2, kernel_size=2, stride=(1, 2, 1), padding=((1, 0),) * 3, padding_mode="circular"
    )
    shape = (2, 3, 4, 3)
    assert linear_map._exact_circulant(spec, shape) is not None
    w = np.random.default_rng(4).standard_normal(spec.weight_shape)
    np.testing.assert_allclose(
        cp.singular_values(spec, shape, w), dense_svals(spec, shape, w), atol=1e-10
    )


def test_uneven_circular_selection_is_not_treated_as_circulant():
    # n = 8, stride 2, k_eff 5, padding 1+1: o = 3 rows of the 4-row strided circulant
    spec = spec_of(2, 3, kernel_size=3, stride=2, dilation=2, padding=1, padding_mode="circular")
    shape = (2, 8, 8)
    assert linear_map._exact_circulant(spec, shape) is None
    w = np.random.default_rng(5).standard_normal(spec.weight_shape)
    # the polyphase formula applied anyway would be wrong here: the check is meaningful
    wrong = sv_module._svals_circulant(w, spec, [linear_map._Axis(8, 1, 2, 1)] * 2)
    expected = dense_svals(spec, shape, w)
    assert abs(wrong[0] - expected[0]) > 1e-3
    np.testing.assert_allclose(cp.singular_values(spec, shape, w), expected, atol=1e-10)


# --------------------------------------------------------------------------------------
# other padding modes: the top k by ARPACK on the matrix-free operator
# --------------------------------------------------------------------------------------


MODES = ["zeros", "reflect", "replicate", "circular"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=3, padding=1),
        dict(kernel_size=3, stride=2, padding=(2, 1), dilation=(1, 2)),
        dict(kernel_size=(2, 3), padding=((1, 0), (2, 1)), groups=2),
    ],
)
def test_adjoint_is_the_transpose(mode, kw):
    spec = spec_of(2, 4, padding_mode=mode, **kw)
    shape = (2, 7, 8)
    w = np.random.default_rng(6).standard_normal(spec.weight_shape)
    op = linear_map._Operator(spec, shape, w)
    T = cp.conv_matrix(spec, shape, w)
    y = np.random.default_rng(7).standard_normal(T.shape[0])
    x = np.random.default_rng(8).standard_normal(T.shape[1])
    np.testing.assert_allclose(op.rmatvec(y), T.T @ y, atol=1e-12)
    np.testing.assert_allclose(op.matvec(x), T @ x, atol=1e-12)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate"])
@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=3, padding=1),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=3, padding=2, dilation=2, groups=2),
    ],
)
def test_top_k_matches_dense(mode, kw):
    spec = spec_of(2, 4, padding_mode=mode, **kw)
    shape = (2, 9, 8)
    w = np.random.default_rng(9).standard_normal(spec.weight_shape)
    got = cp.singular_values(spec, shape, w, k=3)
    np.testing.assert_allclose(got, dense_svals(spec, shape, w)[:3], rtol=1e-7)


@pytest.mark.parametrize("stride", [1, 2])
def test_transposed_conv_has_the_forward_singular_values(stride):
    t = cp.ConvTransposeSpec(
        in_channels=4,
        out_channels=6,
        kernel_size=3,
        stride=stride,
        padding=(1, (0, 2)),
        output_padding=stride - 1,
        groups=2,
        dilation=(1, 2),
        bias=False,
    )
    shape = (4, 5, 6)
    w = np.random.default_rng(18).standard_normal(t.weight_shape)
    expected = dense_svals(t, shape, w)  # the transposed layer's own matrix
    np.testing.assert_allclose(cp.singular_values(t, shape, w, k=4), expected[:4], rtol=1e-7)
    r = cp.operator_norm(t, shape, w)
    assert r.lower <= expected[0] <= r.upper and "adjoint" in r.scope
    assert r.vector.shape == t.output_shape(shape)


def test_all_values_of_a_small_zero_padded_layer():
    spec = spec_of(1, 2, kernel_size=3, padding=1)
    w = np.random.default_rng(10).standard_normal(spec.weight_shape)
    np.testing.assert_allclose(
        cp.singular_values(spec, (1, 5, 5), w), dense_svals(spec, (1, 5, 5), w), atol=1e-12
    )


# --------------------------------------------------------------------------------------
# certified intervals
# --------------------------------------------------------------------------------------


@st.composite
def any_layers(draw):
    ndim = draw(st.integers(1, 2))
    groups, cin, cout = draw_channels(draw, max_out=3)
    mode = draw(st.sampled_from(MODES))
    axes = []
    for _ in range(ndim):
        k, s, d, keff = draw_taps(draw, max_stride=2)
        n = draw(st.integers(max(keff, 3), 7))
        pmax = {"zeros": keff, "circular": min(keff, n), "reflect": n - 1, "replicate": keff}
        left = draw(st.integers(0, min(2, pmax[mode])))
        right = draw(st.integers(0, min(2, pmax[mode])))
        axes.append((k, s, d, (left, right), n))
    return axes_layer(draw, cin, cout, groups, axes, mode)


@given(any_layers())
def test_certified_interval_contains_dense_largest_value(layer):
    spec, shape, w = layer
    r = cp.operator_norm(spec, shape, w)
    top = dense_svals(spec, shape, w)[0]
    assert r and r.status == "verified"
    assert r.lower <= top * (1 + 1e-12)
    assert top <= r.upper
    for value in r.bounds.values():  # every named bound is a bound
        assert top <= value
    # Araujo et al.'s bound, times ||P|| (sqrt(m) for repeated circular rows)
    exact = linear_map._exact_circulant(spec, shape)
    factor = (
        math.sqrt(math.prod(a.m for a in exact))
        if exact is not None
        else linear_map._pad_norm(linear_map._pad_maps(spec, shape))
    )
    assert top <= bounds._araujo(w, spec) * factor * (1 + 1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_circular_interval_is_tight_and_others_contain(mode):
    spec = spec_of(3, 4, kernel_size=3, padding=1, padding_mode=mode)
    shape = (3, 8, 8)
    w = np.random.default_rng(11).standard_normal(spec.weight_shape)
    r = cp.operator_norm(spec, shape, w)
    top = dense_svals(spec, shape, w)[0]
    assert r.lower <= top <= r.upper
    assert abs(r.lower - top) <= 1e-9 * top  # the Lanczos vector is the top one
    if mode == "circular":
        assert r.width < 1e-8
        assert r.theorem.startswith("block-circulant")
    if mode != "circular":  # small enough for the explicit Gram matrix: rounding only
        assert r.width < 1e-8
        assert r.theorem.startswith("explicit Gram matrix")


@pytest.mark.parametrize(
    ("kw", "shape"),
    [
        (dict(in_channels=4, out_channels=6, kernel_size=5, padding=2, ndim=1), (4, 1100)),
        (
            dict(
                in_channels=8,
                out_channels=8,
                kernel_size=3,
                stride=2,
                dilation=2,
                padding=(2, 1),
                groups=2,
            ),
            (8, 48, 52),
        ),
        (dict(in_channels=4, out_channels=4, kernel_size=3, padding=1, ndim=3), (4, 12, 12, 12)),
        (
            dict(in_channels=8, out_channels=8, kernel_size=3, padding=1, padding_mode="reflect"),
            (8, 24, 24),
        ),
    ],
)
def test_embedding_interval_contains_arpack_on_the_explicit_matrix(kw, shape):
    # too large for the explicit-Gram bound: the circulant embedding (or Singla & Feizi)
    # certifies; the reference is ARPACK on conv_matrix, an independent route
    from scipy.sparse.linalg import svds

    spec = spec_of(**kw)
    w = np.random.default_rng(20).standard_normal(spec.weight_shape)
    T = cp.conv_matrix(spec, shape, w)
    assert min(T.shape) > norm_module._DIRECT_MAX
    top = svds(T, k=1, tol=1e-12, return_singular_vectors=False)[0]
    r = cp.operator_norm(spec, shape, w, grids=2)
    assert r.status == "verified" and not r.theorem.startswith("explicit")
    assert r.lower <= top * (1 + 1e-9) and top <= r.upper
    assert r.lower >= top * (1 - 1e-5)


def test_lower_is_the_exact_rayleigh_quotient_of_its_vector():
    spec = spec_of(2, 3, kernel_size=3, stride=2, padding=1, groups=1, padding_mode="reflect")
    shape = (2, 5, 6)
    w = np.random.default_rng(12).standard_normal(spec.weight_shape) / 3
    r = cp.operator_norm(spec, shape, w)
    x = r.vector
    assert x.dtype == np.int64 and x.shape == shape
    # independent exact evaluation: the loop reference on Fractions
    xf = np.array([Fraction(int(v)) for v in x.ravel()], dtype=object).reshape(shape)
    wf = np.array([Fraction(float(v)) for v in w.ravel()], dtype=object).reshape(w.shape)
    y = ref_conv(spec, xf, wf)
    num = sum(v * v for v in y.ravel())
    den = sum(int(v) ** 2 for v in x.ravel())
    assert r.lower_squared == Fraction(num) / den
    # lower is sqrt rounded down, and within a few ulp
    assert Fraction(r.lower) ** 2 <= r.lower_squared
    assert Fraction(math.nextafter(r.lower, math.inf) * (1 + 4e-16)) ** 2 > r.lower_squared


def test_sqrt_down_is_a_lower_bound():
    for q in [Fraction(2), Fraction(1, 3), Fraction(10**40 + 1, 7), Fraction(1, 10**30)]:
        s = lower_bound._sqrt_down(q)
        assert Fraction(s) ** 2 <= q < Fraction(math.nextafter(s, math.inf) * (1 + 1e-15)) ** 2


def test_weight_digits_are_exact():
    w = np.array([1.0, -3.5e-7, 2.0**-60 + 1.0, 0.0, 123456.789, -(2.0**-1070)])
    digits = lower_bound._weight_digits(w, 19)
    total = [sum(Fraction(float(d[i])) * Fraction(2) ** e for e, d in digits) for i in range(6)]
    assert total == [Fraction(float(v)) for v in w]
    assert all(np.abs(d).max() < 2**19 for _, d in digits)


# --------------------------------------------------------------------------------------
# planted defects: wrong "upper bounds" are refuted by the dense SVD
# --------------------------------------------------------------------------------------


def test_reshaped_weight_norm_is_not_an_upper_bound():
    spec = spec_of(3, 8, kernel_size=3, padding=1)
    shape = (3, 8, 8)
    w = np.random.default_rng(13).standard_normal(spec.weight_shape)
    top = dense_svals(spec, shape, w)[0]
    reshaped = bounds.reshaped_weight_norm(w)
    assert reshaped < top  # the planted "upper bound" fails
    r = cp.operator_norm(spec, shape, w)
    assert reshaped < r.lower  # and the certificate proves it
    assert top <= math.sqrt(9) * reshaped  # while sqrt(prod k) x reshaped holds


def test_circulant_on_the_unpadded_grid_is_not_a_bound_for_zero_padding():
    # the embedding needs L >= n + padding; on L = n the circulant norm can be too small
    spec = spec_of(1, 1, kernel_size=2, padding=1, ndim=1)
    w = np.array([[[1.0, 1.0]]])
    top = dense_svals(spec, (1, 3), w)[0]  # zero-padded [1, 1] on 3 inputs: 2 cos(pi/5) ...
    too_small = sv_module._svals_circulant(w, spec, [linear_map._Axis(2, 0, 1, 1)])[0]
    assert too_small < top or math.isclose(too_small, 2.0)
    up, _ = bounds._circulant_bound(w, spec, bounds._embedding_axes(spec, (1, 3), 0))
    assert top <= up


# --------------------------------------------------------------------------------------
# the localised Toeplitz bound (zero padding): sound, exact when nothing is cut, and
# planted wrong versions of it are refuted by the dense SVD
# --------------------------------------------------------------------------------------


@st.composite
def zero_layers(draw):
    ndim = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 1, 2]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    ks, ds, pads, ns = [], [], [], []
    for _ in range(ndim):
        k = draw(st.integers(1, 3 if ndim < 3 else 2))
        d = draw(st.integers(1, 2))
        keff = d * (k - 1) + 1
        n = draw(st.integers(max(keff, 2), 6 if ndim < 3 else 3))
        pads.append((draw(st.integers(0, keff)), draw(st.integers(0, keff))))
        ks.append(k), ds.append(d), ns.append(n)
    layer = drawn_layer(
        draw, cin, cout, ns, kernel_size=ks, dilation=ds, padding=pads, groups=groups
    )
    return (*layer, draw(st.sampled_from([1, 2, 5, 10**6])))


def full_conv(spec):
    """The same layer with padding (k - 1) d per side: every output the input reaches."""
    return spec_of(
        spec.in_channels,
        spec.out_channels,
        kernel_size=spec.kernel_size,
        dilation=spec.dilation,
        padding=tuple((k - 1) * d for k, d in zip(spec.kernel_size, spec.dilation)),
        groups=spec.groups,
    )


@given(zero_layers())
def test_localised_bound_contains_dense_largest_value(layer):
    spec, shape, w, rmax = layer
    bound, _, _ = bounds._reduced_bound(spec, shape, w, rmax)
    top = dense_svals(spec, shape, w)[0]
    assert top <= bound
    if rmax == 10**6:  # nothing cut: the bound is the full convolution's norm (rounding only)
        full = dense_svals(full_conv(spec), shape, w)[0]
        assert bound == pytest.approx(full, rel=2e-9, abs=1e-9)


def test_localised_bound_sees_the_boundary():
    # 1 channel, taps [1, 1], no padding, n inputs (hand-worked): the full conv is the
    # (n + 1) x n bidiagonal matrix of ones, T^T T = 2 I + (shift + shift^T), eigenvalues
    # 2 + 2 cos(pi j / (n + 1)): norm 2 cos(pi / (2 (n + 1))); the valid conv's
    # (n - 1 outputs) is 2 cos(pi / (2 n)).  The symbol's sup is 2: every circulant bound
    # stays at 2 (frequency 0 is on every grid)
    n = 12
    spec = spec_of(1, 1, kernel_size=2, ndim=1)
    w = np.array([[[1.0, 1.0]]])
    full = 2 * math.cos(math.pi / (2 * (n + 1)))
    bound, rows, _ = bounds._reduced_bound(spec, (1, n), w, 10**6)
    assert rows == n + 1  # every frequency of the grid L = n + 1
    assert bound == pytest.approx(full, rel=2e-9)  # the certificate: mu (1 + 1e-9)
    assert 2 * math.cos(math.pi / (2 * n)) <= bound
    up, _ = bounds._circulant_bound(w, spec, bounds._embedding_axes(spec, (1, n), 0))
    assert up >= 2.0 > full + 1e-2


@pytest.mark.parametrize(
    "kw",
    [
        dict(in_channels=3, out_channels=4, kernel_size=3, padding=1),
        dict(in_channels=2, out_channels=4, kernel_size=(3, 2), padding=(1, 0), groups=2),
        dict(in_channels=2, out_channels=3, kernel_size=3, padding=2, dilation=2),
    ],
)
def test_operator_norm_uses_the_localised_bound(kw, monkeypatch):
    # the explicit Gram matrix is switched off so that these small layers take the path of
    # the large ones; the interval must contain the dense SVD's value and be tight
    monkeypatch.setattr(norm_module, "_DIRECT_MAX", 0)
    spec = spec_of(**kw)
    shape = (spec.in_channels, 9, 10)
    w = np.random.default_rng(5).standard_normal(spec.weight_shape)
    top = dense_svals(spec, shape, w)[0]
    r = cp.operator_norm(spec, shape, w)
    assert r and r.lower <= top <= r.upper
    name = next(b for b in r.bounds if b.startswith("localised"))
    assert top <= r.bounds[name]
    off = cp.operator_norm(spec, shape, w, reduced=0)
    assert not any(b.startswith("localised") for b in off.bounds)
    assert r.upper <= off.upper
    t = cp.ConvTransposeSpec(
        in_channels=spec.out_channels,
        out_channels=spec.in_channels,
        kernel_size=spec.kernel_size,
        padding=spec.padding,
        dilation=spec.dilation,
        groups=spec.groups,
        bias=False,
    )
    out = spec.output_shape(shape)
    rt = cp.operator_norm(t, out, w)
    assert rt and rt.lower <= top <= rt.upper


PLANTED = {
    # beta, the level of the dropped eigen-directions, left out
    "no beta": (
        "math.sqrt(_up(beta_cert + nu + e_g, 3))",
        "math.sqrt(_up(nu + e_g, 3))",
    ),
    # a window one sample short: the plane waves are cut to n - 1 positions
    "short window": ("j = np.arange(n)", "j = np.arange(n - 1)"),
    # the mirrored frequencies -f reuse u_f instead of conj(u_f)
    "mirror without conjugate": ("V[m].conj()", "V[m]"),
    # a grid one too small: the full convolution wraps around
    "grid too small": ("Ls = [n + (k - 1) * d", "Ls = [n + (k - 1) * d - 1"),
}


@pytest.mark.parametrize("defect", sorted(PLANTED))
def test_planted_wrong_localised_bounds_are_refuted(defect):
    import inspect

    old, new = PLANTED[defect]
    src = inspect.getsource(bounds._reduced_bound)
    assert src.count(old) == 1
    namespace = dict(vars(bounds))
    exec(src.replace(old, new), namespace)
    planted = namespace["_reduced_bound"]
    refuted = 0
    rng = np.random.default_rng(2)
    for _ in range(12):
        ndim = int(rng.integers(1, 3))
        ks = tuple(int(rng.integers(2, 4)) for _ in range(ndim))
        spec = spec_of(
            int(rng.integers(1, 3)),
            int(rng.integers(1, 3)),
            kernel_size=ks,
            padding=tuple(k // 2 for k in ks),
        )
        shape = (spec.in_channels, *(int(rng.integers(3, 7)) for _ in range(ndim)))
        w = rng.standard_normal(spec.weight_shape)
        top = dense_svals(spec, shape, w)[0]
        good = min(bounds._reduced_bound(spec, shape, w, r)[0] for r in (2, 6, 10**6))
        assert top <= good  # the real one holds on the same layers
        try:
            bad = min(planted(spec, shape, w, r)[0] for r in (2, 6, 10**6))
        except (ValueError, IndexError, ConvProofError):
            continue
        refuted += bad < top
    assert refuted >= 1


# --------------------------------------------------------------------------------------
# lipschitz_report
# --------------------------------------------------------------------------------------


def small_net():
    c1 = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, padding=1)
    c2 = cp.ConvSpec(in_channels=3, out_channels=2, kernel_size=3, stride=2, groups=1)
    return cp.Network([("c1", c1), ("relu", cp.Activation()), ("c2", c2)], name="tiny")


def test_lipschitz_report_rows_against_dense():
    net = small_net()
    rng = np.random.default_rng(14)
    weights = {"c1": rng.standard_normal((3, 2, 3, 3)), "c2": rng.standard_normal((2, 3, 3, 3))}
    rep = cp.lipschitz_report(net, (2, 8, 8), weights=weights)
    assert [r.name for r in rep] == ["c1", "c2"]
    shapes = {"c1": (2, 8, 8), "c2": (3, 8, 8)}
    for row in rep:
        spec = next(n.layer for n in net.nodes if n.name == row.name)
        assert row.input_shape == shapes[row.name]
        top = dense_svals(spec, shapes[row.name], weights[row.name])[0]
        assert row.norm.lower <= top <= row.norm.upper
        assert top <= row.singla_feizi and top <= row.araujo and top <= row.sqrt_k
        assert row.reshaped == pytest.approx(
            np.linalg.svd(weights[row.name].reshape(weights[row.name].shape[0], -1))[1][0]
        )
    assert rep.products["upper"] == pytest.approx(rep["c1"].norm.upper * rep["c2"].norm.upper)
    md = rep.to_markdown()
    assert "| c1 |" in md and "**Product**" in md and "Weights: given" in md
    data = json.loads(rep.to_json())
    assert data["rows"][1]["name"] == "c2" and data["products"]["upper"] > 0


def test_lipschitz_report_includes_transposed_convs():
    up = cp.ConvTransposeSpec(in_channels=3, out_channels=2, kernel_size=2, stride=2, bias=False)
    net = cp.Network([("c1", small_net().nodes[0].layer), ("up", up)])
    w = np.random.default_rng(19).standard_normal(up.weight_shape)
    rep = cp.lipschitz_report(net, (2, 4, 4), weights={"up": w})
    assert [r.name for r in rep] == ["c1", "up"]
    top = dense_svals(up, (3, 4, 4), w)[0]
    assert rep["up"].norm.lower <= top <= rep["up"].norm.upper
    assert "seed 0" in rep.weights_note  # c1 had no weight given


def test_lipschitz_report_random_weights_are_stated():
    rep = cp.lipschitz_report(small_net(), (2, 8, 8), seed=3)
    assert "seed 3" in rep.weights_note
    assert all(r.norm.status == "verified" for r in rep)


def test_lipschitz_report_torch(torch):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(4, 4, 3, stride=2, padding=1, padding_mode="circular", groups=2),
    )
    rep = cp.lipschitz_report(model, (2, 8, 8))
    assert [r.name for r in rep] == ["0", "2"]
    assert rep.weights_note == "the torch module's parameters"
    for row, mod, shape in zip(rep, [model[0], model[2]], [(2, 8, 8), (4, 8, 8)]):
        spec = spec_of(
            mod.in_channels,
            mod.out_channels,
            kernel_size=3,
            stride=mod.stride,
            padding=mod.padding,
            groups=mod.groups,
            padding_mode=mod.padding_mode,
        )
        w = mod.weight.detach().double().numpy()
        top = dense_svals(spec, shape, w)[0]
        assert row.norm.lower <= top <= row.norm.upper


# --------------------------------------------------------------------------------------
# check_lipschitz
# --------------------------------------------------------------------------------------


def _layer(seed, mode="zeros"):
    spec = cp.ConvSpec(
        in_channels=3, out_channels=4, kernel_size=3, padding=1, padding_mode=mode, bias=True
    )
    w = np.random.default_rng(seed).standard_normal(spec.weight_shape)
    b = np.random.default_rng(seed + 1).standard_normal(4)
    return spec, w, b


@pytest.mark.parametrize("mode", ["zeros", "circular"])
def test_check_lipschitz_passes_layers_that_meet_their_claim(mode):
    spec, w, b = _layer(15, mode)
    up = cp.operator_norm(spec, (3, 6, 6), w).upper
    res = cp.check_lipschitz(
        lambda x: cp.conv(spec, x, w / up, b), 1.0, (3, 6, 6), seed=0, max_examples=20
    )
    assert res and res.passed and res.counterexample is None
    assert res.max_ratio <= 1.0 + 1e-9


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect"])
def test_check_lipschitz_catches_spectral_norm_style_normalisation(mode):
    spec, w, b = _layer(16, mode)
    w_sn = w / bounds.reshaped_weight_norm(w)  # torch.nn.utils.spectral_norm's scaling
    true = dense_svals(spec, (3, 6, 6), w_sn)[0]
    assert true > 1  # the claim "1-Lipschitz" is false
    res = cp.check_lipschitz(lambda x: cp.conv(spec, x, w_sn, b), 1.0, (3, 6, 6), seed=0)
    assert not res
    x, y = res.counterexample
    fx, fy = cp.conv(spec, x, w_sn, b), cp.conv(spec, y, w_sn, b)
    assert np.linalg.norm(fx - fy) > np.linalg.norm(x - y)  # a real violation
    assert 1 < res.ratio <= true * (1 + 1e-9)


def test_check_lipschitz_with_spec_reports_the_certificate():
    spec, w, b = _layer(17)
    w_sn = w / bounds.reshaped_weight_norm(w)
    res = cp.check_lipschitz(
        lambda x: cp.conv(spec, x, w_sn, b), 1.0, (3, 6, 6), spec=spec, weight=w_sn
    )
    assert not res and res.method == "certified vector"
    assert res.certified is not None and res.certified.lower > 1
    assert "certified" in str(res)


def test_check_lipschitz_hypothesis_finds_a_nonlinear_violation():
    # f(x) = 3 clip(x - 0.5, -0.25, 0.25): slope 3 only on [0.25, 0.75], claimed 2.  The
    # plane-wave probes around 0 see ratios of at most 1.5; the (seeded, derandomized)
    # Hypothesis search must find a pair inside the steep band and shrink it
    def f(x):
        return 3 * np.clip(x - 0.5, -0.25, 0.25)

    res = cp.check_lipschitz(f, 2.0, (2, 4), seed=0)
    assert not res and res.method == "hypothesis"
    x, y = res.counterexample
    assert np.linalg.norm(f(x) - f(y)) > 2 * np.linalg.norm(x - y)


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------

SPEC = spec_of(1, 1, kernel_size=3, padding=1)
W = np.ones((1, 1, 3, 3))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cp.singular_values("conv", (1, 4, 4), W), "spec must be a ConvSpec"),
        (
            lambda: cp.singular_values(
                cp.ConvTransposeSpec(
                    in_channels=1,
                    out_channels=1,
                    kernel_size=3,
                    stride=1,
                    dilation=2,
                    output_padding=1,
                ),
                (1, 4, 4),
                W,
            ),
            "output_padding must be smaller than the stride",
        ),
        (
            lambda: cp.singular_values(cp.PoolSpec(kind="avg", kernel_size=2), (1, 4, 4), W),
            "spec must be a ConvSpec",
        ),
        (lambda: cp.singular_values(SPEC, (2, 1, 4, 4), W), "one sample"),
        (lambda: cp.singular_values(SPEC, (1, 4, 4), np.ones((1, 1, 2, 2))), "weight must be"),
        (lambda: cp.singular_values(SPEC, (1, 4, 4), W * np.nan), "finite"),
        (lambda: cp.singular_values(SPEC, (1, 4, 4), W, k=0), "k must be an int"),
        (lambda: cp.singular_values(SPEC, (1, 4, 4), W, k=17), "k must be an int"),
        (lambda: cp.singular_values(SPEC, (2, 4, 4), W), "channels"),
        (lambda: cp.singular_values(SPEC, (1, 300, 300), W), "k must be given"),
        (lambda: cp.operator_norm(SPEC, (1, 4, 4), W, grids=0), "grids must be"),
        (lambda: cp.operator_norm(SPEC, (1, 4, 4), W, tol=2.0), "tol must be"),
        (lambda: cp.lipschitz_report("net", (1, 4, 4)), "model must be"),
        (lambda: cp.check_lipschitz(3, 1.0, (1, 4)), "fn must be callable"),
        (lambda: cp.check_lipschitz(abs, -1.0, (1, 4)), "bound must be"),
        (lambda: cp.check_lipschitz(abs, 1.0, (4,)), "input_shape must be"),
        (lambda: cp.check_lipschitz(abs, 1.0, (1, 4), max_examples=0), "max_examples must be"),
        (lambda: cp.check_lipschitz(abs, 1.0, (1, 4, 4), spec=SPEC), "spec and weight"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(cp.ConvProofError, match=match):
        call()


def test_result_rendering():
    r = cp.operator_norm(SPEC, (1, 4, 4), W)
    text = str(r)
    assert text.startswith("VERIFIED:") and "upper:" in text and "assumes:" in text
    d = json.loads(json.dumps(r.to_dict()))
    assert d["status"] == "verified" and d["vector_shape"] == [1, 4, 4]
    assert r.lower in r and bool(r)
