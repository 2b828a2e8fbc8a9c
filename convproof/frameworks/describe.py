"""Layer descriptions in and out: ONNX nodes and model files, ``jax.lax`` convolution arguments.

==========================  ===========================================  ====================
direction                   function                                     checked against
==========================  ===========================================  ====================
spec -> ONNX node           :func:`onnx_node`                            onnxruntime (ports)
ONNX node -> spec           :func:`spec_from_onnx_node`                  ONNX's node cases
ONNX model file -> specs    :func:`specs_from_onnx_model`                onnx shape inference
spec -> JAX arguments       ``cp.port(spec, to="jax").params``           JAX (ports)
JAX arguments -> spec       :func:`spec_from_jax_conv`                   JAX
==========================  ===========================================  ====================

PyTorch modules are read and built by :mod:`convproof.frameworks.torch_modules`
(:func:`convproof.spec_from_torch`, :func:`convproof.torch_module`), Keras layer configs by
:mod:`convproof.frameworks.keras`.

Examples
--------
>>> import convproof as cp
>>> from convproof.frameworks.describe import onnx_node
>>> op, attrs = onnx_node(cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3, stride=2,
...                                   padding="SAME_UPPER"))
>>> op, attrs["auto_pad"], attrs["strides"]
('Conv', 'SAME_UPPER', [2, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convproof.errors import ConvProofError
from convproof.frameworks.onnx_cases import spec_from_onnx_node
from convproof.frameworks.port import port
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

__all__ = ["onnx_node", "spec_from_jax_conv", "spec_from_onnx_node", "specs_from_onnx_model"]

Spec = ConvSpec | ConvTransposeSpec | PoolSpec


def onnx_node(spec: Spec, input_shape: Sequence[int] | None = None) -> tuple[str, dict[str, Any]]:
    """The ONNX operator and attributes computing ``spec`` on its own (no pre-pad).

    Raises
    ------
    ConvProofError
        When one node cannot say it (a padding mode needs a ``Pad`` node first; the message
        names the port that can).
    """
    p = port(spec, to="onnx", input_shape=input_shape)
    if p.pre_pad is not None:
        raise ConvProofError(
            f"spec needs an explicit pre-pad before the ONNX node (padding_mode or padding "
            f"{p.pre_pad!r}); cp.port(spec, to='onnx') gives it, got spec={spec!r}"
        )
    return p.function.split(".")[1], dict(p.params)


def specs_from_onnx_model(model: Any) -> list[tuple[str, Spec]]:
    """The Conv, ConvTranspose and pooling nodes of an ONNX model as ``(node name, spec)``.

    Parameters
    ----------
    model : str, path or onnx.ModelProto
        Input shapes come from ONNX shape inference (static shapes needed).

    Raises
    ------
    ConvProofError
        For a node convproof cannot express yet (the reason is in the message), or a node
        whose input shapes are not known statically.
    """
    import onnx

    proto = onnx.load(str(model)) if not isinstance(model, onnx.ModelProto) else model
    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes: dict[str, tuple[int, ...]] = {t.name: tuple(t.dims) for t in inferred.graph.initializer}
    for vi in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = tuple(d.dim_value for d in dims)
    ops = ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool")
    out = []
    for i, node in enumerate(inferred.graph.node):
        if node.op_type not in ops:
            continue
        name = node.name or f"{node.op_type}_{i}"
        inputs = [n for n in node.input if n]
        missing = [n for n in inputs if n not in shapes]
        if missing:
            raise ConvProofError(
                f"node {name!r} needs static input shapes, got unknown shapes for {missing}"
            )
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()}
        if node.op_type == "MaxPool" and len([n for n in node.output if n]) > 1:
            raise ConvProofError(f"node {name!r}: not expressible yet: max-pool indices")
        out.append((name, spec_from_onnx_node(node.op_type, attrs, [shapes[n] for n in inputs])))
    return out


def spec_from_jax_conv(
    lhs_shape: Sequence[int],
    rhs_shape: Sequence[int],
    window_strides: Sequence[int],
    padding: Any,
    *,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: tuple[str, str, str] | None = None,
    feature_group_count: int = 1,
    bias: bool = False,
) -> ConvSpec:
    """The :class:`ConvSpec` of a ``jax.lax.conv_general_dilated`` call (string layouts).

    ``padding`` is ``"SAME"``, ``"SAME_LOWER"``, ``"VALID"`` or ``(low, high)`` pairs;
    ``dimension_numbers`` like ``("NHWC", "HWIO", "NHWC")`` (default: channels first).

    Raises
    ------
    ConvProofError
        For ``lhs_dilation`` other than 1 (a transposed conv written with a flipped kernel:
        not read back yet), negative padding (JAX crops; PyTorch's rules refuse it), or
        batch-grouped convolutions.

    Examples
    --------
    >>> from convproof.frameworks.describe import spec_from_jax_conv
    >>> spec_from_jax_conv((1, 32, 32, 3), (3, 3, 3, 8), (2, 2), "SAME",
    ...                    dimension_numbers=("NHWC", "HWIO", "NHWC")).padding
    'SAME_UPPER'
    """
    n = len(lhs_shape) - 2
    if lhs_dilation is not None and any(v != 1 for v in lhs_dilation):
        raise ConvProofError(
            f"lhs_dilation must be 1 (transposed convs are not read back yet), "
            f"got lhs_dilation={tuple(lhs_dilation)!r}"
        )
    lhs_spec, rhs_spec, _ = dimension_numbers or ("NC" + "DHW"[3 - n :], "OI" + "DHW"[3 - n :], "")
    spatial = [c for c in lhs_spec if c not in "NC"]
    c_in = lhs_shape[lhs_spec.index("C")]
    c_out = rhs_shape[rhs_spec.index("O")]
    kernel = tuple(rhs_shape[rhs_spec.index(c)] for c in spatial)
    if isinstance(padding, str):
        names = {"SAME": "SAME_UPPER", "SAME_LOWER": "SAME_LOWER", "VALID": "valid"}
        if padding not in names:
            raise ConvProofError(
                f"padding must be 'SAME', 'SAME_LOWER', 'VALID' or pairs, got padding={padding!r}"
            )
        pad: Any = names[padding]
    else:
        pad = tuple((int(lo), int(hi)) for lo, hi in padding)
    return ConvSpec(
        in_channels=c_in,
        out_channels=c_out,
        kernel_size=kernel,
        stride=tuple(window_strides),
        padding=pad,
        dilation=tuple(rhs_dilation or (1,) * n),
        groups=feature_group_count,
        bias=bias,
        ndim=n,
    )
