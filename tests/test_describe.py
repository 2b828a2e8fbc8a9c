"""Layer descriptions: ONNX nodes and model files, jax.lax arguments, read back into specs."""

from __future__ import annotations

import numpy as np
import pytest

import convproof as cp
from convproof.frameworks.describe import (
    onnx_node,
    spec_from_jax_conv,
    specs_from_onnx_model,
)

ORT_REASON = "onnx is not installed (pip install onnx runs these tests)"
JAX_REASON = "JAX is not installed (pip install 'jax[cpu]' runs these oracle tests)"

SPECS = [
    cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=2,
                padding=((1, 0), (2, 1)), dilation=(1, 2), groups=2),
    cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3, stride=2, padding="SAME_LOWER"),
    cp.ConvTransposeSpec(in_channels=4, out_channels=2, kernel_size=3, stride=2, padding=1,
                         output_padding=1, bias=True),
    cp.PoolSpec(kind="max", kernel_size=3, stride=2, padding=1, ceil_mode=True),
    cp.PoolSpec(kind="avg", kernel_size=2, count_include_pad=False, padding=1),
]  # fmt: skip


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_onnx_model_file_round_trip(spec: cp.Spec, tmp_path) -> None:
    onnx = pytest.importorskip("onnx", reason=ORT_REASON)
    from onnx import TensorProto, helper, numpy_helper

    op, attrs = onnx_node(spec)
    x_shape = (1, getattr(spec, "in_channels", 3), 9, 10)
    inputs = ["x"]
    inits = []
    if not isinstance(spec, cp.PoolSpec):
        inits.append(numpy_helper.from_array(np.zeros(spec.weight_shape, np.float32), "w"))
        inputs.append("w")
        if spec.bias:
            inits.append(numpy_helper.from_array(np.zeros(spec.bias_shape, np.float32), "b"))
            inputs.append("b")
    graph = helper.make_graph(
        [helper.make_node(op, inputs, ["y"], name="layer", **attrs)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=inits,
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)]), path)
    ((name, back),) = specs_from_onnx_model(path)
    assert name == "layer"
    # the same layer: same output shape, and equal on every input size (agreement)
    assert back.output_shape(x_shape) == spec.output_shape(x_shape)
    assert cp.agreement(spec, back).axes == cp.agreement(spec, spec).axes


def test_onnx_node_refuses_what_needs_a_pad_node() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
                       padding_mode="reflect")  # fmt: skip
    with pytest.raises(cp.ConvProofError, match="pre-pad"):
        onnx_node(spec)


def test_jax_arguments_read_back_and_run(rng: np.random.Generator) -> None:
    jax = pytest.importorskip("jax", reason=JAX_REASON)
    for spec in SPECS[:2]:
        p = cp.port(spec, to="jax")
        x = rng.integers(-3, 4, (1, spec.in_channels, 9, 10)).astype(np.float32)
        w = rng.integers(-3, 4, spec.weight_shape).astype(np.float32)
        back = spec_from_jax_conv(p.transform_input(x).shape, p.transform_weight(w).shape,
                                  **p.params)  # fmt: skip
        assert back == cp.spec_from_dict({**spec.to_dict(), "bias": False})
        y = jax.lax.conv_general_dilated(p.transform_input(x), p.transform_weight(w), **p.params)
        np.testing.assert_allclose(p.transform_output(np.asarray(y)),
                                   cp.conv(back, x, w), atol=1e-4)  # fmt: skip


def test_jax_refusals() -> None:
    with pytest.raises(cp.ConvProofError, match="lhs_dilation"):
        spec_from_jax_conv((1, 1, 5), (1, 1, 3), (1,), "VALID", lhs_dilation=(2,))
    with pytest.raises(cp.ConvProofError, match="padding must be"):
        spec_from_jax_conv((1, 1, 5), (1, 1, 3), (1,), "FULL")
