"""Data and weight layouts: parsing, conv / conv_matrix / prove in a layout, the checkers
calling NHWC / HWIO user code, and problems drawn in a layout.

Expected values never come from convproof.layers.layout: array axes are moved with
``np.einsum`` subscripts written in the test, hand-worked tables, the loop reference
(tests/reference.py), JAX's ``conv_general_dilated`` with NHWC / HWIO dimension numbers and
PyTorch.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.lib.stride_tricks import sliding_window_view

import convproof as cp
from convproof.layers.layout import parse_layout, parse_weight_layout
from tests.reference import reference

JAX_REASON = "JAX is not installed (pip install 'jax[cpu]' runs these oracle tests)"
FEW = settings(max_examples=15, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@pytest.fixture
def jax():
    return pytest.importorskip("jax", reason=JAX_REASON)


def move(a: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Axes named by letters ``src`` rearranged to ``dst`` (einsum: independent of layout.py)."""
    return np.einsum(f"{src.lower()}->{dst.lower()}", a)


def tensor(torch, a: np.ndarray, src: str, dst: str):
    """``a`` moved from ``src`` to ``dst`` as a fresh contiguous tensor (as real code passes)."""
    return torch.from_numpy(np.ascontiguousarray(move(a, src, dst)))


# --------------------------------------------------------------------------------------
# parsing: hand-worked tables
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ndim", "batched", "to_canonical"),
    [
        ("NCHW", None, None, (0, 1, 2, 3)),
        ("NHWC", None, None, (0, 3, 1, 2)),
        ("NWC", None, None, (0, 2, 1)),
        ("NCW", 1, None, (0, 1, 2)),
        ("NDHWC", None, None, (0, 4, 1, 2, 3)),
        ("HWC", None, None, (2, 0, 1)),
        ("CHWN", None, None, (3, 0, 1, 2)),
        ("channels_last", 2, True, (0, 3, 1, 2)),
        ("channels_last", 1, False, (1, 0)),
        ("channels_first", 3, False, (0, 1, 2, 3)),
        (None, 2, True, (0, 1, 2, 3)),
    ],
)
def test_parse_layout_table(text, ndim, batched, to_canonical) -> None:
    lay = parse_layout(text, ndim, batched=batched)
    assert lay.to_canonical_axes == to_canonical
    x = np.arange(np.prod(range(2, 2 + len(to_canonical)))).reshape(range(2, 2 + len(to_canonical)))
    assert np.array_equal(lay.from_canonical(lay.to_canonical(x)), x)


@pytest.mark.parametrize(
    ("text", "spec", "shape", "canonical"),
    [
        ("OIHW", cp.ConvSpec(in_channels=3, out_channels=6, kernel_size=(5, 4)), (6, 3, 5, 4),
         "OIHW"),
        ("HWIO", cp.ConvSpec(in_channels=3, out_channels=6, kernel_size=(5, 4)), (5, 4, 3, 6),
         "OIHW"),
        ("HWIO", cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=(5, 4), groups=2),
         (5, 4, 2, 6), "OIHW"),
        ("WIO", cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=4, ndim=1), (4, 2, 3),
         "OIW"),
        ("DHWIO", cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=(2, 3, 4)),
         (2, 3, 4, 2, 3), "OIDHW"),
        ("HWOI", cp.ConvTransposeSpec(in_channels=6, out_channels=4, kernel_size=3, groups=2),
         (3, 3, 2, 6), "IOHW"),
        ("IOHW", cp.ConvTransposeSpec(in_channels=6, out_channels=4, kernel_size=3),
         (6, 4, 3, 3), "IOHW"),
        ("IHWO", cp.ConvSpec(in_channels=3, out_channels=6, kernel_size=(5, 4)), (3, 5, 4, 6),
         "OIHW"),
    ],
)  # fmt: skip
def test_weight_layout_table(text, spec, shape, canonical, rng) -> None:
    lay = parse_weight_layout(text, spec)
    assert lay.shape == shape and not lay.depthwise
    w = rng.integers(-9, 9, size=shape)
    assert np.array_equal(lay.to_canonical(w), move(w, text, canonical))
    assert np.array_equal(lay.from_canonical(move(w, text, canonical)), w)


def test_depthwise_hwcm_is_tensorflows_channel_order(rng) -> None:
    # TF depthwise: out[..., c*M + m] = sum x[..., c] * w[kh, kw, c, m]  (PyTorch groups=C)
    spec = cp.ConvSpec(in_channels=3, out_channels=6, kernel_size=(2, 3), groups=3)
    lay = parse_weight_layout("HWCM", spec)
    assert lay.depthwise and lay.shape == (2, 3, 3, 2) and lay.canonical_shape == (6, 1, 2, 3)
    w = rng.integers(-9, 9, size=(2, 3, 3, 2))
    canon = lay.to_canonical(w)
    for c in range(3):
        for m in range(2):
            assert np.array_equal(canon[c * 2 + m, 0], w[:, :, c, m])
    assert np.array_equal(lay.from_canonical(canon), w)
    w2 = rng.integers(-9, 9, size=(3, 2, 2, 3))  # "CMHW"
    c2 = parse_weight_layout("CMHW", spec).to_canonical(w2)
    assert np.array_equal(c2[5, 0], w2[2, 1])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: parse_layout("NHCW1"), "layout must be a string of distinct axis letters"),
        (lambda: parse_layout("NHHC"), "got layout='NHHC'"),
        (lambda: parse_layout("NHW"), "got layout='NHW'"),
        (lambda: parse_layout("NHWC", 3), r"layout must have 3 spatial axes \(D H W\)"),
        (lambda: parse_layout("nhwc"), "got layout='nhwc'"),
        (lambda: parse_layout(4), "got layout=4"),
        (lambda: parse_layout("channels_last"), "needs the number of spatial dimensions"),
        (lambda: parse_layout("NHWC", 4), "ndim must be 1, 2 or 3"),
        (lambda: parse_weight_layout("HWIX", cp.ConvSpec(in_channels=1, out_channels=1,
                                                        kernel_size=1)), "weight_layout="),
        (lambda: parse_weight_layout("HWCM", cp.ConvSpec(in_channels=3, out_channels=3,
                                                        kernel_size=1)),
         "is depthwise: it needs a convolution with groups == in_channels, got ConvSpec with "
         "groups=1, in_channels=3"),
        (lambda: parse_weight_layout("HWCM", cp.ConvTransposeSpec(in_channels=1, out_channels=1,
                                                                 kernel_size=1)),
         "is depthwise"),
        (lambda: parse_weight_layout("HWIO", cp.PoolSpec(kind="max", kernel_size=2)),
         "needs a ConvSpec or ConvTransposeSpec"),
        (lambda: parse_weight_layout("WIO", cp.ConvSpec(in_channels=1, out_channels=1,
                                                       kernel_size=1)), "for ndim=2"),
    ],
)  # fmt: skip
def test_bad_layouts(call, match) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        call()


# --------------------------------------------------------------------------------------
# conv in a layout: loop reference, JAX, PyTorch
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "weight_layout", "canonical"),
    [("NHWC", "HWIO", "NCHW"), ("HWC", "IHWO", "CHW"), ("WCNH", "OHWI", "NCHW"),
     ("channels_last", None, "NCHW")],
)  # fmt: skip
def test_conv_in_layout_equals_the_loop_reference(layout, weight_layout, canonical, rng) -> None:
    spec = cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=(2, 1),
                       padding=((1, 0), (2, 1)), dilation=(1, 2), groups=2,
                       padding_mode="reflect")  # fmt: skip
    xc = rng.integers(-5, 5, size=(2, 4, 7, 6)[-len(canonical) :]).astype(float)
    wc = rng.integers(-5, 5, size=spec.weight_shape).astype(float)
    b = rng.integers(-5, 5, size=6).astype(float)
    text = layout if layout != "channels_last" else "NHWC"
    x = move(xc, canonical, text)
    w = wc if weight_layout is None else move(wc, "OIHW", weight_layout)
    got = cp.conv(spec, x, w, b, layout=layout, weight_layout=weight_layout)
    assert got.flags.c_contiguous
    assert np.array_equal(got, move(reference(spec, xc, wc, b), canonical, text))


def _jax_conv(jax, spec, x, w, dims):
    pads = spec.resolve_padding((1, spec.in_channels, *_spatial(x, dims[0])))
    out = jax.lax.conv_general_dilated(
        x.astype(np.float32), w.astype(np.float32), window_strides=spec.stride, padding=pads,
        rhs_dilation=spec.dilation, dimension_numbers=dims, feature_group_count=spec.groups,
    )  # fmt: skip
    return np.asarray(out, dtype=np.float64)


def _spatial(x: np.ndarray, text: str) -> tuple[int, ...]:
    return tuple(x.shape[i] for i, c in enumerate(text) if c not in "NC")


LAYOUTS_BY_NDIM = {1: ("NWC", "WIO"), 2: ("NHWC", "HWIO"), 3: ("NDHWC", "DHWIO")}


@FEW
@given(data=st.data(), ndim=st.sampled_from([1, 2, 3]))
def test_conv_nhwc_hwio_equals_jax(jax, data, ndim) -> None:
    layout, weight_layout = LAYOUTS_BY_NDIM[ndim]
    p = data.draw(cp.strategies.conv_problems(
        layout=layout, weight_layout=weight_layout, padding_modes=["zeros"], batch=True,
        max_kernel_size=3 if ndim < 3 else 2, paddings=["int", "pairs", "SAME_UPPER", "SAME_LOWER"],
    ))  # fmt: skip
    assert p.x.shape == p.input_shape and p.input_shape[-1] == p.spec.in_channels
    got = cp.conv(p.spec, p.x, p.weight, layout=layout, weight_layout=weight_layout)
    want = _jax_conv(jax, p.spec, p.x, p.weight, (layout, weight_layout, layout))
    assert np.array_equal(got, want)  # small integers: exact in float32


@FEW
@given(data=st.data())
def test_depthwise_hwcm_equals_jax(jax, data) -> None:
    p = data.draw(cp.strategies.conv_problems(
        layout="NHWC", weight_layout="HWCM", padding_modes=["zeros"], bias=False,
    ))  # fmt: skip
    spec = p.spec
    assert spec.groups == spec.in_channels
    kh, kw, c, m = p.weight.shape
    assert (c, c * m) == (spec.in_channels, spec.out_channels)
    got = cp.conv(spec, p.x, p.weight, layout="NHWC", weight_layout="HWCM")
    # TensorFlow's depthwise_conv2d: the (kh, kw, C, M) filter is (kh, kw, 1, C*M) in HWIO
    want = _jax_conv(jax, spec, p.x, p.weight.reshape(kh, kw, 1, c * m), ("NHWC", "HWIO", "NHWC"))
    assert np.array_equal(got, want)


def test_transposed_and_pooling_in_nhwc_equal_torch(torch, rng) -> None:
    t = cp.ConvTransposeSpec(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=2,
                             padding=1, output_padding=1, groups=2, dilation=(1, 2))  # fmt: skip
    x = rng.integers(-4, 4, size=(2, 5, 6, 4)).astype(float)  # NHWC
    w = rng.integers(-4, 4, size=(3, 2, 3, 4)).astype(float)  # HWOI: (kh, kw, C_out/g, C_in)
    b = rng.integers(-4, 4, size=6).astype(float)
    got = cp.conv(t, x, w, b, layout="NHWC", weight_layout="HWOI")
    ref = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(w).permute(3, 2, 0, 1),
        torch.from_numpy(b), stride=2, padding=1, output_padding=1, groups=2, dilation=(1, 2),
    ).permute(0, 2, 3, 1)  # fmt: skip
    assert np.array_equal(got, ref.numpy())
    pool = cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding=1, ceil_mode=True)
    ref = torch.nn.functional.avg_pool2d(torch.from_numpy(x).permute(0, 3, 1, 2), 3, 2, 1,
                                         ceil_mode=True).permute(0, 2, 3, 1)  # fmt: skip
    assert np.allclose(cp.conv(pool, x, layout="NHWC"), ref.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s, x, w: cp.conv(s, x[0, 0], w, layout="NHWC"),
         r"x must have 4 axes for layout='NHWC', got x of shape \(4, 2\)"),
        (lambda s, x, w: cp.conv(s, x, w, layout="NHWC", weight_layout="HWIO"),
         r"weight must have shape \(2, 2, 2, 3\) for weight_layout='HWIO', got weight of shape "
         r"\(3, 2, 2, 2\)"),
        (lambda s, x, w: cp.conv(s, x, w, layout="NWC"), "layout must have 2 spatial axes"),
        (lambda s, x, w: cp.conv(s, x, w, layout="NHWC", weight_layout="HWCM"), "is depthwise"),
    ],
)  # fmt: skip
def test_conv_layout_errors(call, match) -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=2, bias=False)
    with pytest.raises(cp.ConvProofError, match=match):
        call(spec, np.ones((1, 3, 4, 2)), np.ones((3, 2, 2, 2)))


# --------------------------------------------------------------------------------------
# conv_matrix in a layout, and its proof
# --------------------------------------------------------------------------------------


def _matrix_by_columns(spec, shape_lay, layout, canonical, wc):
    """The matrix in ``layout``, column j = the loop reference on basis vector j (in layout)."""
    n = int(np.prod(shape_lay))
    cols = []
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1
        out = reference(spec, move(e.reshape(shape_lay), layout, canonical), wc)
        cols.append(move(out, canonical, layout).ravel())
    return np.stack(cols, axis=1)


@pytest.mark.parametrize(
    ("spec", "shape", "layout", "canonical", "weight_layout"),
    [
        (cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=2, stride=(1, 2), padding=1,
                     padding_mode="circular", bias=False), (4, 5, 2), "HWC", "CHW", "HWIO"),
        (cp.ConvSpec(in_channels=2, out_channels=4, kernel_size=3, groups=2, bias=False,
                     ndim=1), (6, 2), "WC", "CW", "WCM"),
        (cp.ConvTransposeSpec(in_channels=2, out_channels=2, kernel_size=2, stride=2,
                              bias=False), (1, 3, 2, 2), "NHWC", "NCHW", "HWOI"),
        (cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1), (3, 5), "WC", "CW",
         None),
    ],
)  # fmt: skip
def test_conv_matrix_in_layout_is_the_layout_map_and_is_proved(
    spec, shape, layout, canonical, weight_layout, rng
) -> None:
    pool = isinstance(spec, cp.PoolSpec)
    wc = None if pool else rng.integers(-4, 5, size=spec.weight_shape).astype(float)
    sample = shape[1:] if layout.startswith("N") else shape
    sample_layout, sample_canonical = layout.lstrip("N"), canonical.lstrip("N")
    if weight_layout == "WCM":  # depthwise: (k, C, M), canonical channel c*M + m
        w = np.einsum("cmk->kcm", wc.reshape(2, 2, 3))
    elif weight_layout is not None:
        w = move(wc, "IOHW" if spec.layer == "conv_transpose" else "OIHW", weight_layout)
    else:
        w = None
    kw = {"dtype": np.float64} if pool else {}
    T = cp.conv_matrix(spec, shape, w, layout=layout, weight_layout=weight_layout, **kw)
    want = _matrix_by_columns(spec, sample, sample_layout, sample_canonical, wc)
    assert np.array_equal(T.toarray(), want)
    # numerically: T @ vec_layout(x) = vec_layout(conv(x)) on a random sample
    x = rng.integers(-4, 5, size=sample).astype(float)
    assert np.array_equal(T @ x.ravel(), cp.conv(spec, x, w, layout=sample_layout,
                                                 weight_layout=weight_layout).ravel())  # fmt: skip
    res = cp.prove(spec, shape, matrix=T, weight=w, layout=layout, weight_layout=weight_layout)
    assert res.status == "proved" and sample_layout in res.scope["layout"]
    # the channels-first matrix claimed as the layout's is refuted (its columns are permuted)
    wrong = cp.conv_matrix(spec, move(np.zeros(sample), sample_layout, sample_canonical).shape,
                           wc, **kw)  # fmt: skip
    bad = cp.prove(spec, shape, matrix=wrong, weight=w, layout=layout, weight_layout=weight_layout)
    assert bad.status == "refuted"


def test_symbolic_matrix_and_bias_vector_in_layout() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=2, ndim=1)
    T = cp.conv_matrix(spec, (3, 2), layout="WC")
    b = cp.bias_vector(spec, (3, 2), layout="WC")
    _, W, B = cp.layer_symbols(spec, (2, 3))
    # row 0 of the WC matrix is output (a=0, o=0): sum_{c,u} x[c, u] w[0, c, u]
    # columns in WC order: x[0,0], x[1,0], x[0,1], x[1,1], x[0,2], x[1,2]
    assert list(T.row(0)) == [W[0, 0, 0], W[0, 1, 0], W[0, 0, 1], W[0, 1, 1], 0, 0]
    assert list(T.row(1)) == [W[1, 0, 0], W[1, 1, 0], W[1, 0, 1], W[1, 1, 1], 0, 0]
    assert list(b) == [B[0], B[1], B[0], B[1]]
    assert cp.prove(spec, (3, 2), matrix=T, bias_vector=b, layout="WC").status == "proved"
    num = cp.bias_vector(spec, (1, 3, 2), np.array([1.0, -1.0]), layout="NWC")
    assert num.tolist() == [1.0, -1.0, 1.0, -1.0]


def test_matrix_layout_errors() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=2, ndim=1)
    with pytest.raises(cp.ConvProofError, match="input_shape must have 2 entries"):
        cp.conv_matrix(spec, (3,), layout="WC")
    with pytest.raises(cp.ConvProofError, match="batch axis N first"):
        cp.conv_matrix(spec, (2, 3, 1), layout="CWN")
    with pytest.raises(cp.ConvProofError, match="need a claimed matrix"):
        cp.prove(spec, (3, 2), layout="WC")
    with pytest.raises(cp.ConvProofError, match=r"matrix must have shape \(4, 6\)"):
        cp.prove(spec, (3, 2), matrix=np.zeros((4, 5)), weight=np.ones((2, 2, 2)), layout="WC")


# --------------------------------------------------------------------------------------
# the checkers calling user code in a layout
# --------------------------------------------------------------------------------------


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def numpy_nhwc_conv(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A plain NumPy im2col convolution, NHWC input and HWIO weight (what TF code does)."""
    (sh, sw), (dh, dw), (ph, pw) = _pair(stride), _pair(dilation), _pair(padding)
    x = np.pad(np.asarray(x), ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    kh, kw, cig, co = w.shape
    win = sliding_window_view(x, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    win = win[:, ::sh, ::sw, :, ::dh, ::dw]  # (N, OH, OW, C, kh, kw)
    cog = co // groups
    outs = []
    for g in range(groups):
        cols = win[:, :, :, g * cig : (g + 1) * cig]  # (N, OH, OW, cig, kh, kw)
        wg = w[:, :, :, g * cog : (g + 1) * cog]  # (kh, kw, cig, cog)
        outs.append(np.einsum("nabcij,ijco->nabo", cols, wg))
    out = np.concatenate(outs, axis=-1)
    return out if bias is None else out + bias


def numpy_nwc_scalar_conv(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D NWC / WIO with one int per argument: as a width-1 2-D image."""
    assert isinstance(stride, int) and isinstance(padding, int)
    out = numpy_nhwc_conv(x[:, None], w[None], bias, (1, stride), (0, padding), (1, dilation),
                          groups)  # fmt: skip
    return out[:, 0]


def test_check_conv_passes_a_numpy_nhwc_hwio_conv() -> None:
    result = cp.check_conv(numpy_nhwc_conv, layout="NHWC", weight_layout="HWIO",
                           max_examples=40, seed=0)  # fmt: skip
    assert result, result
    assert cp.check_conv(numpy_nwc_scalar_conv, layout="NWC", weight_layout="WIO",
                         scalar_args=True, max_examples=30, seed=1)  # fmt: skip


def test_check_conv_catches_layout_bugs() -> None:
    def hwio_read_as_ihwo(x, w, bias=None, **kw):  # the same memory read as (I, H, W, O)
        kh, kw_, ci, co = w.shape
        return numpy_nhwc_conv(x, np.ascontiguousarray(w).reshape(ci, kh, kw_, co)
                               .transpose(1, 2, 0, 3), bias, **kw)  # fmt: skip

    def nhwc_as_nchw(x, w, bias=None, **kw):  # the same memory read as (N, C, H, W)
        n, h, wd, c = x.shape
        xc = np.ascontiguousarray(x).reshape(n, c, h, wd).transpose(0, 2, 3, 1)
        return numpy_nhwc_conv(xc, w, bias, **kw)

    for bad in (hwio_read_as_ihwo, nhwc_as_nchw):
        result = cp.check_conv(bad, layout="NHWC", weight_layout="HWIO", max_examples=20, seed=0)
        assert not result
        cx = result.counterexample
        assert cx.reason == "values differ"
        # reported in the user's layouts: x is NHWC, the weight HWIO
        assert cx.x.shape == cx.input_shape and cx.x.shape[-1] == cx.spec.in_channels
        assert cx.weight.shape == (*cx.spec.kernel_size, cx.spec.in_channels // cx.spec.groups,
                                   cx.spec.out_channels)  # fmt: skip
        assert cx.got[cx.index] == cx.got_value != cx.expected_value
        assert np.array_equal(cx.expected, numpy_nhwc_conv(
            cx.x, cx.weight, cx.bias, **cx.call))  # fmt: skip
    # a correct NCHW/OIHW function checked as NHWC/HWIO fails (it reads the wrong axes)
    nchw = cp.check_conv(
        lambda x, w, bias=None, **kw: move(numpy_nhwc_conv(
            move(x, "NCHW", "NHWC"), move(w, "OIHW", "HWIO"), bias, **kw), "NHWC", "NCHW"),
        layout="NHWC", weight_layout="HWIO", max_examples=20, seed=0,
    )  # fmt: skip
    assert not nchw


def _depthwise(x, w, bias=None, *, multiplier_major=False, **kw):
    kh, kw_, c, m = w.shape
    flat = w.transpose(0, 1, 3, 2) if multiplier_major else w  # bug: channel m*C + c
    return numpy_nhwc_conv(x, np.ascontiguousarray(flat).reshape(kh, kw_, 1, c * m), bias, **kw)


def test_check_conv_depthwise_hwcm() -> None:
    assert cp.check_conv(_depthwise, layout="NHWC", weight_layout="HWCM", max_examples=40,
                         seed=0)  # fmt: skip
    bad = cp.check_conv(lambda *a, **kw: _depthwise(*a, multiplier_major=True, **kw),
                        layout="NHWC", weight_layout="HWCM", max_examples=60, seed=0)  # fmt: skip
    assert (
        not bad and bad.counterexample.spec.out_channels > bad.counterexample.spec.in_channels > 1
    )
    with pytest.raises(cp.ConvProofError, match="is depthwise: it needs groups"):
        cp.check_conv(_depthwise, layout="NHWC", weight_layout="HWCM", groups=False)


def test_check_conv_transpose_and_pool_in_nhwc(torch) -> None:
    def tf_style_transpose(x, w, bias=None, **kw):  # NHWC, HWOI weight, via torch
        out = torch.nn.functional.conv_transpose2d(
            torch.from_numpy(np.ascontiguousarray(move(x, "NHWC", "NCHW"))),
            torch.from_numpy(np.ascontiguousarray(move(w, "HWOI", "IOHW"))),
            None if bias is None else torch.from_numpy(np.ascontiguousarray(bias)),
            **kw,
        )
        return move(out.numpy(), "NCHW", "NHWC")

    assert cp.check_conv_transpose(tf_style_transpose, layout="NHWC", weight_layout="HWOI",
                                   max_examples=30, seed=0)  # fmt: skip
    bad = cp.check_conv_transpose(tf_style_transpose, layout="NHWC", weight_layout="HWIO",
                                  max_examples=40, seed=0)  # fmt: skip
    assert not bad

    def nhwc_max_pool(x, kernel_size, stride, padding, dilation, ceil_mode):
        out = torch.nn.functional.max_pool2d(
            tensor(torch, x, "NHWC", "NCHW"), kernel_size, stride, padding, dilation,
            ceil_mode=ceil_mode)  # fmt: skip
        return move(out.numpy(), "NCHW", "NHWC")

    assert cp.check_pool(nhwc_max_pool, layout="NHWC", max_examples=30, seed=0)
    assert not cp.check_pool(nhwc_max_pool, layout="NCHW", max_examples=30, seed=0)


def test_checker_layout_arguments() -> None:
    with pytest.raises(cp.ConvProofError, match="layout must be a string"):
        cp.check_conv(numpy_nhwc_conv, layout="NHWQ")
    with pytest.raises(cp.ConvProofError, match="layout must have 1 spatial axes"):
        cp.check_conv(numpy_nhwc_conv, layout="NHWC", ndim=1)
    with pytest.raises(cp.ConvProofError, match="weight_layout must have 2 spatial axes"):
        cp.check_conv(numpy_nhwc_conv, layout="NHWC", weight_layout="DHWIO")
    with pytest.raises(cp.ConvProofError, match="specs must have ndim=2"):
        cp.check_conv(
            numpy_nhwc_conv,
            layout="NHWC",
            specs=[cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, ndim=1)],
        )
    with pytest.raises(TypeError):
        cp.check_pool(numpy_nhwc_conv, layout="NHWC", weight_layout="HWIO")


# --------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------


@FEW
@given(
    p=cp.strategies.conv_problems(
        kind="conv_transpose",
        layout="NDHWC",
        weight_layout="DHWOI",
        max_kernel_size=2,
        max_channels=3,
    )
)
def test_problems_drawn_in_a_layout(p) -> None:
    spec = p.spec
    assert spec.ndim == 3  # the layout sets ndim
    c = p.x.shape[-1]
    assert p.input_shape == p.x.shape and p.x.ndim == 5 and c == spec.in_channels
    assert p.weight.shape == (*spec.kernel_size, spec.out_channels // spec.groups, c)
    assert p.x.flags.c_contiguous and p.weight.flags.c_contiguous


def test_depthwise_specs_and_bad_strategy_layouts() -> None:
    @settings(max_examples=30, deadline=None)
    @given(cp.strategies.conv_specs(groups="depthwise"))
    def depthwise(spec):
        assert spec.groups == spec.in_channels and spec.out_channels % spec.in_channels == 0

    depthwise()
    with pytest.raises(InvalidArgument, match="layout must have 1 spatial axes"):
        cp.strategies.conv_problems(layout="NHWC", ndim=1).example()
    with pytest.raises(InvalidArgument, match="layout must be None for backward problems"):
        cp.strategies.conv_backward_problems(layout="NHWC")
    with pytest.raises(cp.ConvProofError, match=r"got weight_layout=\['H', 'W'"):
        parse_weight_layout(["H", "W", "I", "O"], cp.ConvSpec(in_channels=1, out_channels=1,
                                                               kernel_size=1))  # fmt: skip
    with pytest.raises(InvalidArgument, match="weight_layout must be None for pooling"):
        cp.strategies.conv_problems(kind="pool", weight_layout="HWIO").example()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = cp.strategies.conv_problems(layout="HWC", batch=False).example()
    assert p.x.shape[-1] == p.spec.in_channels and p.x.ndim == 3


def test_checkers_need_a_batched_layout() -> None:
    with pytest.raises(cp.ConvProofError, match="layout must have the batch axis N"):
        cp.check_conv(numpy_nhwc_conv, layout="HWC")
    with pytest.raises(InvalidArgument, match="batch must be True"):
        cp.strategies.conv_problems(layout="NHWC", batch=False).example()


def _torch_nhwc_backward(torch, grad_weight_layout="HWIO"):
    def backward(grad_output, x, weight, bias=None, **kw):  # NHWC data, HWIO weight, autograd
        xt = tensor(torch, x, "NHWC", "NCHW").requires_grad_()
        wt = tensor(torch, weight, "HWIO", "OIHW").requires_grad_()
        bt = None if bias is None else torch.from_numpy(bias.copy()).requires_grad_()
        out = torch.nn.functional.conv2d(xt, wt, bt, **kw)
        out.backward(tensor(torch, grad_output, "NHWC", "NCHW"))
        gb = None if bt is None else bt.grad.numpy()
        gw = move(wt.grad.numpy(), "OIHW", grad_weight_layout)
        return move(xt.grad.numpy(), "NCHW", "NHWC"), gw, gb

    return backward


def test_check_conv_backward_in_nhwc_hwio(torch) -> None:
    good = cp.check_conv_backward(_torch_nhwc_backward(torch), layout="NHWC",
                                  weight_layout="HWIO", max_examples=25, seed=0)  # fmt: skip
    assert good, good
    bad = cp.check_conv_backward(_torch_nhwc_backward(torch, "HWOI"), layout="NHWC",
                                 weight_layout="HWIO", max_examples=20, seed=0)  # fmt: skip
    cx = bad.counterexample
    assert not bad and cx.tensor == "grad_weight"
    assert cx.grad_output.shape[-1] == cx.spec.out_channels  # shown in NHWC
    # HWOI came back where HWIO was due: the shapes differ, shown as returned
    assert cx.reason == "wrong shape" and cx.got.shape == (*cx.spec.kernel_size,
                                                          cx.spec.out_channels, 1)  # fmt: skip
    assert cx.expected.shape == (*cx.spec.kernel_size, 1, cx.spec.out_channels)

    def pool_backward(grad_output, x, kernel_size, stride, padding, dilation, ceil_mode,
                      count_include_pad):  # fmt: skip
        xt = tensor(torch, x, "NHWC", "NCHW").requires_grad_()
        out = torch.nn.functional.max_pool2d(xt, kernel_size, stride, padding, dilation,
                                             ceil_mode=ceil_mode)  # fmt: skip
        out.backward(tensor(torch, grad_output, "NHWC", "NCHW"))
        return move(xt.grad.numpy(), "NCHW", "NHWC")

    def nhwc_pool_backward(grad_output, x, kernel_size, stride, padding, dilation, ceil_mode,
                           count_include_pad):  # fmt: skip
        spec = cp.PoolSpec(kind="max", kernel_size=kernel_size, stride=stride, padding=padding,
                           dilation=dilation, ceil_mode=ceil_mode)  # fmt: skip
        gi = cp.pool_backward(spec, move(x, "NHWC", "NCHW"), move(grad_output, "NHWC", "NCHW"))
        return move(gi, "NCHW", "NHWC")

    assert cp.check_pool_backward(nhwc_pool_backward, layout="NHWC", max_examples=25, seed=0)
    assert not cp.check_pool_backward(pool_backward, layout="NCHW", max_examples=25, seed=0)
    with pytest.raises(cp.ConvProofError, match="not a pair"):
        cp.check_conv_backward((pool_backward, pool_backward), layout="NHWC")
