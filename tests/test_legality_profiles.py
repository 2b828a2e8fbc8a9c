"""The legality profiles on the specs: what each admits, and every construction on it.

Expected values come from the loop reference (tests/reference.py), JAX and onnxruntime,
never from the code under test.  The witnesses below build a spec that breaks one spec
rule; the profile must accept it exactly when the one table says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from reference import reference

import convproof as cp
from convproof.frameworks import legality as frameworks_legality
from convproof.layers.legality import LEGALITY_PROFILES, RULES, allows

JAX_REASON = "JAX is not installed (pip install 'jax[cpu]' runs these oracle tests)"
ORT_REASON = "onnxruntime is not installed (pip install onnx onnxruntime runs these tests)"


def _conv(**kw: Any) -> dict[str, Any]:
    return dict(in_channels=1, out_channels=1, kernel_size=3, ndim=1, **kw)


def _pool(**kw: Any) -> dict[str, Any]:
    return dict(kind="max", **kw)


#: one spec construction (plus an input shape, for rules decided by the size) per spec rule
WITNESSES = {
    "negative_padding": (cp.ConvSpec, _conv(padding=-1), None),
    "empty_output": (cp.ConvSpec, _conv(), (1, 2)),
    "pool_padding_over_half_kernel": (cp.PoolSpec, _pool(kernel_size=3, padding=2), None),
    "pool_padding_at_least_kernel": (cp.PoolSpec, _pool(kernel_size=2, padding=2), None),
    "avg_pool_dilation": (cp.PoolSpec, dict(kind="avg", kernel_size=2, dilation=2), None),
    "output_padding_at_least_stride": (
        cp.ConvTransposeSpec, _conv(dilation=2, output_padding=1), None,
    ),
    "transposed_negative_padding": (cp.ConvTransposeSpec, _conv(padding=-1), None),
    "pool_negative_padding": (cp.PoolSpec, _pool(kernel_size=2, padding=((-1, 0),)), None),
}  # fmt: skip


def _build(rule: str, profile: str) -> Any:
    cls, kw, shape = WITNESSES[rule]
    spec = cls(**kw, legality=profile)
    return spec.output_shape(shape) if shape is not None else spec


def test_every_spec_rule_has_a_witness() -> None:
    assert {r.name for r in RULES if r.spec_rule} == set(WITNESSES)
    # frameworks.legality reads the same table (one place)
    assert frameworks_legality.RULES is RULES
    assert frameworks_legality.PROFILES == LEGALITY_PROFILES


@pytest.mark.parametrize("profile", LEGALITY_PROFILES)
@pytest.mark.parametrize("rule", sorted(WITNESSES))
def test_each_profile_admits_what_the_table_says(rule: str, profile: str) -> None:
    answer = {r.name: r for r in RULES}[rule].accepted[profile]
    # an unchecked column (None: TensorFlow, or no such argument) falls back to PyTorch's
    expected = (
        answer if answer is not None else {r.name: r for r in RULES}[rule].accepted["pytorch"]
    )
    assert allows(rule, profile) is expected
    if expected:
        _build(rule, profile)
    else:
        with pytest.raises(cp.ConvProofError, match=f"not allowed under legality='{profile}'"):
            _build(rule, profile)


def test_refusals_name_the_profiles_that_allow_it() -> None:
    with pytest.raises(cp.ConvProofError) as info:
        cp.PoolSpec(kind="avg", kernel_size=2, dilation=2)
    assert str(info.value).startswith(
        "average pooling with dilation > 1 is not allowed under legality='pytorch' "
        "(allowed under 'onnx', 'jax', 'tensorflow'): dilation must be 1"
    )
    with pytest.raises(cp.ConvProofError, match=r"legality='onnx' \(allowed under 'jax'\)"):
        cp.PoolSpec(kind="max", kernel_size=2, padding=2, legality="onnx")
    with pytest.raises(cp.ConvProofError, match=r"got padding=-1"):
        cp.ConvSpec(**_conv(padding=-1))


BAD = [
    (lambda: cp.ConvSpec(**_conv(legality="keras")), "legality must be one of 'pytorch'"),
    (lambda: cp.PoolSpec(kind="max", kernel_size=2, legality=None), "got legality=None"),
    (
        lambda: cp.ConvSpec(**_conv(padding=-1, padding_mode="reflect", legality="jax")),
        "negative padding \\(a crop\\) needs padding_mode='zeros'",
    ),
    (
        lambda: cp.ConvSpec(**_conv(padding=((-4, 0),), legality="jax")).output_shape((1, 3)),
        "padding must not crop more than the input",
    ),
    (
        lambda: cp.ConvTransposeSpec(**_conv(padding=-1, legality="tensorflow")),
        "padding must be >= 0",
    ),
    (lambda: cp.PoolSpec(kind="max", kernel_size=2, padding=-1, legality="onnx"), ">= 0"),
    (
        lambda: cp.ConvSpec(**_conv(padding=-1, legality="onnx")).output_shape((1, 3)),
        "output would be empty: .*; a conv whose output size is 0 is not allowed under legality='onnx'",  # noqa: E501
    ),
]


@pytest.mark.parametrize(("call", "pattern"), BAD)
def test_bad_input(call: Any, pattern: str) -> None:
    with pytest.raises(cp.ConvProofError, match=pattern):
        call()


def test_the_profile_is_part_of_the_value() -> None:
    a = cp.PoolSpec(kind="max", kernel_size=3, padding=1)
    b = cp.PoolSpec(kind="max", kernel_size=3, padding=1, legality="onnx")
    assert a != b and hash(a) != hash(b)
    assert "legality" not in repr(a) and repr(b).endswith("legality='onnx')")
    assert "legality" not in a.to_dict() and b.to_dict()["legality"] == "onnx"
    assert cp.spec_from_dict(b.to_dict()) == b
    spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=(3, 2), legality="jax")
    assert spec.one_axis(1, -1).legality == "jax"


# --------------------------------------------------------------------------------------
# constructions on what the profiles admit: the loop reference, the proof
# --------------------------------------------------------------------------------------

ADMITTED = [
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=((-1, 2),), ndim=1,
                 legality="onnx"), (1, 7)),
    (cp.ConvSpec(in_channels=2, out_channels=4, kernel_size=2, stride=2, groups=2,
                 padding=((-1, -1), (1, -2)), legality="jax"), (2, 7, 6)),
    (cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=(2, 1, 2), dilation=(1, 2, 1),
                 padding=((0, -1), (-1, 0), (1, 1)), legality="onnx"), (2, 4, 3, 3)),
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, padding=((-5, 10),), ndim=1,
                 legality="jax"), (1, 3)),
    (cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=5, legality="jax"), (2, 3, 6)),
    (cp.PoolSpec(kind="avg", kernel_size=3, dilation=2, padding=2, stride=2, ceil_mode=True,
                 legality="onnx"), (2, 7, 8)),
    (cp.PoolSpec(kind="avg", kernel_size=(2, 3), dilation=(3, 1), padding=(1, 2),
                 count_include_pad=False, legality="onnx"), (1, 6, 5)),
    (cp.PoolSpec(kind="avg", kernel_size=2, padding=3, stride=1, legality="jax", ndim=1),
     (1, 4)),
    (cp.PoolSpec(kind="avg", kernel_size=5, legality="jax", ndim=1), (1, 4)),
    (cp.PoolSpec(kind="max", kernel_size=3, padding=2, stride=1, legality="onnx", ndim=1),
     (1, 4)),
    (cp.PoolSpec(kind="max", kernel_size=2, padding=3, stride=1, legality="jax", ndim=1),
     (1, 4)),
    (cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, dilation=2,
                          output_padding=1, ndim=1, legality="jax"), (1, 4)),
]  # fmt: skip


def _arrays(spec: Any, shape: tuple[int, ...], rng: np.random.Generator) -> tuple[Any, ...]:
    x = rng.integers(-4, 5, shape).astype(np.float64)
    w = None if spec.weight_shape is None else rng.integers(-4, 5, spec.weight_shape) * 1.0
    b = None if getattr(spec, "bias_shape", None) is None else rng.integers(-4, 5, spec.bias_shape)
    return x, w, b


@pytest.mark.parametrize(("spec", "shape"), ADMITTED, ids=repr)
def test_conv_and_proof_on_admitted_layers(spec: Any, shape: tuple[int, ...], rng) -> None:
    x, w, b = _arrays(spec, shape, rng)
    got = cp.conv(spec, x, w, b)
    want = reference(spec, x, w, b)
    assert got.shape == want.shape == spec.output_shape(shape)
    np.testing.assert_array_equal(got, want.astype(np.float64))
    if spec.is_linear:
        result = cp.prove(spec, shape)
        assert result.status == "proved", result
        assert cp.conv_matrix(spec, shape).shape == (want.size, x.size)


def test_empty_outputs_are_empty_everywhere() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=(5, 1), legality="jax")
    assert spec.output_shape((2, 3, 4)) == (3, 0, 4)
    assert cp.conv(spec, np.ones((2, 2, 3, 4)), np.ones(spec.weight_shape)).shape == (2, 3, 0, 4)
    assert cp.conv_matrix(spec, (2, 3, 4)).shape == (0, 24)
    assert cp.sliding_sum(spec, (2, 3, 4)).shape == (3, 0, 4)


def test_a_defect_in_the_crop_is_refuted() -> None:
    # a user's conv that pads with max(p, 0) (ignores the crop) is refuted by the proof
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, padding=((-1, 1),),
                       ndim=1, bias=False, legality="onnx")  # fmt: skip
    uncropped = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, padding=((0, 1),),
                            ndim=1, bias=False)  # fmt: skip

    def wrong(x: Any, w: Any, b: Any) -> Any:
        return cp.conv(uncropped, x, w)[..., :-1]  # right shape, shifted values

    assert cp.prove_function(lambda x, w, b: cp.conv(spec, x, w), spec, (1, 6)).status == "proved"
    assert cp.prove_function(wrong, spec, (1, 6)).status == "refuted"


# --------------------------------------------------------------------------------------
# the real frameworks
# --------------------------------------------------------------------------------------


def test_against_jax(rng) -> None:
    jax = pytest.importorskip("jax", reason=JAX_REASON)
    lax = jax.lax
    dn = ("NCH", "OIH", "NCH")
    for pads, n in [(((-1, 2),), 7), (((-2, -1),), 9), (((0, -1),), 3), (((0, 0),), 2)]:
        spec = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, stride=2, ndim=1,
                           padding=pads, bias=False, legality="jax")  # fmt: skip
        x, w, _ = _arrays(spec, (2, 2, n), rng)
        f32 = x.astype(np.float32), w.astype(np.float32)  # small integers: exact in float32
        want = np.asarray(lax.conv_general_dilated(*f32, (2,), pads, dimension_numbers=dn))
        np.testing.assert_array_equal(cp.conv(spec, x, w), want)
    # pooling padding >= the kernel: windows of padding only give -inf (max) and 0 (sum)
    x = rng.integers(-4, 5, (1, 1, 4)).astype(np.float32)
    window = dict(window_dimensions=(1, 1, 2), window_strides=(1, 1, 1),
                  padding=((0, 0), (0, 0), (3, 3)), window_dilation=(1, 1, 2))  # fmt: skip
    mx = cp.PoolSpec(kind="max", kernel_size=2, stride=1, padding=3, dilation=2, ndim=1,
                     legality="jax")  # fmt: skip
    want = np.asarray(lax.reduce_window(x, -np.inf, lax.max, **window))
    np.testing.assert_array_equal(cp.conv(mx, x), want)
    avg = cp.PoolSpec(kind="avg", kernel_size=2, stride=1, padding=3, dilation=2, ndim=1,
                      legality="jax")  # fmt: skip
    want = np.asarray(lax.reduce_window(x, 0.0, lax.add, **window)) / 2
    np.testing.assert_array_equal(cp.conv(avg, x), want)


def _ort(op: str, feeds: dict[str, np.ndarray], **attrs: Any) -> np.ndarray:
    import onnxruntime
    from onnx import TensorProto, helper

    node = helper.make_node(op, list(feeds), ["y"], **attrs)
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in feeds]
    out = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    model = helper.make_model(
        helper.make_graph([node], "g", vi, out), opset_imports=[helper.make_opsetid("", 19)]
    )
    sess = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return sess.run(None, feeds)[0]


def _onnx_pads(spec: Any) -> list[int]:
    return [p[0] for p in spec.padding] + [p[1] for p in spec.padding]


def test_against_onnxruntime(rng) -> None:
    pytest.importorskip("onnx", reason=ORT_REASON)
    pytest.importorskip("onnxruntime", reason=ORT_REASON)
    conv = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=(3, 2), stride=(1, 2),
                       padding=((-1, 1), (0, -1)), bias=False, legality="onnx")  # fmt: skip
    x, w, _ = _arrays(conv, (1, 2, 6, 7), rng)
    want = _ort("Conv", {"x": x.astype(np.float32), "w": w.astype(np.float32)},
                kernel_shape=[3, 2], strides=[1, 2], pads=_onnx_pads(conv))  # fmt: skip
    np.testing.assert_allclose(cp.conv(conv, x, w), want, rtol=1e-6)
    for kind, cip, ceil in [("avg", 0, 0), ("avg", 1, 1), ("max", 0, 1)]:
        pool = cp.PoolSpec(kind=kind, kernel_size=(3, 2), stride=(2, 1), dilation=(2, 2),
                           padding=((2, 1), (1, 1)), count_include_pad=bool(cip),
                           ceil_mode=bool(ceil), legality="onnx")  # fmt: skip
        x = rng.integers(-4, 5, (2, 3, 7, 6)).astype(np.float32)
        op = "AveragePool" if kind == "avg" else "MaxPool"
        extra = {"count_include_pad": cip} if kind == "avg" else {}
        want = _ort(op, {"x": x}, kernel_shape=[3, 2], strides=[2, 1], dilations=[2, 2],
                    pads=_onnx_pads(pool), ceil_mode=ceil, **extra)  # fmt: skip
        np.testing.assert_allclose(cp.conv(pool, x), want, rtol=1e-6, err_msg=repr(pool))


# --------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------


def test_strategies_draw_what_the_profile_admits() -> None:
    s = cp.strategies
    neg = find(
        s.conv_specs(ndim=1, legality="onnx"),
        lambda c: not isinstance(c.padding, str) and min(c.padding[0]) < 0,
    )
    assert neg.legality == "onnx" and neg.padding_mode == "zeros"
    dil = find(s.pool_specs(ndim=1, kinds=["avg"], legality="onnx"), lambda p: p.dilation[0] > 1)
    assert dil.kind == "avg"
    explicit = ["int", "pairs"]
    onnx_pools = s.pool_specs(ndim=1, legality="onnx", paddings=explicit)
    wide = find(onnx_pools, lambda p: p.padding[0][0] > p.kernel_size[0] // 2)
    assert wide.padding[0][0] < wide.kernel_size[0]
    jax_pools = s.pool_specs(ndim=1, legality="jax", paddings=explicit)
    find(jax_pools, lambda p: p.padding[0][0] >= p.kernel_size[0])
    with pytest.raises(InvalidArgument, match="legality must be one of"):
        s.conv_specs(legality="torch").example()


@settings(max_examples=15, deadline=None)
@given(
    spec=st.sampled_from(["pytorch", "tensorflow"]).flatmap(
        lambda p: cp.strategies.conv_transpose_specs(ndim=1, legality=p)
    )
    | cp.strategies.conv_transpose_specs(ndim=1, legality="onnx")
    | cp.strategies.conv_specs(ndim=1)
    | cp.strategies.pool_specs(ndim=1)
)
def test_strategies_keep_each_profile(spec: Any) -> None:
    if spec.legality == "onnx":
        assert all(o < s for o, s in zip(spec.output_padding, spec.stride))
    if spec.legality in ("pytorch", "tensorflow") and isinstance(spec.padding, tuple):
        assert min(min(p) for p in spec.padding) >= 0
    if isinstance(spec, cp.PoolSpec):
        assert spec.kind == "max" or spec.dilation == (1,)


@settings(max_examples=20, deadline=None)
@given(
    problem=st.sampled_from(["onnx", "jax"]).flatmap(
        lambda p: (
            cp.strategies.conv_problems(kind="conv", ndim=1, legality=p, max_channels=2)
            | cp.strategies.conv_problems(kind="pool", ndim=1, legality=p)
        )
    )
)
def test_generated_problems_match_the_loop_reference(problem: Any) -> None:
    spec, _, x, w, b = problem
    with np.errstate(invalid="ignore", divide="ignore"):
        got = cp.conv(spec, x, w, b)
    if isinstance(spec, cp.PoolSpec) and spec.kind == "avg" and not spec.count_include_pad:
        return  # windows of padding only: 0/0 (the reference divides by zero there)
    np.testing.assert_array_equal(got, reference(spec, x, w, b).astype(np.float64))
