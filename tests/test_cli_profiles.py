"""Lp pooling and legality profiles in the explanations and on the command line.

Expected values are hand-worked here or come from PyTorch's ``lp_pool`` (an independent
implementation) and an inline loop, never from convproof's own ``conv``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convproof as cp
from convproof.presentation.cli import main
from convproof.presentation.text import element_sum


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- element sums of Lp pools --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "at", "text", "value"),
    [
        # x = 1..5, k = s = 2, ceil mode: the last window holds x[4] only and PyTorch scales
        # its sum by prod(k) / 1 (hand-worked: lp_pool1d(p=1) gives [3, 7, 10])
        ({"norm_type": 1, "ceil_mode": True}, 2, "Z[0,2] = 2/1 * (X[0,4])", 10.0),
        ({"norm_type": 1}, 1, "Z[0,1] = X[0,2] + X[0,3]", 7.0),
        ({"norm_type": 2}, 1, "Z[0,1] = (X[0,2]**2 + X[0,3]**2) ** (1/2)", 5.0),
        (
            {"norm_type": 2, "ceil_mode": True},
            2,
            "Z[0,2] = (2/1 * (X[0,4]**2)) ** (1/2)",
            math.sqrt(50),
        ),
        # ONNX: |x|, zero padding adds nothing
        (
            {"norm_type": 3, "legality": "onnx", "padding": 1},
            0,
            "Z[0,0] = (|X[0,0]|**3) ** (1/3)",
            1.0,
        ),
        (
            {"norm_type": 1.5, "legality": "onnx"},
            0,
            "Z[0,0] = (|X[0,0]|**1.5 + |X[0,1]|**1.5) ** (1/1.5)",
            (1 + 2**1.5) ** (1 / 1.5),
        ),
    ],
)
def test_lp_element_text_and_value(kwargs, at, text, value) -> None:
    spec = cp.PoolSpec(kind="lp", kernel_size=2, stride=2, ndim=1, **kwargs)
    e = element_sum(spec, (1, 5), (0, at))
    assert e.operation == "lp"
    assert e.text().splitlines()[0] == text
    x = np.array([[1.0, 2, 3, 4, 5]]) * (-1 if kwargs.get("legality") == "onnx" else 1)
    assert e.evaluate(x) == pytest.approx(value, rel=1e-12)


def test_lp_element_latex() -> None:
    spec = cp.PoolSpec(kind="lp", kernel_size=2, stride=2, ndim=1, norm_type=2, ceil_mode=True)
    assert element_sum(spec, (1, 5), (0, 2)).latex() == (
        r"Z_{0,2} = \left(\frac{2}{1}\left(X_{0,4}^{2}\right)\right)^{1/2}"
    )
    onnx = cp.PoolSpec(kind="lp", kernel_size=2, ndim=1, norm_type=2, legality="onnx")
    assert element_sum(onnx, (1, 4), (0, 0)).latex() == (
        r"Z_{0,0} = \left(\lvert X_{0,0} \rvert^{2} + \lvert X_{0,1} \rvert^{2}\right)^{1/2}"
    )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # torch: a module
@given(
    ndim=st.integers(1, 2),
    k=st.integers(1, 3),
    s=st.integers(1, 3),
    p=st.sampled_from([1, 2, 3]),
    ceil=st.booleans(),
    size=st.integers(3, 7),
    seed=st.integers(0, 2**16),
)
def test_lp_element_sums_equal_torch(torch, ndim, k, s, p, ceil, size, seed) -> None:
    """Every element's expression, evaluated, equals torch's lp_pool (PyTorch profile)."""
    spec = cp.PoolSpec(kind="lp", kernel_size=k, stride=s, ceil_mode=ceil, norm_type=p, ndim=ndim)
    shape = (2,) + (size,) * ndim
    x = np.random.default_rng(seed).uniform(0.1, 2.0, size=shape)  # positive: real roots
    fn = torch.nn.functional.lp_pool1d if ndim == 1 else torch.nn.functional.lp_pool2d
    ref = fn(torch.from_numpy(x[None]), p, k, s, ceil_mode=ceil)[0].numpy()
    for at in np.ndindex(*ref.shape):
        got = element_sum(spec, shape, at).evaluate(x)
        assert got == pytest.approx(ref[at], rel=1e-9), (spec, at)


def test_onnx_lp_element_sums_equal_a_loop() -> None:
    """ONNX's LpPool with pads and dilations: (sum |x|**p) ** (1/p) over the taps inside."""
    spec = cp.PoolSpec(
        kind="lp", kernel_size=3, stride=2, dilation=2, padding=((2, 1),), norm_type=3,
        ndim=1, legality="onnx",
    )  # fmt: skip
    x = np.array([[-1.0, 2, -3, 4, 0.5, -6, 7]])
    out = spec.output_shape((1, 7))[-1]
    for a in range(out):
        taps = [a * 2 + u * 2 - 2 for u in range(3)]
        want = sum(abs(x[0, t]) ** 3 for t in taps if 0 <= t < 7) ** (1 / 3)
        assert element_sum(spec, (1, 7), (0, a)).evaluate(x) == pytest.approx(want, rel=1e-12)


# -- the command line ----------------------------------------------------------------------


def test_cli_lp_pool_shape_explain_matrix(capsys) -> None:
    code, out, _ = run(
        capsys, "shape", "--in", "1x5", "--pool", "lp", "--norm-type", "2", "--kernel", "2",
        "--ceil-mode",
    )  # fmt: skip
    assert code == 0
    assert "LPPool1d, kernel_size=2, ceil_mode=True, norm_type=2" in out
    assert "output shape  (1, 3)" in out
    code, out, _ = run(
        capsys, "explain", "--in", "1x5", "--pool", "lp", "--norm-type", "2", "--kernel", "2",
        "--ceil-mode", "--at", "0,2",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[0] == "Z[0,2] = (2/1 * (X[0,4]**2)) ** (1/2)"
    code, out, _ = run(
        capsys, "matrix", "--in", "1x5", "--pool", "lp", "--norm-type", "1", "--kernel", "2",
        "--ceil-mode",
    )  # fmt: skip
    assert code == 0
    # hand-worked: windows {0,1}, {2,3}, {4} (scaled by 2/1)
    assert out.rstrip().splitlines()[-3:] == ["1 1 . . .", ". . 1 1 .", ". . . . 2"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["matrix", "--norm-type", "2"], "Lp pooling with --norm-type 2 is not linear"),
        (
            ["matrix", "--norm-type", "1", "--legality", "onnx"],
            "ONNX's Lp pooling (|x|) is not linear",
        ),
        (["shape", "--norm-type", "x"], "--norm-type must be a positive number, got "),
        (["shape", "--norm-type", "-1"], "--norm-type must be a positive number"),
        (["shape", "--norm-type", "nan"], "--norm-type must be a positive number"),
        (["shape", "--norm-type", "inf"], "--norm-type must be a positive number"),
        (["shape"], "--pool lp needs --norm-type P"),
        (["shape", "--norm-type", "2", "--count-include-pad"], "--count-include-pad needs"),
    ],
)
def test_cli_lp_refusals(capsys, argv, message) -> None:
    code, _, err = run(capsys, *argv, "--in", "1x5", "--pool", "lp", "--kernel", "2")
    assert code != 0 and message in err, err


def test_cli_norm_type_needs_lp(capsys) -> None:
    code, _, err = run(capsys, "shape", "--in", "1x5", "--pool", "avg", "--kernel", "2",
                       "--norm-type", "2")  # fmt: skip
    assert code != 0 and "--norm-type needs --pool lp" in err
    code, _, err = run(capsys, "shape", "--in", "1x5", "--kernel", "2", "--norm-type", "2")
    assert code != 0 and "--norm-type needs --pool" in err


def test_cli_legality_admits_crops(capsys) -> None:
    """A crop (negative padding) reads under --legality jax; PyTorch's rules refuse it."""
    code, out, _ = run(capsys, "shape", "--in", "1x5", "--kernel", "2", "--padding", "-1",
                       "--legality", "jax")  # fmt: skip
    assert code == 0
    assert "legality='jax'" in out
    # hand-worked: floor((5 - 1 - 1 - 2) / 1) + 1 = 2
    assert "floor((5 - 1 - 1 - 2) / 1) + 1 = 2" in out
    code, _, err = run(capsys, "shape", "--in", "1x5", "--kernel", "2", "--padding", "-1")
    assert code != 0 and "--padding must be >= 0 on every side" in err
    code, _, err = run(capsys, "shape", "--in", "1x5", "--kernel", "2", "--padding", "-1",
                       "--legality", "pytorch")  # fmt: skip
    assert code != 0 and "allowed under 'onnx', 'jax'" in err
    code, out, _ = run(capsys, "shape", "--in", "1x1", "--kernel", "2", "--padding",
                       "((0,-1))", "--legality", "jax")  # fmt: skip
    assert code == 0
    assert "max(0, floor((1 + 0 - 1 - 2) / 1) + 1) = 0 (an empty output)" in out
    code, _, err = run(capsys, "shape", "--in", "1x5", "--kernel", "2", "--legality", "keras")
    assert code != 0 and "--legality" in err and "keras" in err


def test_lp_element_with_a_negative_sum_is_nan_like_torch(torch) -> None:
    """p = 3 under PyTorch: (-27) ** (1/3) has no real value; torch gives nan, and so does
    the expression evaluated on exact integers (it once returned a complex number)."""
    spec = cp.PoolSpec(kind="lp", kernel_size=3, ndim=1, norm_type=3)
    x = np.array([[-3, -1, 1]], dtype=object)
    got = element_sum(spec, (1, 3), (0, 0)).evaluate(x)
    want = torch.nn.functional.lp_pool1d(torch.tensor([[[-3.0, -1.0, 1.0]]]), 3, 3)
    assert math.isnan(got) and math.isnan(float(want))
