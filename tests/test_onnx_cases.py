"""The ONNX operator node test cases, computed by convproof at the ONNX runner's tolerance.

Expected outputs come from the ``onnx`` package (its reference implementation), never from
convproof.  Every case must agree under ``legality="onnx"``: pooling padding above half the
kernel, dilated average pooling, ``LpPool`` and ``MaxPool``'s indices output included.
"""

from __future__ import annotations

import dataclasses

import pytest

ORT_REASON = "onnx is not installed (pip install onnx runs the ONNX operator cases)"


@pytest.fixture(scope="module")
def cases():
    pytest.importorskip("onnx", reason=ORT_REASON)
    from convproof.frameworks.onnx_cases import onnx_node_cases

    return onnx_node_cases()


@pytest.mark.slow
def test_every_onnx_case_agrees(cases) -> None:
    from convproof.frameworks.onnx_cases import ONNX_OPERATORS, run_onnx_case

    assert {c.op_type for c in cases} == set(ONNX_OPERATORS)
    assert len(cases) >= 68  # the onnx release installed here ships 68 such cases
    results = {c.name: run_onnx_case(c) for c in cases}
    failing = {n: (r.status, r.reason) for n, r in results.items() if r.status != "agrees"}
    assert failing == {}
    # the cases that needed the onnx profile, Lp pooling and the indices are among them
    specs = {n: r.spec for n, r in results.items()}
    assert specs["test_averagepool_2d_dilations"].dilation == (2, 2)
    assert specs["test_maxpool_2d_pads"].padding == ((2, 2), (2, 2))
    assert specs["test_lppool_2d_default"].kind == "lp"
    assert all(s.legality == "onnx" for s in specs.values())


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


@pytest.mark.slow
def test_planted_defects_in_the_new_cases_are_caught(cases) -> None:
    # indices in the wrong storage order, a wrong p, a dilation dropped: each case's own
    # expected output refutes it
    from convproof.frameworks.onnx_cases import run_onnx_case

    by_name = {c.name: c for c in cases}
    for name in ("pads", "strides"):  # storage order flipped: row- vs column-major numbering
        argmax = by_name[f"test_maxpool_with_argmax_2d_precomputed_{name}"]
        assert run_onnx_case(argmax).status == "agrees"
        order = 1 - argmax.attributes.get("storage_order", 0)
        flipped = dataclasses.replace(
            argmax, attributes={**argmax.attributes, "storage_order": order}
        )
        assert run_onnx_case(flipped).status == "differs"
    lp = by_name["test_lppool_2d_default"]
    wrong_p = dataclasses.replace(lp, attributes={**lp.attributes, "p": 3})
    assert run_onnx_case(wrong_p).status == "differs"
    dil = by_name["test_averagepool_2d_dilations"]
    undilated = dataclasses.replace(dil, attributes={**dil.attributes, "dilations": [1, 1]})
    assert run_onnx_case(undilated).status != "agrees"
