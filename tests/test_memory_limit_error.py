"""The memory-limit refusal is structured: every guard raises ``MemoryLimitError`` with the
build (``what``), its estimate and the limit as fields, and the CLI words its message from
those fields (``--max-bytes``), not by editing the API's text."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import convproof as cp
from convproof.errors import human_bytes
from convproof.presentation.cli import main

_SPEC = cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3, padding=1)
# the conv's work arrays for a (2, 3, 16, 16) float64 input, by hand: padded 2*3*18*18,
# im2col 2*3*9*16*16, output 2*8*16*16
_CONV_NEED = (2 * 3 * 18 * 18 + 2 * 3 * 9 * 256 + 2 * 8 * 256) * 8


def _refusal(build, limit: int) -> cp.MemoryLimitError:
    with pytest.raises(cp.MemoryLimitError) as info:
        build(limit)
    return info.value


def test_the_fields_are_the_numbers_the_message_states() -> None:
    e = cp.MemoryLimitError("the numeric matrix 9 x 16", 3 * 2**20, 2**20, detail=" of RAM")
    assert (e.what, e.estimate_bytes, e.limit_bytes) == (
        "the numeric matrix 9 x 16",
        3145728,
        2**20,
    )
    assert str(e) == (
        "the numeric matrix 9 x 16 would need about 3.0 MiB of RAM, more than "
        "max_bytes=1048576 (1.0 MiB); pass a larger max_bytes= (or use "
        "convproof.memory_limit(...) / set_max_bytes(...); --max-bytes in the CLI), "
        "or use a smaller input"
    )
    assert isinstance(e, cp.ConvProofError) and isinstance(e, ValueError)
    # pickling and copying keep the fields and the message (the class has no 1-argument form)
    for twin in (pickle.loads(pickle.dumps(e)), copy.copy(e)):
        assert type(twin) is cp.MemoryLimitError and str(twin) == str(e)
        assert (twin.what, twin.estimate_bytes, twin.limit_bytes) == (e.what, 3145728, 2**20)
    cli = e.with_hint("pass a larger --max-bytes", remedy="use a smaller --in")
    assert (cli.what, cli.estimate_bytes, cli.limit_bytes) == (e.what, 3145728, 2**20)
    assert str(cli).endswith("(1.0 MiB); pass a larger --max-bytes, or use a smaller --in")


@pytest.mark.parametrize(
    ("name", "build", "need", "what"),
    [
        (
            "conv",
            lambda m: cp.conv(
                _SPEC, np.ones((2, 3, 16, 16)), np.ones(_SPEC.weight_shape), max_bytes=m
            ),
            _CONV_NEED,
            "conv on an input of shape (2, 3, 16, 16)",
        ),
        (
            "conv_backward",  # twice the forward's work arrays
            lambda m: cp.conv_backward(
                _SPEC,
                np.ones((2, 3, 16, 16)),
                np.ones(_SPEC.weight_shape),
                np.ones((2, 8, 16, 16)),
                max_bytes=m,
            ),
            2 * _CONV_NEED,
            "the backward pass",
        ),
        (
            "conv_matrix",
            lambda m: cp.conv_matrix(_SPEC, (3, 16, 16), max_bytes=m),
            None,  # cp.estimate_bytes(symbolic=True)
            "the symbolic matrix 2048 x 768 with ",
        ),
        (
            "sliding_sum",
            lambda m: cp.sliding_sum(_SPEC, (3, 16, 16), max_bytes=m),
            None,  # cp.sliding_sum_estimate
            "sliding_sum, building about ",
        ),
        (
            "prove",
            lambda m: cp.prove(
                cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3), (1, 8, 8), max_bytes=m
            ),
            None,
            "proving this layer, which compares about 360 monomials",
        ),
    ],
)
def test_every_guard_refuses_with_fields_one_byte_below_its_estimate(
    name, build, need, what
) -> None:
    if need is None:
        need = {
            "conv_matrix": lambda: cp.estimate_bytes(_SPEC, (3, 16, 16), symbolic=True),
            "sliding_sum": lambda: cp.sliding_sum_estimate(_SPEC, (3, 16, 16)).bytes,
            "prove": lambda: _refusal(build, 1).estimate_bytes,  # no public estimate
        }[name]()
    e = _refusal(build, need - 1)
    assert what in e.what, e.what
    assert (e.estimate_bytes, e.limit_bytes) == (need, need - 1)
    assert f"more than max_bytes={need - 1} " in str(e)
    # the limit is the estimate: at the estimate itself the guard lets the build run
    build(need)
    # the context-wide limit is the same guard
    with cp.memory_limit(need - 1), pytest.raises(cp.MemoryLimitError) as info:
        build(None)
    assert info.value.limit_bytes == need - 1


def test_cli_words_the_refusal_from_the_fields(capsys, tmp_path) -> None:
    w = tmp_path / "w.npy"
    np.save(w, np.ones((8, 8, 3, 3)))
    argv = ["matrix", "--in", "8x32x32", "--out-channels", "8", "--kernel", "3", "--padding", "1"]
    argv += ["--weight", str(w), "--format", "npz", "--output", str(tmp_path / "t.npz")]
    spec = cp.ConvSpec(in_channels=8, out_channels=8, kernel_size=3, padding=1)
    with pytest.raises(cp.MemoryLimitError) as info:
        cp.conv_matrix(spec, (8, 32, 32), np.ones((8, 8, 3, 3)), max_bytes=65536)
    api = info.value
    assert main([*argv, "--max-bytes", "64K"]) == 2
    err = capsys.readouterr().err
    # the same build, estimate and limit as the API's refusal; the CLI's way to raise it
    assert api.what in err and f"about {human_bytes(api.estimate_bytes)}," in err
    assert "more than max_bytes=65536 (64.0 KiB); pass a larger --max-bytes" in err
    assert err.rstrip().endswith("or use a smaller --in")
    assert "pass a larger max_bytes=" not in err and "memory_limit(" not in err
