"""cp.port against the real frameworks: PyTorch, JAX (CPU) and onnxruntime.

Each direction runs the port's own printed snippet (``Port.run`` executes ``Port.code``) on
generated problems and compares with convproof's numeric convolution; the size sets a port
states are checked size by size against the real framework.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convproof as cp

JAX_REASON = "JAX is not installed (pip install 'jax[cpu]' runs these oracle tests)"
ORT_REASON = "onnxruntime is not installed (pip install onnx onnxruntime runs these tests)"
# 300 generated problems per direction in CI (HYPOTHESIS_PROFILE=ci); 30 locally (dev)
PER_DIRECTION = settings(
    max_examples=300 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


@pytest.fixture
def jax():
    return pytest.importorskip("jax", reason=JAX_REASON)


@pytest.fixture
def onnxruntime():
    pytest.importorskip("onnx", reason=ORT_REASON)
    return pytest.importorskip("onnxruntime", reason=ORT_REASON)


# what each kind of layer draws besides PyTorch's rules: convs under "onnx" and "jax" draw
# crops (negative padding), pools draw Lp pooling (PyTorch's x**p, and ONNX's |x|**p with
# pads and dilations); norm type 1.5 is PyTorch's nan for a negative x
_EXTRA = {
    "conv": [
        {"legality": "pytorch"},
        {"legality": "onnx"},
        {"legality": "jax"},
        {"legality": "onnx", "paddings": ("pairs",)},  # crops often: half the amounts
        {"legality": "jax", "paddings": ("pairs",)},
    ],
    "conv_transpose": [{}],
    "pool": [
        {"kinds": ("max", "avg", "lp"), "norm_types": (2, 1, 3, 1.5)},
        {"kinds": ("lp",), "legality": "onnx", "norm_types": (2, 1, 3, 1.5)},
        # max/avg pooling the targets cannot name (pre-padded, tests/test_port_pools.py):
        # SAME and asymmetric pairs to PyTorch, ceil mode to JAX/TF, excluded averages
        {"kinds": ("max", "avg"), "legality": "onnx"},
        {"kinds": ("max", "avg"), "legality": "jax"},
        {"kinds": ("max", "avg"), "legality": "onnx", "ceil_mode": True},
        {
            "kinds": ("max", "avg"),
            "legality": "onnx",
            "count_include_pad": False,
            "paddings": ("pairs", "SAME_UPPER", "SAME_LOWER"),
        },
    ],
}


def _problems() -> st.SearchStrategy[cp.ConvProblem]:
    return st.sampled_from(["conv", "conv_transpose", "pool"]).flatmap(
        lambda kind: st.tuples(
            st.sampled_from([1, 2, 3] if kind != "pool" else [1, 2]), st.sampled_from(_EXTRA[kind])
        ).flatmap(
            lambda drawn: cp.strategies.conv_problems(
                kind=kind,
                ndim=drawn[0],
                dtype="float32",
                batch=True,
                **drawn[1],
                **({} if kind == "pool" else {"max_channels": 3}),
            )
        )
    )


def _refused(spec: cp.Spec, to: str) -> bool:
    try:
        cp.port(spec, to=to)
    except cp.ConvProofError as exc:
        assert "cannot be ported" in str(exc)
        return True
    return False


def _check(problem: cp.ConvProblem, to: str) -> None:
    spec, _, x, w, b = problem
    if _refused(spec, to):
        return
    p = cp.port(spec, to=to)
    want = cp.conv(spec, x, w, b) if w is not None else cp.conv(spec, x)
    if problem.input_shape[2:] not in p.agrees_for:
        # only an empty output (JAX's rules, not the target's) is left out of the stated sizes
        assert want.size == 0 and spec.legality == "jax" and to != "jax", (p.agrees_for, spec)
        return
    got = p.run(x, w, b) if w is not None else p.run(x)
    assert got.shape == want.shape, (p.code, got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4, err_msg=p.code)


@pytest.mark.slow
@pytest.mark.torch
@PER_DIRECTION
@given(problem=_problems())
def test_ports_to_pytorch_agree_with_pytorch(problem: cp.ConvProblem, torch) -> None:
    _check(problem, "pytorch")


@pytest.mark.slow
@PER_DIRECTION
@given(problem=_problems())
def test_ports_to_jax_agree_with_jax(problem: cp.ConvProblem, jax) -> None:
    _check(problem, "jax")


@pytest.mark.slow
@PER_DIRECTION
@given(problem=_problems())
def test_ports_to_onnx_agree_with_onnxruntime(problem: cp.ConvProblem, onnxruntime) -> None:
    _check(problem, "onnx")


def test_transforms_are_the_snippets_lines(rng: np.random.Generator, torch) -> None:
    # the callables are compiled from the lines printed in .code: run them by hand
    spec = cp.ConvSpec(in_channels=2, out_channels=4, kernel_size=(3, 2), stride=2,
                       padding="SAME_UPPER", padding_mode="reflect", groups=2)  # fmt: skip
    p = cp.port(spec, to="pytorch")
    assert p.pre_pad == "per input" and p.params["padding"] == 0
    x = rng.standard_normal((1, 2, 9, 8)).astype(np.float32)
    w = rng.standard_normal(spec.weight_shape).astype(np.float32)
    fn = torch.nn.functional.conv2d
    y = fn(torch.from_numpy(p.transform_input(x)), torch.from_numpy(p.transform_weight(w)),
           **p.params).numpy()  # fmt: skip
    np.testing.assert_allclose(p.transform_output(y), cp.conv(spec, x, w), rtol=1e-5, atol=1e-5)
    assert "np.pad(" in p.code and "mode='reflect'" in p.code


@pytest.mark.parametrize("n_extra", [0])
def test_static_port_is_exact_on_exactly_the_stated_sizes(torch, n_extra: int) -> None:
    # padding fixed for 224 (pads (2, 3)): right for even sizes only, checked 1..300 on PyTorch
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=7, stride=2,
                       padding="SAME_UPPER", ndim=1)  # fmt: skip
    p = cp.port(spec, to="pytorch", input_shape=(1, 224))
    assert p.pre_pad == ((2, 3),)
    assert str(p.agrees_for[0]) == "n >= 1, n ≡ 0 (mod 2)"
    rng = np.random.default_rng(3)
    w = rng.standard_normal((1, 1, 7)).astype(np.float32)
    xs = rng.standard_normal((1, 1, 300 + n_extra)).astype(np.float32)
    for n in range(1, 301):
        x = xs[:, :, :n]
        try:
            got = p.run(x, w)
        except RuntimeError:  # PyTorch refuses an empty output
            got = None
        want = cp.conv(spec, x, w)
        equal = got is not None and got.shape == want.shape and np.allclose(got, want, atol=1e-5)
        assert equal is (n in p.agrees_for[0]), n


def test_k_minus_1_over_2_port_states_where_it_is_wrong() -> None:
    stem = cp.ConvSpec(in_channels=3, out_channels=64, kernel_size=7, stride=2,
                       padding="SAME_UPPER")  # fmt: skip
    # jax and onnx name SAME themselves: exact everywhere; pytorch without a shape: pre-pad
    for to in ("jax", "onnx", "pytorch"):
        assert cp.port(stem, to=to).agrees_for[0].is_all
    fixed = cp.port(stem, to="pytorch", input_shape=(3, 225, 225))
    assert fixed.params["padding"] == (3, 3) and fixed.pre_pad is None
    assert 225 in fixed.agrees_for[0] and 224 not in fixed.agrees_for[0]


def test_jax_transposed_port_and_snippet(rng: np.random.Generator, jax) -> None:
    t = cp.ConvTransposeSpec(in_channels=4, out_channels=6, kernel_size=3, stride=2,
                             padding=((2, 0), (1, 1)), output_padding=1, dilation=(1, 2),
                             groups=2)  # fmt: skip
    p = cp.port(t, to="jax")
    x = rng.integers(-3, 4, (2, 4, 5, 4)).astype(np.float32)
    w = rng.integers(-3, 4, t.weight_shape).astype(np.float32)
    b = rng.integers(-3, 4, (6,)).astype(np.float32)
    np.testing.assert_allclose(p.run(x, w, b), cp.conv(t, x, w, b), atol=1e-4)
    # a planted wrong port (kernel not flipped) is caught by the same comparison
    lines = tuple(s for s in p.weight_steps if "flip" not in s)
    code = "\n".join(line for line in p.code.splitlines() if "np.flip" not in line)
    wrong = p.__class__(**{**p.__dict__, "weight_steps": lines, "code": code})
    assert not np.allclose(wrong.run(x, w, b), cp.conv(t, x, w, b), atol=1e-4)


@pytest.mark.parametrize(
    ("spec", "to", "match"),
    [
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3), "keras", "to must be"),
        (
            cp.PoolSpec(
                kind="lp",
                norm_type=2,
                kernel_size=2,
                ceil_mode=True,
                padding="SAME_UPPER",
                legality="onnx",
            ),
            "jax",
            "ceil_mode",
        ),
        (
            cp.PoolSpec(kind="max", kernel_size=2, stride=2, dilation=2, padding="SAME_LOWER"),
            "onnx",
            "ignores dilation",
        ),
    ],
)
def test_refusals_say_why(spec: cp.Spec, to: str, match: str) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        cp.port(spec, to=to)


def test_onnx_pool_same_with_dilation_is_fixed_for_the_shape(onnxruntime) -> None:
    # onnxruntime's MaxPool auto_pad leaves the dilation out of the SAME total: with
    # k=2, d=2, s=2 on [0, 1] SAME_LOWER pads (1, 0) and reads x[1]; onnxruntime reads x[0].
    # The port therefore passes explicit pads for the given shape.
    spec = cp.PoolSpec(kind="max", kernel_size=(1, 2), stride=(1, 2), dilation=(1, 2),
                       padding="SAME_LOWER")  # fmt: skip
    p = cp.port(spec, to="onnx", input_shape=(1, 1, 2))
    assert p.params["pads"] == [0, 1, 0, 0]
    x = np.array([[[[0.0, 1.0]]]], dtype=np.float32)
    assert p.run(x).tolist() == cp.conv(spec, x).tolist() == [[[[1.0]]]]
    assert (1, 2) in p.agrees_for


def test_onnx_max_pool_window_entirely_in_padding_is_minus_inf(onnxruntime) -> None:
    # onnxruntime returns the lowest float32 there; PyTorch's rule (padding <= k/2 of the raw
    # kernel) allows such a window with dilation, and PyTorch and convproof give -inf
    spec = cp.PoolSpec(kind="max", kernel_size=(1, 2), dilation=(1, 2), stride=1,
                       padding=((0, 0), (1, 1)))  # fmt: skip
    x = np.zeros((1, 1, 1, 1), np.float32)
    p = cp.port(spec, to="onnx")
    assert p.run(x).tolist() == cp.conv(spec, x).tolist() == [[[[-np.inf]]]]
    raw = "\n".join(line for line in p.code.splitlines() if "np.finfo" not in line)
    unmapped = p.__class__(**{**p.__dict__, "code": raw})
    assert unmapped.run(x).tolist() == [[[[float(np.finfo(np.float32).min)]]]]


def test_onnx_max_pool_same_with_stride_above_the_window(onnxruntime) -> None:
    # onnxruntime's MaxPool computes the SAME total (ceil(n/s) - 1) * s + k - n without the
    # max(0, .): at k=1, s=2, n=2 it is -1 and the run fails; the port fixes the pads for a
    # given shape (k=1 pads nothing: every size is stated) and refuses without one
    spec = cp.PoolSpec(kind="max", kernel_size=1, stride=2, padding="SAME_UPPER", ndim=1)
    with pytest.raises(cp.ConvProofError, match="stride above the window"):
        cp.port(spec, to="onnx")
    p = cp.port(spec, to="onnx", input_shape=(1, 2))
    assert p.params["pads"] == [0, 0]
    x = np.array([[[4.0, 7.0]]], np.float32)
    assert p.run(x).tolist() == cp.conv(spec, x).tolist() == [[[4.0]]]
    assert p.agrees_for[0].is_all
