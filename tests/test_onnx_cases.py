"""The ONNX operator node test cases, computed by convproof at the ONNX runner's tolerance.

Expected outputs come from the ``onnx`` package (its reference implementation), never from
convproof.  Every case is either agreeing or listed below as not expressible yet, with the
reason; the list is asserted exactly, so it shrinks as features land (Lp pooling, max-pool
indices, an ``"onnx"`` legality profile for pooling padding above half the kernel and
dilated average pooling).
"""

from __future__ import annotations

import dataclasses

import pytest

ORT_REASON = "onnx is not installed (pip install onnx runs the ONNX operator cases)"

NOT_EXPRESSIBLE = {
    "test_maxpool_with_argmax_2d_precomputed_pads": "max-pool indices",
    "test_maxpool_with_argmax_2d_precomputed_strides": "max-pool indices",
    # ONNX allows pooling padding above half the kernel; PyTorch's rule (the only one yet) not
    "test_maxpool_2d_pads": "at most half the kernel",
    "test_averagepool_2d_pads": "at most half the kernel",
    "test_averagepool_2d_pads_count_include_pad": "at most half the kernel",
    # ONNX AveragePool has dilations (opset 19); PyTorch's AvgPool has none
    "test_averagepool_2d_dilations": "no dilation",
    "test_averagepool_3d_dilations_small": "no dilation",
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True": "no dilation",
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False": "no dilation",
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True": "no dilation",
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False": "no dilation",
    **{
        f"test_lppool_{name}": "Lp pooling"
        for name in (
            "1d_default",
            "2d_default",
            "3d_default",
            "2d_same_upper",
            "2d_same_lower",
            "2d_pads",
            "2d_strides",
            "2d_dilations",
        )
    },
}


@pytest.fixture(scope="module")
def cases():
    pytest.importorskip("onnx", reason=ORT_REASON)
    from convproof.frameworks.onnx_cases import onnx_node_cases

    return onnx_node_cases()


@pytest.mark.slow
def test_every_onnx_case_agrees_or_is_listed_as_not_expressible(cases) -> None:
    from convproof.frameworks.onnx_cases import ONNX_OPERATORS, run_onnx_case

    assert {c.op_type for c in cases} == set(ONNX_OPERATORS)
    results = {c.name: run_onnx_case(c) for c in cases}
    differs = {n: r.reason for n, r in results.items() if r.status == "differs"}
    assert differs == {}
    missing = {n: r.reason for n, r in results.items() if r.status == "not expressible"}
    assert set(missing) == set(NOT_EXPRESSIBLE)
    for name, fragment in NOT_EXPRESSIBLE.items():
        assert fragment in missing[name], (name, missing[name])
    agrees = [n for n, r in results.items() if r.status == "agrees"]
    assert len(agrees) == len(cases) - len(NOT_EXPRESSIBLE) >= 47


@pytest.mark.slow
def test_a_misread_attribute_is_caught(cases) -> None:
    # pads are [begin_1, begin_2, end_1, end_2]; reading them as per-axis pairs shifts the
    # windows, and the case's own expected output refutes it
    from convproof.frameworks.onnx_cases import run_onnx_case

    (case,) = [c for c in cases if c.name == "test_conv_with_strides_and_asymmetric_padding"]
    assert case.attributes["pads"] == [1, 0, 1, 0]
    assert run_onnx_case(case).status == "agrees"
    misread = dataclasses.replace(case, attributes={**case.attributes, "pads": [1, 1, 0, 0]})
    assert run_onnx_case(misread).status == "differs"
    # ONNX's default count_include_pad is 0, PyTorch's is True: the wrong default is caught
    (avg,) = [c for c in cases if c.name == "test_averagepool_2d_precomputed_pads"]
    wrong = dataclasses.replace(avg, attributes={**avg.attributes, "count_include_pad": 1})
    assert run_onnx_case(wrong).status == "differs"
