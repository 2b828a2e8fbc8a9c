"""closed_form: nested floor sizes to one line, proved for every size by a symbolic
recurrence plus one period of base cases; checked here against direct evaluation and
against planted wrong forms."""

from __future__ import annotations

import pytest
import sympy

import convproof as cp

H = sympy.Symbol("H", integer=True, positive=True)


def _resnet50_final(h):
    """Independent hand recursion of ResNet-50's stride-2 layers (conv1 7/2 p3, maxpool
    3/2 p1, three 3x3/2 p1 convs): each maps n to floor((n - 1)/2) + 1."""
    for _ in range(5):
        h = (h - 1) // 2 + 1
    return h


def test_resnet50_final_size_is_ceiling_h_over_32_for_every_h():
    s = cp.summary(cp.load_network("resnet50"), (3, H, H))
    e = s.output_shape and s["layer4.2.relu@2"].output_shape[1]
    c = cp.closed_form(e, H)
    assert c.expr == sympy.ceiling(H / 32) and c.proved and c.period == 32 and c.step == 1
    assert "induction" in c.how
    for h in range(1, 300):  # the statement, evaluated independently
        assert _resnet50_final(h) == -(-h // 32)


def test_vgg16_final_size_is_floor_h_over_32():
    s = cp.summary(cp.load_network("vgg16"), (3, H, H))
    c = cp.closed_form(s["features.30"].output_shape[1], H, start=32)
    assert c.expr == sympy.floor(H / 32) and c.proved


def test_planted_forms_are_not_confused():
    # floor((H + 1)/2) differs from ceiling(H/2)? No: equal; floor(H/2) is not.
    c = cp.closed_form(sympy.floor((H + 1) / 2), H)
    assert c.expr == sympy.ceiling(H / 2)
    c = cp.closed_form(sympy.floor(H / 2), H)
    assert c.expr == sympy.floor(H / 2)
    # transposed conv after a pool: 2 * floor(H / 2) is not H
    c = cp.closed_form(2 * sympy.floor(H / 2), H)
    assert c.expr == 2 * sympy.floor(H / 2) and c.step == 2
    with pytest.raises(cp.ConvProofError, match="f\\(H \\+ P\\) = f\\(H\\) \\+ c"):
        cp.closed_form(sympy.floor(H**2 / 2), H)
