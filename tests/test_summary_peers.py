"""convproof's summary against torchinfo, fvcore and torchvision's published figures on every
torchvision model of issue 13 (``tests/summary_peers.py`` states each tool's convention):
parameters all equal; MACs equal to the published GFLOPS where convproof models every
operation; every difference from torchinfo attributed, layer by layer, to its stated rule.
Skips with a reason when torchvision or torchinfo is absent; fvcore is compared when installed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from summary_peers import MODELS, NORMS, compare, torchinfo_diff

import convproof as cp

pytestmark = pytest.mark.torch

TV_REASON = "torchvision is not installed (pip install torch==2.14.1 torchvision==0.29.1)"
TI_REASON = "torchinfo is not installed (pip install torchinfo)"


@pytest.fixture
def torchinfo(torch):
    return pytest.importorskip("torchinfo", reason=TI_REASON)


def _small(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5)
    ).eval()


def test_torchinfo_difference_is_its_bias_and_norm_rule_by_hand(torch, torchinfo):
    model, shape = _small(torch), (2, 3, 8, 8)
    s = cp.summary(model, shape)
    stats = torchinfo.summary(model, shape, verbose=0, mode="eval")
    # hand count, torchinfo's rule: conv (4*3*9 + 4) params x 6*6 positions x batch 2,
    # batch norm batch x 8 params, linear batch x (144*5 + 5)
    assert stats.total_mult_adds == 112 * 36 * 2 + 2 * 8 + 2 * 725
    assert s.total_macs == 4 * 36 * 27 + 144 * 5  # convproof: products only, per sample
    diff = torchinfo_diff(model, stats, s, batch=2)
    assert diff == {"bias adds": 2 * 4 * 36 + 2 * 5, "BatchNorm2d": 16}
    assert stats.total_mult_adds - 2 * s.total_macs == sum(diff.values())


def test_torchinfo_difference_names_a_layer_convproof_miscounts(torch, torchinfo):
    """A planted defect: one conv row's MACs off by one (per sample) shows up under Conv2d."""
    import dataclasses

    model, shape = _small(torch), (2, 3, 8, 8)
    s = cp.summary(model, shape)
    stats = torchinfo.summary(model, shape, verbose=0, mode="eval")

    rows = [dataclasses.replace(r, macs=r.macs + 1) if r.name == "0" else r for r in s.rows]
    diff = torchinfo_diff(model, stats, SimpleNamespace(rows=rows), batch=2)
    assert diff["Conv2d"] == -2 and diff["BatchNorm2d"] == 16


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_params_and_macs_agree_with_peers_by_their_conventions(torch, torchinfo, name):
    pytest.importorskip("torchvision", reason=TV_REASON)
    c = compare(name)
    # parameters: one number everywhere
    assert c.cp_params == c.params == c.torchinfo_params
    if c.fvcore_params is not None:
        assert c.fvcore_params == c.params
    if c.published_params is not None:
        assert c.published_params == c.params
    # torchvision's published GMACs (3 decimals): equal when every operation is modelled
    if c.published_gmacs is not None:
        if not c.cp_unknown:
            assert round(c.cp_macs / 1e9, 3) == pytest.approx(c.published_gmacs, abs=1e-9)
        else:  # attention matmuls etc. unknown: what is counted is a lower bound
            assert round(c.cp_macs / 1e9, 3) <= c.published_gmacs
    # torchinfo: conv layers agree layer by layer (no Conv* key); the rest is its stated rule
    diff = c.torchinfo_diff
    assert c.torchinfo_macs - c.cp_macs == sum(diff.values())
    assert {k: diff[k] for k in NORMS if k in diff} == c.norm_rule
    assert diff.get("Linear", 0) == c.linear_rule
    # outside modules torchvision calls only F.interpolate (the segmentation heads), whose
    # MACs convproof counts by its stated convention and torchinfo does not count
    assert diff.get("functional ops", 0) == -c.cp_interpolation_macs
    unknown_kinds = {k for k in diff if k not in ("bias adds", "Linear", "functional ops", *NORMS)}
    assert not unknown_kinds, unknown_kinds
    # fvcore: its conv + linear MACs are convproof's where convproof knows every operation
    if c.fvcore_flops is not None:
        core = sum(c.fvcore_by_op.get(k, 0) for k in ("conv", "linear", "addmm"))
        if not c.cp_unknown:
            assert core == c.cp_linear_macs
        else:
            assert core >= c.cp_linear_macs
