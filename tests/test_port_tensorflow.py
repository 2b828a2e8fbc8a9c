"""cp.port(spec, to="tensorflow") against TensorFlow 2.21 on the CPU.

The port's own printed snippet (``Port.run`` executes ``Port.code``) runs on generated
problems and is compared with convproof's numeric convolution; the size sets the ports state
are checked size by size against TensorFlow.  TensorFlow is imported by the ``tensorflow``
fixture only (tests/conftest.py), so the rest of the suite never loads it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from test_port import PER_DIRECTION, _check, _problems
from test_port_crops_lp import CROPS, LPS, _equal, _planted, _problem

import convproof as cp


@pytest.mark.slow
@PER_DIRECTION
@given(problem=_problems())
def test_ports_to_tensorflow_agree_with_tensorflow(problem: cp.ConvProblem, tensorflow) -> None:
    _check(problem, "tensorflow")


@pytest.mark.parametrize(
    ("spec", "function", "params"),
    [
        (
            cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=7, stride=2,
                        padding="SAME_UPPER"),
            "tf.nn.convolution",
            {"strides": [2, 2], "padding": "SAME", "dilations": [1, 1]},
        ),
        (
            cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, stride=2, dilation=2,
                        padding="SAME_UPPER", ndim=1),
            "tf.nn.convolution",  # TF refuses stride 2 with dilation 2: zeros in the kernel
            {"strides": [2], "padding": "SAME", "dilations": [1]},
        ),
        (
            cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding="SAME_UPPER",
                        count_include_pad=False),
            "tf.nn.pool",
            {"window_shape": [3, 3], "pooling_type": "AVG", "strides": [2, 2],
             "padding": "SAME", "dilations": [1, 1]},
        ),
    ],
)  # fmt: skip
def test_tensorflow_port_calls(spec: cp.Spec, function: str, params: dict) -> None:
    p = cp.port(spec, to="tensorflow")
    assert (p.function, p.params, p.pre_pad) == (function, params, None)
    assert all(axis.is_all for axis in p.agrees_for)


def test_dilated_kernel_written_with_zeros(rng: np.random.Generator, tensorflow) -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=(3, 2), stride=2,
                       dilation=(2, 3), padding=1)  # fmt: skip
    p = cp.port(spec, to="tensorflow")
    w = rng.standard_normal(spec.weight_shape)
    k = p.transform_weight(w)
    assert k.shape == (5, 4, 2, 3)  # HWIO, span d(k-1)+1
    assert np.array_equal(k[::2, ::3], np.transpose(w, (2, 3, 1, 0)))
    assert np.count_nonzero(k) == np.count_nonzero(w)
    x = rng.standard_normal((2, 2, 9, 11)).astype(np.float32)
    got = p.run(x, w.astype(np.float32))
    np.testing.assert_allclose(got, cp.conv(spec, x, w.astype(np.float32)), atol=1e-4)
    # a planted wrong port (the kernel's zeros not written in) is caught
    dilating = ("z = np.zeros", "z[", "w = z")
    lines = tuple(s for s in p.weight_steps if not s.startswith(dilating))
    code = "\n".join(line for line in p.code.splitlines() if not line.strip().startswith(dilating))
    assert len(lines) == len(p.weight_steps) - 3
    assert len(code.splitlines()) == len(p.code.splitlines()) - 3
    wrong = p.__class__(**{**p.__dict__, "weight_steps": lines, "code": code})
    bad = wrong.run(x, w.astype(np.float32))
    assert bad.shape != got.shape or not np.allclose(bad, got, atol=1e-4)


def test_grouped_transposed_as_block_diagonal(rng: np.random.Generator, tensorflow) -> None:
    t = cp.ConvTransposeSpec(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1,
                             output_padding=1, groups=2, ndim=1)  # fmt: skip
    p = cp.port(t, to="tensorflow")
    w = rng.standard_normal(t.weight_shape)
    k = p.transform_weight(w)  # (k, out, in), zero off the two diagonal blocks
    assert k.shape == (3, 6, 4)
    assert not k[:, 3:, :2].any() and not k[:, :3, 2:].any()
    x = rng.integers(-3, 4, (2, 4, 5)).astype(np.float32)
    w32 = rng.integers(-3, 4, t.weight_shape).astype(np.float32)
    b = rng.integers(-3, 4, (6,)).astype(np.float32)
    np.testing.assert_array_equal(p.run(x, w32, b), cp.conv(t, x, w32, b))


def _tf_equal_at(p: cp.Port, spec: cp.Spec, x: np.ndarray, w: np.ndarray | None) -> bool:
    """Does the TF port equal convproof at this input (shape and values)?"""
    try:
        got = p.run(x, w) if w is not None else p.run(x)
    except Exception:  # TF refuses the size
        return False
    want = cp.conv(spec, x, w) if w is not None else cp.conv(spec, x)
    return got.shape == want.shape and bool(np.allclose(got, want, atol=1e-4))


@pytest.mark.parametrize(
    ("spec", "fixed_at", "stated"),
    [
        # SAME_LOWER fixed for 224: TF names only the upper form, so the port pre-pads (3, 2)
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=6, stride=2,
                     padding="SAME_LOWER", ndim=1), (1, 224), "n >= 1, n ≡ 0 (mod 2)"),
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=3, dilation=2,
                     padding="SAME_LOWER", padding_mode="reflect", ndim=1), (1, 31),
         "n >= 3, n ≡ 1, 2 (mod 3)"),  # n ≡ 2: pads (2, 1), the end pad unread
        # named by TF itself: exact for every size
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=4, stride=3, dilation=2,
                     padding="SAME_UPPER", ndim=1), (1, 31), "n >= 1"),
        (cp.PoolSpec(kind="max", kernel_size=3, stride=2, dilation=2, padding="SAME_UPPER",
                     ndim=1), (1, 31), "n >= 1"),
    ],
)  # fmt: skip
def test_tensorflow_port_exact_on_exactly_the_stated_sizes(
    spec: cp.Spec, fixed_at: tuple[int, int], stated: str, tensorflow
) -> None:
    # brute force over sizes 1..300 on TensorFlow itself
    p = cp.port(spec, to="tensorflow", input_shape=fixed_at)
    assert str(p.agrees_for[0]) == stated
    rng = np.random.default_rng(5)
    w = None if isinstance(spec, cp.PoolSpec) else rng.standard_normal(spec.weight_shape)
    w = None if w is None else w.astype(np.float32)
    xs = rng.standard_normal((1, 1, 300)).astype(np.float32)
    for n in range(1, 301):
        x = xs[:, :, :n]
        try:
            spec.output_shape(x.shape)
        except cp.ConvProofError:  # no output for convproof (empty, or reflect too wide)
            assert n not in p.agrees_for[0] or n < 3, n
            continue
        assert _tf_equal_at(p, spec, x, w) is (n in p.agrees_for[0]), n


def test_tensorflow_refusals_say_why() -> None:
    for spec, match in [
        (cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, ceil_mode=True, padding="SAME_UPPER",
                     legality="onnx"), "ceil_mode"),
    ]:  # fmt: skip
        with pytest.raises(cp.ConvProofError, match=match):
            cp.port(spec, to="tensorflow")


@pytest.mark.parametrize("spec", CROPS + LPS, ids=repr)
def test_tensorflow_crops_and_lp(spec: cp.Spec, rng: np.random.Generator, tensorflow) -> None:
    cp.port(spec, to="tensorflow")  # not refused (which _check would pass over)
    _check(_problem(spec, rng), "tensorflow")


def test_tensorflow_crop_and_lp_planted_defects_are_caught(
    rng: np.random.Generator, tensorflow
) -> None:
    crop = cp.port(CROPS[0], to="tensorflow")  # pad (0, 2), (1, 0), then crop [1:, :-2]
    assert crop.pre_pad == ((-1, 2), (1, -2)) and crop.params["padding"] == "VALID"
    assert "x = x[:, :, 1:, 0:x.shape[3] - 2]  # negative padding: a crop" in crop.code
    problem = _problem(CROPS[0], rng)
    assert _equal(crop, problem)
    for wrong in ("0:x.shape[2] - 1, 2:", ":, :"):  # the wrong sides; no crop
        assert not _equal(_planted(crop, "input_steps", "1:, 0:x.shape[3] - 2", wrong), problem)
    lp = cp.port(LPS[1], to="tensorflow")  # x**1.5 (nan below 0), an average times 6
    assert lp.input_steps[0] == "x = np.where(x < 0, np.nan, np.abs(x) ** 1.5)"
    assert lp.params["pooling_type"] == "AVG" and "y = y * 6" in lp.output_steps
    signed = _problem(LPS[1], rng)
    assert _equal(lp, signed)
    assert not _equal(_planted(lp, "output_steps", "y = y * 6", "y = y * 1"), signed)
    unsigned = "x = np.abs(x) ** 1.5"  # ONNX's |x| where PyTorch's x**1.5 is nan
    assert not _equal(_planted(lp, "input_steps", lp.input_steps[0], unsigned), signed)
