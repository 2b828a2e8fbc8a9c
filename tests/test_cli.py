"""The ``convproof`` command: happy paths against known values, JSON, and bad command lines.

Expected numbers come from the seeds and SEMANTICS.md (hand tables), from formulas written
out here, or from independent implementations (``tests/reference.py``, SciPy, torchvision's
published parameter counts) -- never from the code under test.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import convproof as cp
from convproof.presentation.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str, expect: int = 0) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == expect, err
    return json.loads(out)


# --------------------------------------------------------------------------------------
# shape
# --------------------------------------------------------------------------------------

# (command line, output shape, params, resolved padding) from the seeds / SEMANTICS.md
SHAPE_CASES = [
    # seed 000: 25x25x3, five 3x3 kernels, same padding -> 25x25x5, 5*27 + 5 = 140 params
    (
        "--in 3x25x25 --out-channels 5 --kernel 3 --padding same",
        [5, 25, 25],
        140,
        [[1, 1], [1, 1]],
    ),
    # seed 002: 32x32x3, one 5x5 kernel -> 28x28, 75 weights + 1 bias
    ("--in 3x32x32 --kernel 5", [1, 28, 28], 76, [[0, 0], [0, 0]]),
    # seed 002: stride 2 -> 14x14
    ("--in 3x32x32 --kernel 5 --stride 2", [1, 14, 14], 76, [[0, 0], [0, 0]]),
    # seed 003: 3x3 input, 2x2 kernel -> 2x2
    ("--in 1x3x3 --kernel 2 --no-bias", [1, 2, 2], 4, [[0, 0], [0, 0]]),
    # SEMANTICS: i=224, k=7, s=2, SAME -> 112, pads (2, 3)
    ("--in 3x224x224 --kernel 7 --stride 2 --padding SAME", [1, 112, 112], 148, [[2, 3], [2, 3]]),
    ("--in 3x224x224 --kernel 7 --stride 2 --padding SAME_LOWER", [1, 112, 112], 148, [[3, 2]] * 2),
    # SEMANTICS: i=3, k=3, p=4 -> 9 (padding larger than the kernel is legal)
    ("--in 1x3 --kernel 3 --padding 4", [1, 9], 4, [[4, 4]]),
    # i=7, k=3, s=3 -> 2
    ("--in 1x7 --kernel 3 --stride 3", [1, 2], 4, [[0, 0]]),
    # full padding: o = i + k_eff - 1 (k_eff = 2*(3-1)+1 = 5)
    ("--in 2x10 --kernel 3 --dilation 2 --padding full", [1, 14], 7, [[4, 4]]),
    # asymmetric pairs
    ("--in 1x5x5 --kernel 3 --padding (1,2),(0,1)", [1, 6, 4], 10, [[1, 2], [0, 1]]),
    # batch kept
    ("--in 8x3x32x32 --ndim 2 --kernel 3 --out-channels 4", [8, 4, 30, 30], 112, [[0, 0]] * 2),
    # 3-D
    (
        "--in 2x4x5x6 --ndim 3 --kernel 3 --padding 1 --out-channels 2",
        [2, 4, 5, 6],
        110,
        [[1, 1]] * 3,
    ),
    # five numbers can only be N,C,D,H,W
    ("--in 1x2x4x5x6 --kernel 3 --padding 1 --out-channels 2", [1, 2, 4, 5, 6], 110, [[1, 1]] * 3),
    # a per-dimension option fixes the dims: four numbers with a 2-D kernel are N,C,H,W
    ("--in 2x3x8x8 --kernel 3,3", [2, 1, 6, 6], 28, [[0, 0]] * 2),
    # depthwise: groups = C_in, params C_out*(C_in/g)*k*k + C_out = 6*9 + 6
    ("--in 3x8x8 --kernel 3 --groups 3 --out-channels 6", [6, 6, 6], 60, [[0, 0]] * 2),
    # transposed: o = (i-1)s - 2p + d(k-1) + op + 1 = 7*2 - 2 + 2 + 1 + 1 = 16
    (
        "--in 5x8x8 --transposed --out-channels 3 --kernel 3 --stride 2 --padding 1 "
        "--output-padding 1",
        [3, 16, 16],
        5 * 3 * 9 + 3,
        [[1, 1], [1, 1]],
    ),
    # pooling, ceil mode: k=1, s=2, i=32 -> 16 (not 17); i=5, k=2, s=2, p=1 -> 3
    ("--in 3x32 --pool max --kernel 1 --stride 2 --ceil-mode", [3, 16], 0, [[0, 0]]),
    ("--in 1x5 --pool max --kernel 2 --stride 2 --padding 1 --ceil-mode", [1, 3], 0, [[1, 1]]),
    ("--in 1x5 --pool avg --kernel 2 --ceil-mode", [1, 3], 0, [[0, 0]]),
]


@pytest.mark.parametrize(("line", "out", "params", "padding"), SHAPE_CASES)
def test_shape_known_values(capsys, line, out, params, padding) -> None:
    data = run_json(capsys, "shape", *line.split())
    assert data["output_shape"] == out
    assert data["params"] == params
    assert data["padding"] == padding


def test_shape_text_seed(capsys) -> None:
    code, out, err = run(capsys, "shape", "--in", "3x32x32", "--kernel", "5", "--stride", "2")
    assert code == 0 and err == ""
    lines = dict(line.split(None, 1) if " " in line else (line, "") for line in out.splitlines())
    assert "(1, 14, 14)" in out
    # MACs by hand: C_out * 14 * 14 * C_in * 5 * 5
    assert f"{1 * 14 * 14 * 3 * 5 * 5:,}" in out
    assert "floor((32 + 0 + 0 - 5) / 2) + 1 = 14" in out
    assert lines["params"].strip() == "76"


def test_shape_macs_conventions(capsys) -> None:
    conv = run_json(
        capsys, *"shape --in 3x224x224 --out-channels 64 --kernel 3 --padding 1".split()
    )
    assert conv["macs"] == 64 * 224 * 224 * 3 * 3 * 3  # torchvision's VGG conv1 figure
    tr = run_json(
        capsys, *"shape --in 4x5x5 --transposed --out-channels 2 --kernel 3 --stride 2".split()
    )
    assert tr["macs"] == 4 * 25 * 2 * 9  # counted on input positions


# --------------------------------------------------------------------------------------
# explain
# --------------------------------------------------------------------------------------


def test_explain_seed_channels_collapse(capsys) -> None:
    """Seed 000: one output is 3 channels x 9 taps of products plus one bias."""
    code, out, err = run(
        capsys,
        *"explain --in 3x25x25 --out-channels 5 --kernel 3 --at 2,10,10 --padding same".split(),
    )
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "Z[2,10,10] = b[2]"
    for c in range(3):
        assert f"(channel {c})" in out
    assert "27 products (3 input channels x 9 taps), plus the bias b[2]" in out
    # the centre tap of channel 1 reads X[1,10,10] with W[2,1,1,1]
    assert "X[1,10,10]*W[2,1,1,1]" in out
    assert "skipped" not in out


def test_explain_json_evaluates_like_the_definition(capsys, rng) -> None:
    data = run_json(
        capsys, *"explain --in 3x6x6 --out-channels 2 --kernel 3 --padding 1 --at 1,0,5".split()
    )
    x = rng.integers(-3, 4, size=(3, 6, 6))
    w = rng.integers(-3, 4, size=(2, 3, 3, 3))
    b = rng.integers(-3, 4, size=2)
    total = b[data["bias"][0]]
    for channel in data["channels"]:
        for t in channel["terms"]:
            total += x[tuple(t["input"])] * w[tuple(t["weight"])]
    # by hand: Z[1, 0, 5] with padding 1 reads rows -1..1, cols 4..6 of the padded input
    expected = b[1]
    for c in range(3):
        for i in range(3):
            for j in range(3):
                r, s = 0 + i - 1, 5 + j - 1
                if 0 <= r < 6 and 0 <= s < 6:
                    expected += x[c, r, s] * w[1, c, i, j]
    assert total == expected
    assert data["products"] == 3 * 4
    assert len(data["skipped"]) == 5
    assert all(s["reason"] == "zero padding" for s in data["skipped"])


def test_explain_latex_and_modes(capsys) -> None:
    code, out, _ = run(capsys, "explain", "--in", "2x4x4", "--kernel", "3", "--latex")
    assert code == 0
    assert out.startswith("Z_{0,0,0} = b_{0} + \\underbrace{")
    assert "\\text{channel } 1" in out
    code, out, _ = run(
        capsys, *"explain --in 1x4x4 --kernel 3 --padding 1 --padding-mode circular".split()
    )
    assert code == 0
    assert "circular padding remaps 5 taps" in out
    assert "(0,0) reads (-1,-1) -> (3,3)" in out  # wraps to the far corner


#: A stride-2 transposed conv on a 1x3 input, explained (the tests add ``--at`` or ``--picture``).
_EXPLAIN_TRANSPOSED = ("explain", "--in", "1x3", "--transposed", "--kernel", "3", "--stride", "2")


def test_explain_pool_and_transposed(capsys) -> None:
    code, out, _ = run(
        capsys, *"explain --in 1x5 --pool avg --kernel 2 --ceil-mode --at 0,2".split()
    )
    # SEMANTICS: [1,2,3,4,5], k=2, s=2, ceil -> last window averages X[4] alone
    assert code == 0 and out.splitlines()[0] == "Z[0,2] = (X[0,4]) / 1"
    data = run_json(capsys, *_EXPLAIN_TRANSPOSED, "--at", "0,2")
    # output 2 of a stride-2 transposed conv: i*2 + u = 2 -> (i=1,u=0) and (i=0,u=2)
    pairs = {(t["input"][1], t["tap"][0]) for t in data["channels"][0]["terms"]}
    assert pairs == {(1, 0), (0, 2)}


def test_explain_picture(capsys, tmp_path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib is the optional 'plots' extra")
    png, gif = tmp_path / "s.png", tmp_path / "s.gif"
    code, out, err = run(
        capsys, "explain", "--in", "1x4x4", "--kernel", "3", "--padding", "1", "--picture", str(png)
    )
    assert code == 0, err
    assert out.splitlines()[-1] == f"picture: {png}"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = run_json(capsys, *_EXPLAIN_TRANSPOSED, "--picture", str(gif))
    assert data["picture"] == str(gif)
    assert gif.read_bytes()[:6] == b"GIF89a"


# --------------------------------------------------------------------------------------
# matrix
# --------------------------------------------------------------------------------------


def _dv_dense(w: np.ndarray) -> np.ndarray:
    """Dumoulin & Visin's 4x16 matrix by hand: row (a, b) has w[i, j] at column (a+i)*4 + b+j."""
    t = np.zeros((4, 16))
    for a in range(2):
        for b in range(2):
            for i in range(3):
                for j in range(3):
                    t[a * 2 + b, (a + i) * 4 + (b + j)] = w[i, j]
    return t


def test_matrix_seed_text(capsys) -> None:
    code, out, err = run(capsys, "matrix", "--in", "1x3x3", "--kernel", "2", "--no-bias")
    assert code == 0 and err == ""
    assert out.startswith("matrix        4 x 9 ")
    assert "nnz           16 of 36" in out
    assert "doubly-block Toeplitz" in out
    # the printed 4x9 pattern: a b . c d . . . . shifted (seed 003)
    grid = out.split("\n\n", 1)[1].splitlines()
    assert [sum(c != "." for c in row.split()) for row in grid] == [4, 4, 4, 4]
    assert grid[0].split()[2] == "." and grid[1].split()[0] == "."


def test_matrix_json(capsys) -> None:
    data = run_json(capsys, "matrix", "--in", "2x4x4", "--out-channels", "3", "--kernel", "3")
    assert data["shape"] == [3 * 2 * 2, 2 * 4 * 4]
    assert data["nnz"] == 3 * 2 * 2 * 2 * 9  # every tap lands in the input
    assert [lv["name"] for lv in data["levels"]] == ["channels", "axis 0", "axis 1"]
    assert data["levels"][0]["grid"] == [3, 2]


@pytest.mark.parametrize("fmt", ["mtx", "npz"])
def test_matrix_export_numeric(capsys, tmp_path, rng, fmt) -> None:
    scipy_io = pytest.importorskip("scipy.io")
    import scipy.sparse

    w = rng.integers(1, 9, size=(1, 1, 3, 3)).astype(np.float64)
    np.save(tmp_path / "w.npy", w)
    target = tmp_path / f"t.{fmt}"
    code, out, err = run(
        capsys,
        "matrix",
        "--in",
        "1x4x4",
        "--kernel",
        "3",
        "--no-bias",
        "--weight",
        str(tmp_path / "w.npy"),
        "--format",
        fmt,
        "--output",
        str(target),
    )
    assert code == 0, err
    assert f"written       {target}" in out
    loaded = scipy_io.mmread(target) if fmt == "mtx" else scipy.sparse.load_npz(target)
    np.testing.assert_array_equal(np.asarray(loaded.todense()), _dv_dense(w[0, 0]))


def test_matrix_latex_and_png(capsys, tmp_path) -> None:
    code, out, _ = run(
        capsys, "matrix", "--in", "1x3x3", "--kernel", "2", "--no-bias", "--format", "latex"
    )
    assert code == 0
    assert "\\begin" in out and "w_{0,0,1,1}" in out
    pytest.importorskip("matplotlib", reason="matplotlib is the optional 'plots' extra")
    png = tmp_path / "t.png"
    code, out, _ = run(
        capsys, "matrix", "--in", "2x4x4", "--kernel", "3", "--format", "png", "--output", str(png)
    )
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------
# prove
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "--in 3x25x25 --out-channels 5 --kernel 3 --padding same",
        "--in 1x3x3 --kernel 2",
        "--in 2x5x5 --transposed --out-channels 2 --kernel 3 --stride 2 --output-padding 1",
        "--in 2x5x6 --pool avg --kernel 2 --ceil-mode",
        "--in 1x5x5 --kernel 3 --padding 1 --padding-mode reflect",
    ],
)
def test_prove_concrete(capsys, line) -> None:
    code, out, err = run(capsys, "prove", *line.split())
    assert code == 0, err
    assert out.startswith("PROVED")
    data = run_json(capsys, "prove", *line.split())
    assert data["status"] == "proved" and data["proved"] is True


def test_prove_general(capsys) -> None:
    code, out, err = run(capsys, "prove", "--general", "--ndim", "1")
    assert code == 0, err
    assert out.startswith("PROVED: T x = sliding-window sum for symbolic sizes (1-D")
    assert "spot-check: passed" in out
    data = run_json(capsys, "prove", "--general", "--in", "1x8", "--transposed")
    assert data["status"] == "proved" and data["method"] == "symbolic-delta-summation"


# --------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------

USER_MODULE = '''
import numpy as np

def _conv(x, weight, bias, stride, padding, dilation, groups, flip=False):
    """A plain loop conv (PyTorch semantics), independent of convproof."""
    n, c, h, w = x.shape
    co, cg, kh, kw = weight.shape
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, co, oh, ow))
    if flip:
        weight = weight[:, :, ::-1, ::-1]
    per = co // groups
    for o in range(co):
        g = o // per
        for a in range(oh):
            for b in range(ow):
                win = xp[:, g * cg:(g + 1) * cg, a * sh:a * sh + dh * (kh - 1) + 1:dh,
                         b * sw:b * sw + dw * (kw - 1) + 1:dw]
                out[:, o, a, b] = (win * weight[o]).sum(axis=(1, 2, 3))
        if bias is not None:
            out[:, o] += bias[o]
    return out

def good(x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    return _conv(x, weight, bias, stride, padding, dilation, groups)

def flipped(x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    return _conv(x, weight, bias, stride, padding, dilation, groups, flip=True)
'''


@pytest.fixture
def user_module(tmp_path) -> Path:
    path = tmp_path / "user_convs.py"
    path.write_text(USER_MODULE)
    return path


def test_check_good_function_passes(capsys, user_module, monkeypatch) -> None:
    code, out, err = run(
        capsys, "check", f"{user_module}:good", "--max-examples", "15", "--seed", "1"
    )
    assert code == 0, out + err
    assert out == "conv check passed: 15 examples tried, no failure\n"
    assert err.startswith("time: ")  # off a terminal: no progress bar
    check_module = sys.modules[cp.check_conv.__module__]  # wherever the module lives
    monkeypatch.setattr(check_module, "_stderr_is_terminal", lambda: True)
    code, out, err = run(
        capsys, "check", f"{user_module}:good", "--max-examples", "15", "--seed", "1"
    )
    assert code == 0 and "conv check:" in err and "/15 " in err  # the bar, on a terminal
    code, out, err = run(
        capsys, "check", f"{user_module}:good", "--max-examples", "15", "--seed", "1", "-q"
    )
    assert code == 0 and err == ""  # --quiet: no bar, no time


def test_prove_max_bytes_refuses_with_the_cli_wording(capsys) -> None:
    code, out, err = run(
        capsys, "prove", "--in", "8x16x16", "--out-channels", "8", "--kernel", "3",
        "--max-bytes", "1K",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert "more than max_bytes=1024" in err
    assert "pass a larger --max-bytes (like --max-bytes 16G)" in err
    assert "raise max_bytes" not in err
    code, out, err = run(
        capsys, "prove", "--net", "alexnet", "--in", "3x64x64", "--max-bytes", "1K"
    )
    assert code == 2 and "--max-bytes" in err
    code, out, _ = run(capsys, "prove", "--in", "1x3x3", "--kernel", "2", "--max-bytes", "1G")
    assert code == 0 and out.startswith("PROVED")


def test_check_buggy_function_fails_with_counterexample(capsys, user_module) -> None:
    code, out, _ = run(
        capsys, "check", f"{user_module}:flipped", "--max-examples", "30", "--seed", "0"
    )
    assert code == 1
    assert "FAILED" in out and "counterexample" in out
    data = run_json(
        capsys, "check", f"{user_module}:flipped", "--max-examples", "30", "--seed", "0", expect=1
    )
    assert data["passed"] is False
    # flipping only matters for a kernel with more than one tap
    assert math.prod(data["counterexample"]["spec"]["kernel_size"]) > 1


def test_check_shipped_examples_are_reproducible(capsys) -> None:
    """stdout is the same on every run (timings go to stderr), so the README can show it."""
    first = run(
        capsys, "check", "convproof.examples:flipped_conv", "--max-examples", "20", "--seed", "0"
    )
    second = run(
        capsys, "check", "convproof.examples:flipped_conv", "--max-examples", "20", "--seed", "0"
    )
    assert first[0] == second[0] == 1
    assert first[1] == second[1]
    assert "time:" not in first[1] and "time: " in first[2]
    assert "kernel_size=(1, 2)" in first[1]  # flipping needs a two-tap kernel to show
    code, out, _ = run(
        capsys, *"check convproof.examples:loop_conv --max-examples 10 --seed 0 --ndim 1".split()
    )
    assert (code, out) == (0, "conv check passed: 10 examples tried, no failure\n")


def test_prove_certificate_time_on_stderr(capsys) -> None:
    code, out, err = run(capsys, "prove", "--in", "1x3x3", "--kernel", "2")
    assert code == 0
    assert "time:" not in out and err.startswith("time:")


@pytest.mark.filterwarnings("ignore:conv check passed without exercising")  # 5 examples
def test_check_module_on_path(capsys, user_module, monkeypatch) -> None:
    monkeypatch.chdir(user_module.parent)
    monkeypatch.delitem(sys.modules, "user_convs", raising=False)
    code, _, err = run(capsys, "check", "user_convs:good", "--max-examples", "5", "--quiet")
    assert code == 0, err
    assert err == ""  # --quiet: no progress


WRAPPERS = """
import convproof as cp

def transposed(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
               dilation=1):
    spec = cp.ConvTransposeSpec(in_channels=x.shape[1], out_channels=weight.shape[1] * groups,
                                kernel_size=weight.shape[2:], stride=stride, padding=padding,
                                output_padding=output_padding, groups=groups,
                                dilation=dilation, bias=bias is not None)
    return cp.conv(spec, x, weight, bias)

def max_pool(x, kernel_size, stride, padding, dilation, ceil_mode):
    spec = cp.PoolSpec(kind="max", kernel_size=kernel_size, stride=stride, padding=padding,
                       dilation=dilation, ceil_mode=ceil_mode)
    return cp.conv(spec, x)

def avg_pool_floor(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    # ignores ceil_mode: wrong whenever the last window only fits when rounding up
    spec = cp.PoolSpec(kind="avg", kernel_size=kernel_size, stride=stride, padding=padding,
                       ceil_mode=False, count_include_pad=count_include_pad)
    return cp.conv(spec, x)
"""


@pytest.mark.parametrize(
    ("function", "kind", "code", "layer"),
    [
        ("transposed", "conv-transpose", 0, "conv_transpose"),
        ("max_pool", "max-pool", 0, "pool"),
        ("avg_pool_floor", "avg-pool", 1, "pool"),
    ],
)
def test_check_other_kinds(capsys, tmp_path, function, kind, code, layer) -> None:
    path = tmp_path / "wrappers.py"
    path.write_text(WRAPPERS)
    data = run_json(
        capsys,
        "check",
        f"{path}:{function}",
        "--kind",
        kind,
        "--max-examples",
        "25",
        "--seed",
        "3",
        expect=code,
    )
    assert data["layer"] == layer
    assert data["passed"] is (code == 0)
    if code:
        assert data["counterexample"]["spec"]["ceil_mode"] is True


# --------------------------------------------------------------------------------------
# net
# --------------------------------------------------------------------------------------


def test_net_vgg16(capsys) -> None:
    data = run_json(capsys, "net", "vgg16")
    assert data["total_params"] == 138_357_544  # torchvision's published VGG-16 count
    assert data["rows"][0]["output_shape"] == [64, 224, 224]
    code, out, _ = run(capsys, "net", "vgg16", "--markdown")
    assert code == 0
    assert any(line.startswith("| features.0") for line in out.splitlines())
    code, out, _ = run(capsys, "net", "vgg16")
    assert code == 0 and "features.0" in out


def test_net_json_file(capsys, tmp_path) -> None:
    net = {
        "name": "tiny",
        "input_shape": [3, 32, 32],
        "layers": [
            {"name": "c1", "type": "conv", "in_channels": 3, "out_channels": 4, "kernel_size": 5},
            {"name": "p1", "type": "max_pool", "kernel_size": 2},
        ],
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(net))
    data = run_json(capsys, "net", str(path))
    assert [r["output_shape"] for r in data["rows"]] == [[4, 28, 28], [4, 14, 14]]
    assert data["total_params"] == 4 * 75 + 4  # seed 002: 75 weights + 1 bias per kernel
    data = run_json(capsys, "net", str(path), "--in", "3x64x64")
    assert data["rows"][-1]["output_shape"] == [4, 30, 30]


# --------------------------------------------------------------------------------------
# bad command lines: exit 2, one line on stderr, no traceback
# --------------------------------------------------------------------------------------

BROKEN_MODULE = "def f(:\n    pass\n"
RAISING_MODULE = "raise RuntimeError('boom at import')\n"

BAD = [
    # argparse-level
    ("unknown flag", "shape --in 3x32x32 --kernel 3 --bogus"),
    ("abbreviated flag", "shape --in 3x32x32 --kernel 3 --strid 2"),
    ("unknown subcommand", "frobnicate"),
    ("bad choice", "shape --in 3x32x32 --kernel 3 --padding-mode mirror"),
    ("non-int ndim", "shape --in 3x32x32 --kernel 3 --ndim two"),
    ("missing value", "shape --in"),
    # shapes
    ("malformed shape", "shape --in 3xx32 --kernel 3"),
    ("trailing separator", "shape --in 3x32x --kernel 3"),
    ("letters in shape", "shape --in threex32 --kernel 3"),
    ("negative size", "shape --in 3x-32x32 --kernel 3"),
    ("zero size", "shape --in 3x0x32 --kernel 3"),
    ("no spatial dims", "shape --in 32 --kernel 3"),
    ("absurd size", "shape --in 3x99999999999999999x3 --kernel 3"),
    ("missing --in", "shape --kernel 3"),
    ("missing --kernel", "shape --in 3x32x32"),
    ("shape rank vs kernel tuple", "shape --in 3x32x32 --kernel 3,3,3"),
    ("ndim out of range", "shape --in 3x32x32 --kernel 3 --ndim 4"),
    # layer values
    ("zero kernel", "shape --in 3x32x32 --kernel 0"),
    ("zero stride", "shape --in 3x32x32 --kernel 3 --stride 0"),
    ("zero stride in one dim", "shape --in 3x32x32 --kernel 3 --stride 2,0"),
    ("zero dilation", "shape --in 3x32x32 --kernel 3 --dilation 0"),
    ("kernel larger than input", "shape --in 3x4x4 --kernel 7"),
    ("negative padding", "shape --in 3x32x32 --kernel 3 --padding -1"),
    ("malformed pairs", "shape --in 3x32x32 --kernel 3 --padding (1,2,3),(0,1)"),
    ("unbalanced parenthesis", "shape --in 3x32x32 --kernel 3 --padding (1,2"),
    ("unknown padding name", "shape --in 3x32x32 --kernel 3 --padding sane"),
    ("zero out channels", "shape --in 3x32x32 --kernel 3 --out-channels 0"),
    ("non-int out channels", "shape --in 3x32x32 --kernel 3 --out-channels many"),
    ("groups not dividing", "shape --in 3x32x32 --kernel 3 --groups 2"),
    ("reflect padding too large", "shape --in 1x4x4 --kernel 3 --padding 5 --padding-mode reflect"),
    # impossible combinations
    ("same with stride 2", "shape --in 3x32x32 --kernel 3 --stride 2 --padding same"),
    ("output padding without transposed", "shape --in 3x32x32 --kernel 3 --output-padding 1"),
    (
        "output padding >= stride",
        "shape --in 3x8x8 --kernel 3 --transposed --stride 2 --output-padding 2",
    ),
    ("pool with out channels", "shape --in 3x32x32 --pool max --kernel 2 --out-channels 4"),
    ("pool with transposed", "shape --in 3x32x32 --pool max --kernel 2 --transposed"),
    ("ceil mode without pool", "shape --in 3x32x32 --kernel 3 --ceil-mode"),
    ("count-include-pad with max", "shape --in 3x32x32 --pool max --kernel 2 --count-include-pad"),
    ("pool padding > k/2", "shape --in 3x32x32 --pool max --kernel 2 --padding 2"),
    ("transposed circular", "shape --in 3x8x8 --kernel 3 --transposed --padding-mode circular"),
    # explain
    ("--at out of range", "explain --in 3x25x25 --out-channels 5 --kernel 3 --at 5,0,0"),
    ("--at spatial out of range", "explain --in 3x25x25 --kernel 3 --at 0,23,0"),
    ("--at wrong length", "explain --in 3x25x25 --kernel 3 --at 0,0"),
    ("--at malformed", "explain --in 3x25x25 --kernel 3 --at 0,a,0"),
    ("--at negative", "explain --in 3x25x25 --kernel 3 --at 0,-1,0"),
    ("picture with a bad suffix", "explain --in 1x4x4 --kernel 3 --picture {tmp}/s.jpg"),
    ("picture in a missing dir", "explain --in 1x4x4 --kernel 3 --picture {tmp}/no/s.png"),
    ("picture of a 3-D layer", "explain --in 1x4x4x4 --ndim 3 --kernel 3 --picture {tmp}/s.png"),
    # matrix
    ("missing weight file", "matrix --in 1x4x4 --kernel 3 --weight {tmp}/missing.npy"),
    ("weight of wrong shape", "matrix --in 1x4x4 --kernel 3 --weight {tmp}/w22.npy"),
    ("weight not npy", "matrix --in 1x4x4 --kernel 3 --weight {tmp}/not.npy"),
    ("mtx without output", "matrix --in 1x4x4 --kernel 3 --format mtx"),
    ("output without format", "matrix --in 1x4x4 --kernel 3 --output {tmp}/t.txt"),
    ("output dir missing", "matrix --in 1x4x4 --kernel 3 --format png --output {tmp}/no/t.png"),
    ("max pool matrix", "matrix --in 1x4x4 --pool max --kernel 2"),
    ("symbolic mtx", "matrix --in 1x4x4 --kernel 3 --format mtx --output {tmp}/t.mtx"),
    ("symbolic too large", "matrix --in 64x64x64 --out-channels 64 --kernel 3 --format latex"),
    # prove
    ("general with a concrete kernel", "prove --general --kernel 3"),
    ("claim without general", "prove --in 1x4x4 --kernel 3 --claim stride"),
    ("general ndim out of range", "prove --general --ndim 5"),
    ("transposed contradicts claim", "prove --general --transposed --claim stride"),
    # check
    ("module does not exist", "check no_such_module_xyz:conv"),
    ("function does not exist", "check json:no_such_function"),
    ("not callable", "check json:__doc__"),
    ("no colon", "check json"),
    ("malformed function name", "check json:1abc"),
    ("missing python file", "check {tmp}/absent.py:f"),
    ("module with syntax error", "check {tmp}/broken.py:f"),
    ("module raising at import", "check {tmp}/raising.py:f"),
    ("check ndim 0", "check json:dumps --ndim 0"),
    ("check zero examples", "check json:dumps --max-examples 0"),
    # net
    ("unknown network", "net vgg17"),
    ("missing network file", "net {tmp}/missing.json"),
    ("invalid network JSON", "net {tmp}/bad.json"),
    ("network JSON without layers", "net {tmp}/nolayers.json"),
    ("network bad --in", "net vgg16 --in 3x-1x2"),
    ("network wrong channels", "net vgg16 --in 4x224x224"),
    ("network no input shape", "net {tmp}/noinput.json"),
]


@pytest.fixture
def bad_files(tmp_path) -> Path:
    np.save(tmp_path / "w22.npy", np.ones((1, 1, 2, 2)))
    (tmp_path / "not.npy").write_text("this is not numpy")
    (tmp_path / "broken.py").write_text(BROKEN_MODULE)
    (tmp_path / "raising.py").write_text(RAISING_MODULE)
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "nolayers.json").write_text('{"name": "x"}')
    (tmp_path / "noinput.json").write_text(
        json.dumps(
            {
                "layers": [
                    {
                        "name": "c",
                        "type": "conv",
                        "in_channels": 1,
                        "out_channels": 1,
                        "kernel_size": 3,
                    }
                ]
            }
        )
    )
    return tmp_path


def test_bad_table_is_large_enough() -> None:
    assert len(BAD) >= 30
    assert len({why for why, _ in BAD}) == len(BAD)


@pytest.mark.parametrize(("why", "line"), BAD, ids=[why for why, _ in BAD])
def test_bad_command_line(capsys, bad_files, why, line) -> None:
    argv = [a.replace("{tmp}", str(bad_files)) for a in line.split()]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (why, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("convproof: error: ")
    assert out == ""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # issue 16: --padding 1,2,3 blamed --in
        (
            "shape --in 3x32x32 --kernel 3 --padding 1,2,3",
            "--padding must have one entry per spatial dim of --in, got --padding='1,2,3' "
            "(3 dims) with --in='3x32x32'",
        ),
        (
            "shape --in 3x32x32 --kernel 3 --stride 2,2,2",
            "--stride must have one entry per spatial dim of --in, got --stride='2,2,2'",
        ),
        (
            "shape --in 3x32x32 --kernel 3,3 --dilation 1,1,1",
            "--kernel has 2, --dilation has 3 entries",
        ),
        # issue 16: --in 1x3x32x32 --kernel 3 silently became a Conv3d
        (
            "shape --in 1x3x32x32 --kernel 3",
            "--in='1x3x32x32' is ambiguous: N,C,H,W (a 2-D layer with a batch) or C,D,H,W "
            "(a 3-D layer); give --ndim 2 or --ndim 3",
        ),
        ("shape --in 3x32x32 --kernel 3 --ndim 3", "--in must be C,size,size,size or N,C"),
        ("shape --in 1x2x3x4x5x6 --kernel 3", "--in must describe 1, 2 or 3 spatial dims"),
        ("shape --in 3x8x8 --kernel 1,1,1,1", "--kernel must describe 1, 2 or 3 spatial dims"),
    ],
)
def test_option_that_is_wrong_is_named(capsys, line, message) -> None:
    assert main(line.split()) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1


def test_four_numbers_with_ndim(capsys) -> None:
    assert main(["shape", "--in", "1x3x32x32", "--kernel", "3", "--ndim", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["layer"]["ndim"] == 2 and out["weight_shape"] == [1, 3, 3, 3]
    assert main(["shape", "--in", "1x3x32x32", "--kernel", "3", "--ndim", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["layer"]["ndim"] == 3 and out["weight_shape"] == [1, 1, 3, 3, 3]


def test_memory_error_is_one_line(capsys, monkeypatch) -> None:
    def huge(*args, **kwargs):
        raise MemoryError("Unable to allocate 71.4 GiB for an array")

    monkeypatch.setattr("convproof.proofs.concrete.prove", huge)
    code, out, err = run(capsys, "prove", "--in", "1x4x4", "--kernel", "3")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "convproof: error: not enough memory for this size (Unable to allocate 71.4 GiB for an "
        "array); use a smaller --in"
    ]


def test_help_and_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "convproof 0.1.0"
    assert main(["shape", "--help"]) == 0
    assert "--out-channels" in capsys.readouterr().out
    assert main([]) == 0
    assert "shape" in capsys.readouterr().out


# --------------------------------------------------------------------------------------
# the real command (a fresh interpreter)
# --------------------------------------------------------------------------------------


def _python_m(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "convproof", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_subprocess_shape() -> None:
    result = _python_m(
        "shape",
        "--in",
        "3x25x25",
        "--out-channels",
        "5",
        "--kernel",
        "3",
        "--padding",
        "same",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["output_shape"] == [5, 25, 25]


def test_subprocess_bad_input() -> None:
    result = _python_m("shape", "--in", "3x32x32", "--kernel", "3", "--stride", "0")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("convproof: error: --stride must be >= 1")


def test_console_script() -> None:
    exe = shutil.which("convproof")
    if exe is None:
        pytest.skip("the convproof console script is not on PATH (pip install -e . installs it)")
    result = subprocess.run(
        [exe, "explain", "--in", "1x3x3", "--kernel", "2", "--no-bias"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == textwrap.dedent(
        """\
        Z[0,0,0] =
            (channel 0)  X[0,0,0]*W[0,0,0,0] + X[0,0,1]*W[0,0,0,1]
                       + X[0,1,0]*W[0,0,1,0] + X[0,1,1]*W[0,0,1,1]
        4 products (1 input channel x 4 taps)
        """
    )


def test_help_examples_run(capsys, tmp_path, monkeypatch) -> None:
    """Every example in the subcommands' --help runs (files are written to a temp dir)."""
    from convproof.presentation.cli import _EXAMPLES

    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "w.npy", np.ones((1, 1, 3, 3)))
    for lines in _EXAMPLES.values():
        for line in lines:
            argv = line.split()[1:]
            if "mypackage." in line or "path/to/kernels.py" in line:
                continue  # placeholders for the user's own module
            if "torchvision" in line:
                pytest.importorskip("torchvision", reason="the example loads a torchvision model")
            if "my_network.json" in line or "--general" in line or "check" in argv[:1]:
                continue  # covered by other tests (slow or needs a file)
            if "--picture" in argv or "png" in argv:
                pytest.importorskip("matplotlib")
            code, _, err = run(capsys, *argv)
            assert code == 0, (line, err)


# --------------------------------------------------------------------------------------
# convproof.presentation.parse directly
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("1,2", (1, 2)),
        (" 1 , 2 ", (1, 2)),
        ("(1,2),(0,1)", ((1, 2), (0, 1))),
        ("((1,2),(0,1))", ((1, 2), (0, 1))),
        ("[[1, 2], [0, 1]]", ((1, 2), (0, 1))),
        ("((1,2))", ((1, 2),)),  # one axis, (before, after)
        ("(1,2),3", ((1, 2), 3)),  # mixed: pair on axis 0, symmetric on axis 1
        ("same", "same"),
        ("SAME", "SAME"),
        ("SAME_LOWER", "SAME_LOWER"),
    ],
)
def test_parse_padding_forms(text, expected) -> None:
    from convproof.presentation.parse import parse_padding

    assert parse_padding(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "()",
        "(1,2",
        "1,,2",
        "(1,2,3),(0,1)",
        "((1,2),(3,4)),5)",
        "1;2",
        "eval('1')",
        "__import__('os')",
        "-1",
        "(1,-2)",
        "same_upper2",
    ],
)
def test_parse_padding_rejects(text) -> None:
    from convproof.presentation.parse import parse_padding

    with pytest.raises(ValueError, match="--padding must"):
        parse_padding(text)


def test_resolve_callable_forms(tmp_path) -> None:
    from convproof.presentation.parse import resolve_callable

    (tmp_path / "ops.py").write_text(
        "class K:\n    @staticmethod\n    def f(a):\n        return a + 1\n"
    )
    assert resolve_callable(f"{tmp_path / 'ops.py'}:K.f")(1) == 2
    assert resolve_callable("convproof.examples:loop_conv").__name__ == "loop_conv"
    for bad, match in [
        ("os:path.nothing", "has no attribute"),
        ("a:b:c", "module:function"),
        ("os.:getcwd", "start with a module name"),
        ("os:get cwd", "name a function"),
    ]:
        with pytest.raises(ValueError, match=match):
            resolve_callable(bad)


def test_matrix_max_bytes(capsys, tmp_path) -> None:
    """The memory error said "raise max_bytes", which the command line could not do."""
    w = tmp_path / "w.npy"
    np.save(w, np.ones((8, 8, 3, 3)))
    argv = ["matrix", "--in", "8x32x32", "--out-channels", "8", "--kernel", "3", "--padding", "1"]
    argv += ["--weight", str(w), "--format", "npz", "--output", str(tmp_path / "t.npz")]
    assert main([*argv, "--max-bytes", "64K"]) == 2
    err = capsys.readouterr().err
    assert "more than max_bytes=65536 (64.0 KiB)" in err
    assert "pass a larger --max-bytes (like --max-bytes 16G)" in err
    assert "max_bytes=" in err and "pass a larger max_bytes=" not in err
    assert main([*argv, "--max-bytes", "1G"]) == 0
    assert (tmp_path / "t.npz").exists()
    capsys.readouterr()
    assert main(["matrix", "--in", "1x4x4", "--kernel", "3", "--max-bytes", "-5"]) == 2
    assert "--max-bytes must be a byte count" in capsys.readouterr().err


def test_max_pool_certificate_has_no_matrix_line(capsys) -> None:
    """issue 16: a max-pool proof printed "matrix: 4 x 16" right after saying there is none."""
    code, out, _ = run(capsys, "prove", "--in", "1x4x4", "--pool", "max", "--kernel", "2")
    assert code == 0 and out.startswith("PROVED")
    assert "matrix:" not in out
    assert "windows:  4 outputs over 16 inputs" in out
    assert "there is no matrix to compare" in out
