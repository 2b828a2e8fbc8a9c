"""cp.port of crops (negative padding) and Lp pooling, against PyTorch, JAX and onnxruntime.

The generated problems of tests/test_port.py draw both; here: hand-picked cases on every
target, the printed crop, planted wrong ports that must be caught, the refusals, and the
stated size set of a crop checked size by size on PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_port import _check

import convproof as cp

CROPS = [
    # crop one side, pad the other, per axis; symmetric crop with stride; 1-D and 3-D
    cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, padding=((-1, 2), (1, -2)),
                legality="onnx"),
    cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=(2, 3), stride=2, dilation=(2, 1),
                padding=((-1, -1), (0, 0)), groups=2, legality="jax"),
    cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=2, padding=((0, -2),), ndim=1,
                legality="onnx"),
    cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, padding=((-1, 0), (1, 1), (0, -1)),
                ndim=3, legality="jax"),
    # the crop reaches into the padding on the other side (found by the generated problems)
    cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, padding=((0, 0), (2, -7)),
                legality="onnx"),
]  # fmt: skip
LPS = [
    cp.PoolSpec(kind="lp", norm_type=3, kernel_size=2, stride=2, ceil_mode=True),
    cp.PoolSpec(kind="lp", norm_type=1.5, kernel_size=(2, 3), stride=1),
    cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, stride=1, ndim=3),
    cp.PoolSpec(kind="lp", norm_type=3, kernel_size=3, stride=2, padding=((1, 2), (0, 1)),
                dilation=(1, 2), legality="onnx"),
    cp.PoolSpec(kind="lp", norm_type=1, kernel_size=3, stride=2, padding=1, legality="onnx"),
    cp.PoolSpec(kind="lp", norm_type=2.5, kernel_size=3, stride=2, padding="SAME_LOWER",
                legality="onnx"),
    cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, stride=3, padding=((1, 0), (0, 1)),
                ceil_mode=True, legality="onnx", dilation=(1, 2)),
]  # fmt: skip


def _problem(spec: cp.Spec, rng: np.random.Generator) -> cp.ConvProblem:
    shape = (2, getattr(spec, "in_channels", 2), *(7, 6, 5)[: spec.ndim])
    x = rng.integers(-3, 4, shape).astype(np.float32)
    if isinstance(spec, cp.PoolSpec):
        return cp.ConvProblem(spec, shape, x, None, None)
    w = rng.integers(-3, 4, spec.weight_shape).astype(np.float32)
    return cp.ConvProblem(
        spec, shape, x, w, rng.integers(-3, 4, (spec.out_channels,)).astype(np.float32)
    )


@pytest.fixture(params=["pytorch", "jax", "onnx"])
def target(request: pytest.FixtureRequest) -> str:
    module = {"pytorch": "torch", "jax": "jax", "onnx": "onnxruntime"}[request.param]
    pytest.importorskip(module, reason=f"{module} is not installed (runs these oracle tests)")
    return str(request.param)


@pytest.mark.parametrize("spec", CROPS + LPS, ids=repr)
def test_crops_and_lp_agree_with_the_target(spec: cp.Spec, target: str, rng) -> None:
    if target == "pytorch" and spec.legality == "onnx" and isinstance(spec, cp.PoolSpec):
        if max(spec.dilation) > 1:
            with pytest.raises(cp.ConvProofError, match="no dilation"):
                cp.port(spec, to=target)
            return
    cp.port(spec, to=target)  # not refused (which _check would pass over)
    _check(_problem(spec, rng), target)


def _planted(p: cp.Port, field: str, old: str, new: str) -> cp.Port:
    """``p`` with ``old`` replaced by ``new`` in one step list and in the printed snippet."""
    steps = tuple(s.replace(old, new) for s in getattr(p, field))
    assert steps != getattr(p, field) and old in p.code
    return p.__class__(**{**p.__dict__, field: steps, "code": p.code.replace(old, new)})


def _equal(p: cp.Port, problem: cp.ConvProblem) -> bool:
    spec, _, x, w, b = problem
    got = p.run(x, w, b) if w is not None else p.run(x)
    want = cp.conv(spec, x, w, b) if w is not None else cp.conv(spec, x)
    return got.shape == want.shape and bool(np.allclose(got, want, atol=1e-4, equal_nan=True))


def test_pytorch_crop_is_printed_and_planted_wrong_crops_are_caught(torch, rng) -> None:
    spec = CROPS[0]  # padding ((-1, 2), (1, -2)): pad (0, 2), (1, 0), then crop [1:, :-2]
    p = cp.port(spec, to="pytorch")
    assert p.pre_pad == ((-1, 2), (1, -2)) and p.params["padding"] == 0
    assert p.input_steps == (
        "x = np.pad(x, [(0, 0), (0, 0), (0, 2), (1, 0)], mode='constant')",
        "x = x[:, :, 1:, 0:x.shape[3] - 2]  # negative padding: a crop",
    )
    assert "x = x[:, :, 1:, 0:x.shape[3] - 2]" in p.code
    problem = _problem(spec, rng)
    assert _equal(p, problem)
    # the crop on the wrong side of each axis; the crop dropped (padding alone)
    wrong_side = _planted(p, "input_steps", "1:, 0:x.shape[3] - 2", "0:x.shape[2] - 1, 2:")
    dropped = _planted(p, "input_steps", "1:, 0:x.shape[3] - 2", ":, :")
    for wrong in (wrong_side, dropped):
        assert not _equal(wrong, problem)


def test_native_crops_are_passed_through_and_a_swapped_one_is_caught(target: str, rng) -> None:
    spec = CROPS[2]  # 1-D padding (0, -2): JAX and ONNX take negative amounts themselves
    p = cp.port(spec, to=target)
    problem = _problem(spec, rng)
    assert _equal(p, problem)
    if target == "pytorch":
        assert p.input_steps == ("x = x[:, :, 0:x.shape[2] - 2]  # negative padding: a crop",)
        wrong = _planted(p, "input_steps", "0:x.shape[2] - 2", "2:")
    else:
        assert p.pre_pad is None and p.input_steps[:1] != ("x = x[",)
        key = "padding" if target == "jax" else "pads"
        assert p.params[key] == (((0, -2),) if target == "jax" else [0, -2])
        old = "((0, -2),)" if target == "jax" else "[0, -2]"
        wrong = p.__class__(
            **{**p.__dict__, "code": p.code.replace(old, old.replace("0, -2", "-2, 0"))}
        )
    assert not _equal(wrong, problem)


def test_jax_profile_crop_to_pytorch_exact_on_exactly_the_stated_sizes(torch) -> None:
    # crop 2 + 1 with kernel 3 at stride 2: JAX admits the empty output of n = 4, 5, PyTorch
    # does not; the port states n >= 6 and agrees with PyTorch on exactly those (1..300)
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2,
                       padding=((-2, -1),), ndim=1, legality="jax")  # fmt: skip
    p = cp.port(spec, to="pytorch")
    assert str(p.agrees_for[0]) == "n >= 6"
    rng = np.random.default_rng(7)
    w = rng.standard_normal((1, 1, 3)).astype(np.float32)
    xs = rng.standard_normal((1, 1, 300)).astype(np.float32)
    for n in range(1, 301):
        x = xs[:, :, :n]
        try:
            got = p.run(x, w)
        except (RuntimeError, ValueError):  # PyTorch refuses an empty or negative size
            got = None
        try:
            want = cp.conv(spec, x, w)
        except cp.ConvProofError:  # the crop leaves less than nothing
            want = None
        equal = (
            got is not None
            and want is not None
            and want.size > 0
            and got.shape == want.shape
            and np.allclose(got, want, atol=1e-5)
        )
        assert equal is (n in p.agrees_for[0]), n


def test_lp_ports_print_their_power_and_root() -> None:
    onnx_lp = LPS[3]  # |x|**3 summed with pads and dilations
    assert cp.port(onnx_lp, to="onnx").function == "onnx.LpPool"
    assert cp.port(onnx_lp, to="onnx").params["p"] == 3
    j = cp.port(onnx_lp, to="jax")
    assert j.input_steps[0] == "x = np.abs(x) ** 3"
    assert j.output_steps[-1] == "y = np.where(y < 0, np.nan, np.abs(y) ** (1 / 3))"
    torch_lp = LPS[0]  # x**3 (signed), ceil mode: PyTorch's scaling via AveragePool
    o = cp.port(torch_lp, to="onnx")
    assert (o.function, o.params["count_include_pad"], o.params["ceil_mode"]) == (
        "onnx.AveragePool", 0, 1)  # fmt: skip
    assert o.input_steps == ("x = x ** 3",) and o.output_steps[0] == "y = y * 4"
    t = cp.port(torch_lp, to="pytorch")
    assert (t.function, t.input_steps, t.params["norm_type"]) == (
        "torch.nn.functional.lp_pool2d", (), 3)  # fmt: skip


def test_planted_wrong_lp_ports_are_caught(torch, rng) -> None:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    signed = _problem(LPS[0], rng)  # PyTorch's x**3: negative sums are nan
    p = cp.port(LPS[0], to="onnx")
    assert _equal(p, signed)
    assert not _equal(_planted(p, "input_steps", "x ** 3", "np.abs(x) ** 3"), signed)
    assert not _equal(_planted(p, "output_steps", "y = y * 4", "y = y * 1"), signed)
    # ONNX's |x|: PyTorch's lp_pool is given |x|; without it the signed powers are summed
    absolute = _problem(LPS[4], rng)
    q = cp.port(LPS[4], to="pytorch")
    assert q.input_steps[-1] == "x = np.abs(x)" and _equal(q, absolute)
    assert not _equal(_planted(q, "input_steps", "np.abs(x)", "x"), absolute)
    # a wrong root (1/p taken twice) is caught too
    r = cp.port(LPS[1], to="pytorch")
    assert _equal(r, _problem(LPS[1], rng))
    j = cp.port(LPS[5], to="onnx")  # non-integer p under ONNX: AveragePool of |x|**2.5
    assert j.function == "onnx.AveragePool" and j.params["count_include_pad"] == 1
    onnx_problem = _problem(LPS[5], rng)
    assert _equal(j, onnx_problem)
    assert not _equal(_planted(j, "output_steps", "(1 / 2.5)", "(1 / 6.25)"), onnx_problem)


@pytest.mark.parametrize(
    ("spec", "to", "match"),
    [
        (LPS[3], "pytorch", "lp_pool has no dilation"),
        (cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, stride=2, ceil_mode=True,
                     padding="SAME_LOWER", legality="onnx"), "pytorch", "overhanging"),
        (cp.PoolSpec(kind="lp", norm_type=2.5, kernel_size=2, stride=2, ceil_mode=True,
                     legality="onnx"), "onnx", "integer"),
        (cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, ceil_mode=True, padding="SAME_UPPER",
                     legality="onnx"), "jax", "ceil_mode"),
    ],
)  # fmt: skip
def test_lp_refusals_say_why(spec: cp.Spec, to: str, match: str) -> None:
    with pytest.raises(cp.ConvProofError, match=f"cannot be ported.*{match}"):
        cp.port(spec, to=to)


def test_a_crop_outside_convolutions_is_refused() -> None:
    # the specs admit crops on forward convs only today; should a profile admit them on
    # pooling or transposed convs, port refuses them by name (built here past validation)
    pool = cp.PoolSpec(kind="max", kernel_size=3, stride=1, ndim=1, legality="jax")
    object.__setattr__(pool, "padding", ((-1, 1),))
    for to in ("pytorch", "jax", "onnx", "tensorflow"):
        with pytest.raises(cp.ConvProofError, match=r"negative padding .* convolutions only"):
            cp.port(pool, to=to)


def test_lp_ceil_mode_without_ceil_mode(rng) -> None:
    pytest.importorskip("jax", reason="JAX is not installed (runs these oracle tests)")
    # JAX has no ceil mode: zeros at the end, and for PyTorch's scaling a channel of ones
    # pooled alongside counts the taps inside; a port without that count is caught
    spec = LPS[0]  # x**3, k=2, s=2, ceil mode
    p = cp.port(spec, to="jax")
    assert p.pre_pad == "per input" and "def _ceil_pads(" in p.code
    assert p.output_steps[1] == "y = y[:, :-1] * 4 / y[:, -1:]"
    x = rng.integers(1, 4, (1, 2, 5, 7)).astype(np.float32)  # positive: no nan anywhere
    problem = cp.ConvProblem(spec, x.shape, x, None, None)
    assert _equal(p, problem)
    assert not _equal(_planted(p, "output_steps", "* 4 / y[:, -1:]", "* 1"), problem)
    unscaled = _planted(p, "output_steps", "y = y[:, :-1] * 4 / y[:, -1:]", "y = y[:, :-1]")
    assert not _equal(unscaled, problem)
    q = cp.port(LPS[-1], to="jax")  # ONNX's LpPool: ceil mode adds zeros, nothing to scale
    assert not any("y[:, -1:]" in step for step in q.output_steps)
    assert _equal(q, _problem(LPS[-1], rng))


def test_onnx_lp_ceil_mode_on_pytorch_is_zeros_not_scaling(torch) -> None:
    # lp_pool's own ceil mode scales the overhanging window by k / taps inside; ONNX's does
    # not: the port pads the overhang with zeros and runs lp_pool in floor mode
    spec = cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, stride=2, padding=((0, 0),),
                       ceil_mode=True, ndim=1, legality="onnx")  # fmt: skip
    p = cp.port(spec, to="pytorch")
    assert p.params["ceil_mode"] is False and "_ceil_pads(" in p.input_steps[-1]
    x = np.array([[[3.0, -4.0, 5.0]]], np.float32)  # windows [3, -4] and the overhang [5]
    assert np.allclose(p.run(x), cp.conv(spec, x)) and cp.conv(spec, x).tolist() == [[[5.0, 5.0]]]
    # the naive port: lp_pool's own ceil mode, no zeros padded
    lines = [line for line in p.code.splitlines() if "# ceil mode" not in line]
    naive = "\n".join(lines).replace("ceil_mode=False", "ceil_mode=True")
    got = p.__class__(**{**p.__dict__, "code": naive}).run(x)
    assert np.allclose(got, [[[5.0, 5.0 * np.sqrt(2)]]])  # the overhang scaled by 2 / 1
