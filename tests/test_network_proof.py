"""Tests for convproof.networks.proof (prove every layer of a network) and ``convproof prove
--net`` / ``--model``.

Independent references: layer shapes and monomial counts worked out by hand from the
architecture (AlexNet's first layer below), PyTorch's own modules (tests/nets_torch.py) for
the torch path, planted defects in the library's block construction.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import convproof as cp
import convproof.constructions.matrix as cpm
from convproof.presentation.cli import main
from convproof.proofs import concrete as P

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_alexnet_every_conv_and_pool_layer_proved() -> None:
    result = cp.prove_network(cp.load_network("alexnet"), (3, 64, 64))
    assert result.status == "proved" and bool(result)
    kinds = [(layer.name, layer.kind) for layer in result.layers]
    assert kinds[:3] == [("features.0", "conv"), ("features.2", "max_pool"), ("features.3", "conv")]
    assert [k for _, k in kinds].count("conv") == 5 and len(kinds) == 8
    first = result.layers[0]
    # conv 11x11, stride 4, padding 2 on 64: (64 + 4 - 11) // 4 + 1 = 15 outputs per axis;
    # taps inside the input per axis: 9 (a=0) + 13 * 11 + 10 (a=14) = 162, so
    # 64 * 3 * 162**2 x*w monomials + 64 * 15 * 15 bias terms
    assert (first.input_shape, first.output_shape) == ((3, 64, 64), (64, 15, 15))
    assert first.result.monomials == 64 * 3 * 162**2 + 64 * 15 * 15
    assert ("classifier.1", "linear") in result.skipped
    assert result.monomials == sum(layer.result.monomials for layer in result.layers)
    text = str(result).splitlines()
    assert len(text) == 9 and text[0].startswith("PROVED  features.0  conv 3x64x64 -> 64x15x15")
    assert text[-1].startswith("PROVED: 8 layers of alexnet at input 3x64x64")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == "proved" and len(data["layers"]) == 8


def test_batch_axis_and_network_input_shapes() -> None:
    net = cp.Network(
        [
            ("down", cp.ConvTransposeSpec(in_channels=2, out_channels=3, kernel_size=2, stride=2)),
            ("avg", cp.PoolSpec(kind="avg", kernel_size=3, padding=1, stride=2)),
            ("act", cp.Activation()),
        ],
        name="t",
    )
    result = cp.prove_network(net, (5, 2, 4, 4))  # batch 5: the proofs are per sample
    assert [(lay.input_shape, lay.output_shape) for lay in result.layers] == [
        ((2, 4, 4), (3, 8, 8)),
        ((3, 8, 8), (3, 4, 4)),
    ]
    assert result.skipped == (("act", "relu"),) and result.input_shape == (5, 2, 4, 4)


def test_a_broken_layer_refutes_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real = cpm._block_entries

    def broken(plan: Any, *args: Any) -> Any:
        rows, cols, taps, divisors = real(plan, *args)
        if plan.c_out == 192:  # AlexNet's second conv (64 -> 192): one column off by one
            cols = cols.copy()
            cols[rows.size // 2] += 1
        return rows, cols, taps, divisors

    monkeypatch.setattr(cpm, "_block_entries", broken)
    result = cp.prove_network(cp.load_network("alexnet"), (3, 64, 64))
    assert result.status == "refuted" and not result
    statuses = {layer.name: layer.result.status for layer in result.layers}
    assert statuses.pop("features.3") == "refuted"
    assert set(statuses.values()) == {"proved"}
    assert "REFUTED  features.3" in str(result)


def test_bad_models() -> None:
    with pytest.raises(cp.ConvProofError, match="model must be a convproof Network"):
        cp.prove_network(object(), (3, 8, 8))
    with pytest.raises(cp.ConvProofError, match="input_shape must"):
        cp.prove_network(cp.load_network("alexnet"), (3, 64))
    with pytest.raises(cp.ConvProofError, match="input_shape must hold integers"):
        import sympy

        cp.prove_network(cp.load_network("alexnet"), (3, sympy.Symbol("n", integer=True), 64))


def test_one_progress_bar_over_all_layers(capsys: pytest.CaptureFixture[str]) -> None:
    net = cp.load_network("resnet18")
    assert cp.prove_network(net, (3, 32, 32), progress=True)
    err = capsys.readouterr().err
    assert "proving resnet18" in err and "proving:" not in err  # no per-layer bars
    assert cp.prove_network(net, (3, 32, 32))  # default: quiet, stderr is not a terminal
    assert capsys.readouterr().err == ""


def test_torch_module(torch: Any) -> None:
    try:
        from nets_torch import resnet18
    except ImportError:  # pragma: no cover
        from tests.nets_torch import resnet18
    result = cp.prove_network(resnet18(), (3, 32, 32))
    assert result.status == "proved"
    names = [layer.name for layer in result.layers]
    assert len(names) == 21 and "layer2.0.downsample.0" in names
    assert names == [
        layer.name for layer in cp.prove_network(cp.load_network("resnet18"), (3, 32, 32)).layers
    ]


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def test_cli_prove_net(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--net", "resnet18", "--in", "3x32x32"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 22 and err == ""
    assert lines[0].startswith("PROVED  conv1  conv 3x32x32 -> 64x16x16  ")
    assert lines[0].endswith(" s") and "monomials" in lines[0]
    assert lines[-1].startswith("PROVED: 21 layers of resnet18 at input 3x32x32")
    assert main(["prove", "--net", "alexnet", "--in", "3x64x64", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "proved" and len(data["layers"]) == 8


def test_cli_prove_net_recorded_shape_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = cp.Network([("c", cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=3))], name="n")
    data = net.to_dict()
    data["input_shape"] = [1, 6, 6]
    path = tmp_path / "n.json"
    path.write_text(json.dumps(data))
    assert main(["prove", "--net", str(path), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("PROVED  c  conv 1x6x6 -> 2x4x4  ")


def test_cli_prove_net_refuted_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = cpm._block_entries

    def broken(*args: Any) -> Any:
        rows, cols, taps, divisors = real(*args)
        return rows, cols, np.zeros_like(taps), divisors  # every entry tap 0

    monkeypatch.setattr(cpm, "_block_entries", broken)
    assert main(["prove", "--net", "alexnet", "--in", "3x64x64", "--quiet"]) == 1
    assert "REFUTED  features.0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--net", "resnet18", "--kernel", "3"], "--net proves the layers the network describes"),
        (["--net", "resnet18", "--model", "math:hypot"], "give one of --net and --model"),
        (["--net", "nosuch"], "unknown network 'nosuch'"),
        (["--model", "math:log", "--in", "3x8x8"], "could not be called without arguments"),
        (["--model", "builtins:dict", "--in", "3x8x8"], "must name a torch.nn.Module"),
    ],
)
def test_cli_prove_net_bad_input(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prove", *argv]) == 2
    assert message in capsys.readouterr().err


def test_cli_prove_model(torch: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--model", "tests.nets_torch:resnet18", "--in", "3x32x32", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 22 and lines[-1].startswith("PROVED: 21 layers")


def test_benchmark_smoke(monkeypatch: pytest.MonkeyPatch) -> None:
    import bench_prove_networks as bench

    row = bench.network_child("resnet18", 32)
    assert row["status"] == "proved" and row["conv_layers"] == 20
    ours = bench.first_layer_child(False, 16, 4)
    monkeypatch.setattr(P, "stream_compare", P.stream_compare)  # the peer patches it
    peer = bench.first_layer_child(True, 16, 4)
    # per axis 3 * 16 - 2 = 46 (position, tap) pairs inside the input (padding 1)
    monomials = 4 * 3 * 46**2 + 4 * 16 * 16
    assert ours["status"] == peer["status"] == "proved"
    assert ours["monomials"] == peer["monomials"] == monomials
