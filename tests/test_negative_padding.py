"""Negative padding on transposed convolutions and pooling, under the profiles that admit it.

The table (convproof.layers.legality) says: a transposed conv's padding below 0 (zeros added
around the full output) is accepted by onnxruntime's ConvTranspose and by
``jax.lax.conv_transpose``; pooling padding below 0 (a crop of the input) only by
``jax.lax.reduce_window``.  Expected values come from the loop reference
(tests/reference.py), hand-worked tables, JAX and onnxruntime, never from the code under test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy
from hypothesis import find, given, settings
from hypothesis import strategies as st
from reference import reference
from test_legality_profiles import _ort

import convproof as cp
from convproof.layers.legality import LEGALITY_PROFILES

JAX_REASON = "JAX is not installed (pip install 'jax[cpu]' runs these oracle tests)"
ORT_REASON = "onnxruntime is not installed (pip install onnx onnxruntime runs these tests)"

T, P = cp.ConvTransposeSpec, cp.PoolSpec

#: admitted specs with an input shape: every feature (channels, groups, stride, dilation,
#: per-side padding, output_padding, 1/2/3-D, max and average pooling, count_include_pad)
ADMITTED = [
    (T(in_channels=1, out_channels=1, kernel_size=3, padding=-1, ndim=1, bias=False,
       legality="onnx"), (1, 5)),
    (T(in_channels=2, out_channels=4, kernel_size=(3, 2), stride=(2, 1), groups=2,
       padding=((-2, 1), (0, -1)), output_padding=(1, 0), legality="jax"), (2, 4, 3)),
    (T(in_channels=2, out_channels=2, kernel_size=(2, 1, 2), dilation=(2, 1, 1),
       stride=(1, 2, 1), padding=((-1, -1), (0, -2), (2, -1)), legality="onnx"), (2, 3, 2, 3)),
    (T(in_channels=3, out_channels=3, kernel_size=2, stride=3, dilation=2, groups=3,
       padding=((-3, -2),), output_padding=2, ndim=1, legality="jax"), (3, 3)),
    (P(kind="max", kernel_size=3, stride=1, padding=((-1, -2),), ndim=1, legality="jax"),
     (1, 7)),
    (P(kind="avg", kernel_size=3, stride=2, padding=((-2, 1),), ndim=1, legality="jax"),
     (2, 7)),
    (P(kind="avg", kernel_size=3, stride=2, padding=((-2, 1),), count_include_pad=False,
       ndim=1, legality="jax"), (1, 7)),
    (P(kind="max", kernel_size=(2, 3), dilation=(2, 1), stride=(1, 2),
       padding=((-1, 3), (1, -2)), legality="jax"), (2, 6, 7)),
    (P(kind="avg", kernel_size=2, dilation=(1, 2, 1), padding=((-1, 0), (1, -1), (0, -2)),
       legality="jax"), (1, 4, 5, 6)),
    (P(kind="max", kernel_size=1, stride=1, padding=((-2, -3),), ndim=1, legality="jax"),
     (1, 5)),  # a crop to nothing: an empty output (jax profile)
]  # fmt: skip


def _arrays(spec: Any, shape: tuple[int, ...], rng: np.random.Generator) -> tuple[Any, ...]:
    x = rng.integers(-4, 5, shape).astype(np.float64)
    w = None if spec.weight_shape is None else rng.integers(-4, 5, spec.weight_shape) * 1.0
    b = None if spec.bias_shape is None else rng.integers(-4, 5, spec.bias_shape) * 1.0
    return x, w, b


# --------------------------------------------------------------------------------------
# what the profiles admit
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "admitted"),
    [
        (lambda p: T(in_channels=1, out_channels=1, kernel_size=3, padding=-1, legality=p),
         {"onnx", "jax"}),
        (lambda p: P(kind="avg", kernel_size=3, padding=((0, -1), (1, 1)), legality=p),
         {"jax"}),
    ],
    ids=["conv_transpose", "pool"],
)  # fmt: skip
@pytest.mark.parametrize("profile", LEGALITY_PROFILES)
def test_profiles_admit_what_the_frameworks_do(build: Any, admitted: set[str], profile: str):
    if profile in admitted:
        assert min(min(p) for p in build(profile).padding) < 0
    else:
        with pytest.raises(cp.ConvProofError, match=f"below 0 .* legality='{profile}'.*got"):
            build(profile)


def test_output_shapes_by_hand() -> None:
    # transposed: o = (i-1)s - pl - pr + d(k-1) + op + 1; negative amounts enlarge it
    t = T(in_channels=1, out_channels=1, kernel_size=3, stride=2, padding=((-2, -1),), ndim=1,
          legality="onnx")  # fmt: skip
    assert t.output_shape((1, 5)) == (1, 14)  # 8 + 2 + 1 + 2 + 1
    # pooling: a crop, then windows: 7 inputs cropped by (1, 2) leave 4, kernel 3 -> 2
    p = P(kind="max", kernel_size=3, stride=1, padding=((-1, -2),), ndim=1, legality="jax")
    assert p.output_shape((1, 7)) == (1, 2)
    with pytest.raises(cp.ConvProofError, match="padding must not crop more than the input"):
        P(kind="max", kernel_size=1, padding=((-3, -3),), ndim=1, legality="jax").output_shape(
            (1, 5)
        )


def test_hand_worked_values() -> None:
    # x = [0, 1, 2, 3, 4], weight [1, 1, 1]: the full transposed output is
    # [0, 1, 3, 6, 9, 7, 4]; padding -1 adds a zero at each end (onnxruntime gives the same)
    t = T(in_channels=1, out_channels=1, kernel_size=3, padding=-1, ndim=1, bias=False,
          legality="onnx")  # fmt: skip
    got = cp.conv(t, np.arange(5.0).reshape(1, 1, 5), np.ones((1, 1, 3)))
    assert got.ravel().tolist() == [0, 0, 1, 3, 6, 9, 7, 4, 0]
    # max and sum windows of 3 over [0..6] cropped by (1, 2), i.e. over [1, 2, 3, 4]
    x = np.arange(7.0).reshape(1, 1, 7)
    mx = P(kind="max", kernel_size=3, stride=1, padding=((-1, -2),), ndim=1, legality="jax")
    assert cp.conv(mx, x).ravel().tolist() == [3, 4]
    # crop 2 then pad 1 (zeros, counted): [2, 3, 4, 5, 6, 0] at stride 3 -> 9/3, 11/3
    avg = P(kind="avg", kernel_size=3, stride=3, padding=((-2, 1),), ndim=1, legality="jax")
    np.testing.assert_array_equal(cp.conv(avg, x).ravel(), [3, 11 / 3])


def test_ceil_mode_with_a_crop_is_refused() -> None:
    pattern = r"crop\) needs ceil_mode=False .*got ceil_mode=True"
    with pytest.raises(cp.ConvProofError, match=pattern):
        P(kind="max", kernel_size=2, padding=((0, -1),), ceil_mode=True, ndim=1, legality="jax")


def test_port_and_keras_export_refuse_them() -> None:
    # Keras's ZeroPadding / Cropping refuse negative amounts (checked on Keras 3.15)
    for spec, _ in ADMITTED[:2] + ADMITTED[4:5]:
        for target in ("jax", "onnx"):
            with pytest.raises(cp.ConvProofError, match="negative padding"):
                cp.port(spec, to=target)
        with pytest.raises(cp.ConvProofError, match=r"no Keras layer: .*negative padding"):
            cp.keras_config(spec)


# --------------------------------------------------------------------------------------
# every construction against the loop reference
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "shape"), ADMITTED, ids=repr)
def test_constructions_match_the_loop_reference(spec: Any, shape: tuple[int, ...], rng) -> None:
    x, w, b = _arrays(spec, shape, rng)
    want = reference(spec, x, w, b)
    got = cp.conv(spec, x, w, b)
    assert got.shape == want.shape == spec.output_shape(shape)
    np.testing.assert_array_equal(got, want.astype(np.float64))
    # exact (object) arithmetic takes the same route
    obj = [None if a is None else a.astype(int).astype(object) for a in (x, w, b)]
    np.testing.assert_array_equal(cp.conv(spec, *obj), reference(spec, *obj))
    if 0 in want.shape:
        return
    # the definition in symbols: every output element is the reference's expression
    X, W, B = (None if a is None else np.array(a.tolist(), dtype=object)
               for a in cp.layer_symbols(spec, shape))  # fmt: skip
    z = np.array(cp.sliding_sum(spec, shape).tolist(), dtype=object)
    zr = reference(spec, X, W, B if spec.bias else None)
    assert z.shape == zr.shape
    # (a window of padding only is -inf in both, and -inf - -inf is nan: compare first)
    assert all(a == e or sympy.simplify(a - e) == 0 for a, e in zip(z.ravel(), zr.ravel()))
    if spec.is_linear:
        m = cp.conv_matrix(spec, shape, w)
        flat = m @ x.reshape(-1)
        bias = 0 if b is None else np.repeat(b, flat.size // b.size)
        # (average pooling's matrix holds 1/3 and the like: equal up to rounding)
        np.testing.assert_allclose(np.asarray(flat + bias, dtype=np.float64),
                                   want.astype(np.float64).ravel(), rtol=1e-12)  # fmt: skip
        assert cp.prove(spec, shape).status == "proved"


@pytest.mark.parametrize(("spec", "shape"), [c for c in ADMITTED if c[0].is_linear], ids=repr)
def test_linear_backward_is_the_matrix_transpose(spec: Any, shape: tuple[int, ...], rng) -> None:
    # the input gradient is T.T @ g, T checked against the loop reference above
    x, w, b = _arrays(spec, (2, *shape), rng)
    g = rng.integers(-3, 4, cp.conv(spec, x, w, b).shape) * 1.0
    t = cp.conv_matrix(spec, shape, w)
    t = t.toarray() if hasattr(t, "toarray") else np.asarray(t, dtype=np.float64)
    want = np.stack([t.T @ gg.ravel() for gg in g]).reshape(x.shape)
    if isinstance(spec, P):
        got = cp.pool_backward(spec, x, g)
    else:
        got = cp.conv_backward(spec, x, w, g)[0]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert cp.prove_backward(spec, shape).status == "proved"


@pytest.mark.torch
def test_max_pool_backward_against_torch_on_the_cropped_input(torch, rng) -> None:
    # PyTorch refuses negative padding; on the cropped input, padded with -inf, it is the
    # same layer (distinct values: no ties to route)
    F = torch.nn.functional
    for spec, shape in [c for c in ADMITTED if c[0].kind_name == "max_pool"]:
        if 0 in spec.output_shape(shape):
            continue
        x = rng.permutation(2 * int(np.prod(shape))).reshape(2, *shape).astype(np.float64)
        g = rng.integers(-3, 4, spec.output_shape((2, *shape))) * 1.0
        crop = tuple(
            slice(max(-a, 0), n - max(-c, 0)) for n, (a, c) in zip(shape[1:], spec.padding)
        )
        grow = [p for a, c in reversed(spec.padding) for p in (max(a, 0), max(c, 0))]
        xt = torch.tensor(x, requires_grad=True)
        padded = F.pad(xt[(slice(None), slice(None), *crop)], grow, value=-np.inf)
        pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[spec.ndim]
        y = pool(padded, spec.kernel_size, spec.stride, 0, spec.dilation)
        np.testing.assert_array_equal(cp.conv(spec, x), y.detach().numpy())
        y.backward(torch.tensor(g))
        np.testing.assert_array_equal(cp.pool_backward(spec, x, g), xt.grad.numpy())


def _wrong_transpose(spec: Any) -> Any:
    """A user's transposed conv that clamps negative padding to 0 and adds the missing zeros
    at the end of each axis only: the right shape, shifted values (the planted defect)."""
    clamped = T(in_channels=spec.in_channels, out_channels=spec.out_channels,
                kernel_size=spec.kernel_size, stride=spec.stride, dilation=spec.dilation,
                padding=tuple((max(a, 0), max(c, 0)) for a, c in spec.padding),
                output_padding=spec.output_padding, groups=spec.groups, bias=spec.bias)  # fmt: skip
    grow = [(0, -min(a, 0) - min(c, 0)) for a, c in spec.padding]

    def fn(x: Any, w: Any, b: Any = None) -> Any:
        out = cp.conv(clamped, x, w, b)
        return np.pad(out, [(0, 0)] * (out.ndim - spec.ndim) + grow)

    return fn


def test_proof_refutes_a_shifted_transpose_and_proves_a_correct_one() -> None:
    spec = T(in_channels=1, out_channels=1, kernel_size=2, stride=2, padding=((-1, 0),),
             ndim=1, bias=False, legality="onnx")  # fmt: skip
    assert cp.prove_function(lambda x, w, b: cp.conv(spec, x, w), spec, (1, 4)).status == "proved"
    assert cp.prove_function(_wrong_transpose(spec), spec, (1, 4)).status == "refuted"


def test_proof_refutes_a_pool_that_ignores_the_crop() -> None:
    spec = P(kind="max", kernel_size=2, stride=1, padding=((-1, 0),), ndim=1, legality="jax")
    uncropped = P(kind="max", kernel_size=2, stride=1, ndim=1)
    # max pooling is not linear: the correct layer is "verified" (on what was checked)
    assert cp.prove_function(lambda x: cp.conv(spec, x), spec, (1, 5)).status == "verified"
    wrong = cp.prove_function(lambda x: cp.conv(uncropped, x)[..., :-1], spec, (1, 5))
    assert wrong.status == "refuted"


# --------------------------------------------------------------------------------------
# checkers and strategies
# --------------------------------------------------------------------------------------


def _transpose_fn(profile: str, clamp: bool = False) -> Any:
    def fn(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        if clamp:  # the planted defect: negative padding treated as 0
            padding = np.maximum(np.asarray(padding), 0).tolist()
        spec = T(in_channels=x.shape[1], out_channels=weight.shape[1] * groups,
                 kernel_size=weight.shape[2:], stride=stride, padding=padding,
                 output_padding=output_padding, groups=groups, dilation=dilation,
                 bias=bias is not None, legality=profile)  # fmt: skip
        return cp.conv(spec, x, weight, bias)

    return fn


def _pool_fn(kind: str, crop: bool = True) -> Any:
    def fn(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
           count_include_pad=True):  # fmt: skip
        if not crop:  # the planted defect: negative padding treated as 0
            padding = np.maximum(np.asarray(padding), 0).tolist()
        spec = P(kind=kind, kernel_size=kernel_size, stride=stride, padding=padding,
                 dilation=dilation, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                 legality="jax")  # fmt: skip
        return cp.conv(spec, x)

    return fn


def test_checkers_pass_a_correct_layer_and_catch_an_ignored_crop() -> None:
    common = dict(ndim=1, max_examples=40, seed=0, legality="onnx")
    assert cp.check_conv_transpose(_transpose_fn("onnx"), **common).passed
    assert not cp.check_conv_transpose(_transpose_fn("onnx", clamp=True), **common).passed
    pool = dict(ndim=1, max_examples=40, seed=0, legality="jax", kind="max")
    assert cp.check_pool(_pool_fn("max"), **pool).passed
    assert not cp.check_pool(_pool_fn("max", crop=False), **pool).passed


def test_strategies_draw_them_per_profile() -> None:
    s = cp.strategies
    for profile in ("onnx", "jax"):
        spec = find(s.conv_transpose_specs(ndim=1, legality=profile),
                    lambda t: isinstance(t.padding, tuple) and min(t.padding[0]) < 0)  # fmt: skip
        assert spec.legality == profile
    crop = find(s.pool_specs(ndim=1, legality="jax"),
                lambda p: isinstance(p.padding, tuple) and min(p.padding[0]) < 0)  # fmt: skip
    assert crop.ceil_mode is False
    # ceil mode fixed on: no crops drawn
    find(s.pool_specs(ndim=1, legality="jax", ceil_mode=True), lambda p: p.ceil_mode)


@settings(max_examples=15, deadline=None)
@given(
    spec=st.sampled_from(["pytorch", "tensorflow"]).flatmap(
        lambda p: cp.strategies.conv_transpose_specs(ndim=1, legality=p)
    )
    | st.sampled_from(["pytorch", "onnx", "tensorflow"]).flatmap(
        lambda p: cp.strategies.pool_specs(ndim=1, kinds=["max", "avg"], legality=p)
    )
    | cp.strategies.pool_specs(ndim=1, legality="jax", ceil_mode=True)
)
def test_strategies_never_draw_them_where_refused(spec: Any) -> None:
    if isinstance(spec.padding, tuple):
        assert min(min(p) for p in spec.padding) >= 0


@settings(max_examples=25, deadline=None)
@given(
    problem=cp.strategies.conv_problems(
        kind="conv_transpose", ndim=2, legality="onnx", max_channels=2
    )
    | cp.strategies.conv_problems(kind="conv_transpose", ndim=1, legality="jax")
    | cp.strategies.conv_problems(kind="pool", ndim=2, legality="jax", kinds=["max", "avg"])
)
def test_generated_problems_match_the_loop_reference(problem: Any) -> None:
    spec, _, x, w, b = problem
    with np.errstate(invalid="ignore", divide="ignore"):
        got = cp.conv(spec, x, w, b)
    if isinstance(spec, P) and spec.kind == "avg" and not spec.count_include_pad:
        return  # windows of padding only: 0/0 (the reference divides by zero there)
    np.testing.assert_array_equal(got, reference(spec, x, w, b).astype(np.float64))


# --------------------------------------------------------------------------------------
# the real frameworks, on generated problems
# --------------------------------------------------------------------------------------


def _jax_transpose(lax: Any, spec: Any, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ConvTransposeSpec on lax.conv_general_dilated: the input dilated by the stride, the
    kernel flipped with in/out swapped, padding ``d(k-1) - p_before`` and
    ``d(k-1) - p_after + output_padding`` (more than ``d(k-1)`` for a negative ``p``)."""
    nd, g = spec.ndim, spec.groups
    k = w.shape[2:]
    wt = w.reshape(g, spec.in_channels // g, spec.out_channels // g, *k)
    wt = np.swapaxes(wt, 1, 2).reshape(spec.out_channels, spec.in_channels // g, *k)
    wt = np.flip(wt, axis=tuple(range(2, 2 + nd)))
    pads = [
        (d * (kk - 1) - pl, d * (kk - 1) - pr + op)
        for kk, d, (pl, pr), op in zip(spec.kernel_size, spec.dilation, spec.padding,
                                       spec.output_padding)
    ]  # fmt: skip
    return np.asarray(
        lax.conv_general_dilated(x, np.ascontiguousarray(wt), (1,) * nd, pads,
                                 lhs_dilation=spec.stride, rhs_dilation=spec.dilation,
                                 feature_group_count=g)
    )  # fmt: skip


def _jax_pool(lax: Any, spec: Any, x: np.ndarray) -> np.ndarray:
    window = dict(window_dimensions=(1, 1, *spec.kernel_size),
                  window_strides=(1, 1, *spec.stride),
                  padding=((0, 0), (0, 0), *spec.padding),
                  window_dilation=(1, 1, *spec.dilation))  # fmt: skip
    if spec.kind == "max":
        return np.asarray(lax.reduce_window(x, -np.inf, lax.max, **window))
    total = np.asarray(lax.reduce_window(x, 0.0, lax.add, **window))
    ones = np.ones_like(x)
    if spec.count_include_pad:  # taps on explicit padding count: pad the ones with ones
        ones = np.pad(ones, ((0, 0), (0, 0), *[(max(a, 0), max(c, 0)) for a, c in spec.padding]),
                      constant_values=1.0)  # fmt: skip
        window["padding"] = ((0, 0), (0, 0), *[(min(a, 0), min(c, 0)) for a, c in spec.padding])
    counts = np.asarray(lax.reduce_window(ones, 0.0, lax.add, **window))
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / counts


def test_against_jax_on_generated_problems() -> None:
    jax = pytest.importorskip("jax", reason=JAX_REASON)
    lax = jax.lax
    s = cp.strategies
    jax.config.update("jax_enable_x64", False)
    strategy = st.sampled_from([1, 2, 3]).flatmap(
        lambda nd: s.conv_problems(kind="conv_transpose", ndim=nd, legality="jax", batch=True,
                                   paddings=["pairs"], max_channels=2, max_extra_size=2)
        | s.conv_problems(kind="pool", ndim=nd, legality="jax", kinds=["max", "avg"],
                          batch=True, paddings=["pairs"], max_extra_size=2)
    )  # fmt: skip
    seen = {"conv_transpose": 0, "pool": 0, "negative": 0}

    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(problem=strategy)
    def run(problem: Any) -> None:
        spec, _, x, w, b = problem
        if isinstance(spec, P) and 0 in spec.output_shape(x.shape):
            return
        f32 = x.astype(np.float32)  # small integers: exact in float32
        if isinstance(spec, T):
            want = _jax_transpose(lax, spec, f32, w.astype(np.float32))
            want = want + (0 if b is None else b.reshape(-1, *(1,) * spec.ndim))
            got = cp.conv(spec, x, w, b)
            seen["conv_transpose"] += 1
        else:
            want = _jax_pool(lax, spec, f32)
            with np.errstate(invalid="ignore", divide="ignore"):
                got = cp.conv(spec, x)
            seen["pool"] += 1
        seen["negative"] += min(min(p) for p in spec.padding) < 0
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=repr(spec))

    run()
    assert min(seen.values()) >= 10, seen  # both kinds, and crops among them


def test_against_onnxruntime_on_generated_problems() -> None:
    pytest.importorskip("onnx", reason=ORT_REASON)
    pytest.importorskip("onnxruntime", reason=ORT_REASON)
    strategy = st.sampled_from([1, 2, 3]).flatmap(
        lambda nd: cp.strategies.conv_problems(
            kind="conv_transpose", ndim=nd, legality="onnx", batch=True, paddings=["pairs"],
            max_channels=3, max_extra_size=2,
        )
    )  # fmt: skip
    negative = []

    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(problem=strategy)
    def run(problem: Any) -> None:
        spec, _, x, w, b = problem
        feeds = {"x": x.astype(np.float32), "w": w.astype(np.float32)}
        if b is not None:
            feeds["b"] = b.astype(np.float32)
        want = _ort("ConvTranspose", feeds, kernel_shape=list(spec.kernel_size),
                    strides=list(spec.stride), dilations=list(spec.dilation),
                    group=spec.groups, output_padding=list(spec.output_padding),
                    pads=[p[0] for p in spec.padding] + [p[1] for p in spec.padding])  # fmt: skip
        np.testing.assert_allclose(cp.conv(spec, x, w, b), want, rtol=1e-6, err_msg=repr(spec))
        negative.append(min(min(p) for p in spec.padding) < 0)

    run()
    assert sum(negative) >= 10, negative


def test_framework_semantics_pinned() -> None:
    """JAX's reduce_window reads a negative pad as a crop of the input; onnxruntime refuses
    negative pool pads ('Pad values must be non-negative') but accepts them on ConvTranspose,
    where they add zeros around the full output."""
    jax = pytest.importorskip("jax", reason=JAX_REASON)
    pytest.importorskip("onnxruntime", reason=ORT_REASON)
    lax = jax.lax
    x = np.arange(7.0, dtype=np.float32)
    crop = np.asarray(lax.reduce_window(x, -np.inf, lax.max, (3,), (1,), ((-1, -2),)))
    assert crop.tolist() == [3, 4]  # windows over [1, 2, 3, 4]
    summed = np.asarray(lax.reduce_window(x, 0.0, lax.add, (3,), (2,), ((-2, 1),)))
    assert summed.tolist() == [9, 15]  # over [2, 3, 4, 5, 6, 0]
    with pytest.raises(Exception, match="Pad values must be non-negative"):
        _ort("MaxPool", {"x": x.reshape(1, 1, 7)}, kernel_shape=[3], pads=[-1, 0])
    feeds = {"x": np.arange(5, dtype=np.float32).reshape(1, 1, 5), "w": np.ones((1, 1, 3),
             np.float32)}  # fmt: skip
    got = _ort("ConvTranspose", feeds, kernel_shape=[3], pads=[-1, 2])
    assert got.ravel().tolist() == [0, 0, 1, 3, 6, 9]  # one zero before, 2 cropped after
