"""The ONNX operator test cases (``onnx.backend.test.case.node``) run against convproof.

The ``onnx`` package ships, for every operator, node test cases: a one-node model, its inputs
and the expected outputs (computed by ONNX's reference code), checked by its backend runner
with ``rtol=1e-3, atol=1e-7``.  :func:`onnx_node_cases` loads the cases of the windowed
operators (Conv, ConvTranspose, MaxPool, AveragePool, LpPool, GlobalAveragePool,
GlobalMaxPool), :func:`spec_from_onnx_node` reads a node's attributes into a convproof spec
(or says why it cannot be expressed yet), and :func:`run_onnx_case` computes the case with
:func:`convproof.conv` and compares at the runner's tolerance.

Specs are built under ``legality="onnx"`` (pooling padding above half the kernel, dilated
average pooling, ONNX's ``LpPool`` with ``|x|``); ``MaxPool``'s second output is
:func:`convproof.onnx_max_pool_indices` (a flat index over the whole input tensor).

Examples
--------
>>> from convproof.frameworks.onnx_cases import spec_from_onnx_node
>>> spec = spec_from_onnx_node("Conv", {"kernel_shape": [3, 3], "pads": [1, 0, 1, 0],
...                            "strides": [2, 2]}, [(1, 1, 7, 5), (1, 1, 3, 3)])
>>> spec.padding, spec.stride
(((1, 1), (0, 0)), (2, 2))
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convproof.constructions.numeric import conv
from convproof.constructions.onnx_indices import onnx_max_pool_indices
from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

__all__ = [
    "ONNX_OPERATORS",
    "OnnxCase",
    "OnnxCaseResult",
    "onnx_node_cases",
    "run_onnx_case",
    "spec_from_onnx_node",
]

ONNX_OPERATORS = (
    "Conv",
    "ConvTranspose",
    "MaxPool",
    "AveragePool",
    "LpPool",
    "GlobalAveragePool",
    "GlobalMaxPool",
)
_MODULES = (
    "conv",
    "convtranspose",
    "maxpool",
    "averagepool",
    "lppool",
    "globalaveragepool",
    "globalmaxpool",
)


@dataclass(frozen=True, eq=False)
class OnnxCase:
    """One ONNX node test case: operator, attributes, inputs, expected outputs, tolerance."""

    name: str
    op_type: str
    attributes: dict[str, Any]
    inputs: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]
    rtol: float
    atol: float


@dataclass(frozen=True)
class OnnxCaseResult:
    """``status``: ``"agrees"``, ``"differs"`` or ``"not expressible"`` (``reason`` says why)."""

    name: str
    status: str
    reason: str = ""
    spec: Any = None
    max_abs_error: float | None = None


def onnx_node_cases() -> list[OnnxCase]:
    """The node test cases of the windowed operators shipped with the installed ``onnx``.

    Only the seven operator modules are imported (their test-case classes register the cases
    when defined); ONNX's own generators warn about casts, which is silenced here.

    Raises
    ------
    ModuleNotFoundError
        If ``onnx`` is not installed.
    """
    import onnx
    from onnx import numpy_helper

    node_cases = importlib.import_module("onnx.backend.test.case.node")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in _MODULES:
            importlib.import_module(f"onnx.backend.test.case.node.{name}")
    out = []
    for case in node_cases._NodeTestCases:
        node = case.model.graph.node[0]
        if node.op_type not in ONNX_OPERATORS:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()}
        inputs, outputs = case.data_sets[0]

        def arrays(values: Sequence[Any]) -> tuple[np.ndarray, ...]:
            return tuple(
                numpy_helper.to_array(v) if not isinstance(v, np.ndarray) else v for v in values
            )

        out.append(
            OnnxCase(
                name=case.name,
                op_type=node.op_type,
                attributes=attrs,
                inputs=arrays(inputs),
                outputs=arrays(outputs),
                rtol=case.rtol,
                atol=case.atol,
            )
        )
    return out


def _pairs(attrs: dict[str, Any], n: int) -> tuple[tuple[int, int], ...]:
    pads = list(attrs.get("pads", [0] * (2 * n)))
    return tuple((int(pads[j]), int(pads[j + n])) for j in range(n))


def _padding(attrs: dict[str, Any], n: int) -> Any:
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return auto
    if auto == "VALID":
        return "valid"
    return _pairs(attrs, n)


def spec_from_onnx_node(
    op_type: str, attributes: dict[str, Any], input_shapes: Sequence[Sequence[int]]
) -> ConvSpec | ConvTransposeSpec | PoolSpec:
    """A convproof spec computing this ONNX node, or ConvProofError saying why it cannot.

    Parameters
    ----------
    op_type : str
        One of :data:`ONNX_OPERATORS`.
    attributes : dict
        The node's attributes (strings decoded).
    input_shapes : sequence of tuple of int
        Shapes of the node's inputs (``X``, then ``W`` and ``B`` for convolutions).

    Raises
    ------
    ConvProofError
        With ``not expressible yet: ...`` for what convproof cannot compute yet, or a spec's
        own error for attributes PyTorch's rules refuse.
    """
    x_shape = tuple(input_shapes[0])
    n = len(x_shape) - 2
    a = attributes
    if op_type in ("GlobalAveragePool", "GlobalMaxPool"):
        kind = "avg" if op_type == "GlobalAveragePool" else "max"
        return PoolSpec(kind=kind, kernel_size=x_shape[2:], stride=1, ndim=n, legality="onnx")
    if op_type in ("MaxPool", "AveragePool", "LpPool"):
        kind = {"MaxPool": "max", "AveragePool": "avg", "LpPool": "lp"}[op_type]
        k = tuple(a["kernel_shape"])
        return PoolSpec(
            kind=kind,
            kernel_size=k,
            stride=tuple(a.get("strides", [1] * n)),  # ONNX's default stride is 1
            padding=_padding(a, n),
            dilation=tuple(a.get("dilations", [1] * n)),
            ceil_mode=bool(a.get("ceil_mode", 0)),
            count_include_pad=bool(a.get("count_include_pad", 0)),  # ONNX's default is 0
            ndim=n,
            norm_type=int(a.get("p", 2)) if kind == "lp" else None,  # ONNX's default p is 2
            legality="onnx",
        )
    w_shape = tuple(input_shapes[1])
    group = int(a.get("group", 1))
    k = tuple(a.get("kernel_shape", w_shape[2:]))
    s = tuple(a.get("strides", [1] * n))
    d = tuple(a.get("dilations", [1] * n))
    bias = len(input_shapes) > 2
    if op_type == "Conv":
        return ConvSpec(
            in_channels=x_shape[1], out_channels=w_shape[0], kernel_size=k, stride=s,
            padding=_padding(a, n), dilation=d, groups=group, bias=bias, ndim=n,
            legality="onnx",
        )  # fmt: skip
    op = tuple(a.get("output_padding", [0] * n))
    padding: Any = _padding(a, n)
    if "output_shape" in a:
        # ONNX: total = s(i - 1) + op + k_eff - output_shape, split by auto_pad; a negative
        # end padding lengthens the output, as output_padding does
        pairs, ops = [], []
        for j in range(n):
            keff = d[j] * (k[j] - 1) + 1
            total = s[j] * (x_shape[2 + j] - 1) + op[j] + keff - a["output_shape"][j]
            half = total // 2  # floor: a negative total lengthens the end (the cases agree)
            if a.get("auto_pad", "NOTSET") == "SAME_UPPER":
                lo, hi = half, total - half
            else:
                lo, hi = total - half, half
            if lo < 0:
                raise ConvProofError(
                    f"not expressible yet: negative padding at the start ({lo}) along dim {j}"
                )
            extra = op[j] + max(0, -hi)
            pairs.append((lo, max(hi, 0)))
            ops.append(extra if hi < 0 else op[j])
        padding, op = tuple(pairs), tuple(ops)
    return ConvTransposeSpec(
        in_channels=x_shape[1], out_channels=w_shape[1] * group, kernel_size=k, stride=s,
        padding=padding, output_padding=op, dilation=d, groups=group, bias=bias, ndim=n,
        legality="onnx",
    )  # fmt: skip


def run_onnx_case(case: OnnxCase) -> OnnxCaseResult:
    """Compute one ONNX case with convproof and compare at the case's tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> from convproof.frameworks.onnx_cases import OnnxCase, run_onnx_case
    >>> x = np.arange(5, dtype=np.float32).reshape(1, 1, 5)
    >>> case = OnnxCase("mine", "MaxPool", {"kernel_shape": [2]}, (x,),
    ...                 (np.array([[[1, 2, 3, 4]]], dtype=np.float32),), 1e-3, 1e-7)
    >>> run_onnx_case(case).status
    'agrees'
    """
    try:
        spec = spec_from_onnx_node(case.op_type, case.attributes, [v.shape for v in case.inputs])
        x = case.inputs[0]
        if isinstance(spec, PoolSpec):
            got = [conv(spec, x)]
            if len(case.outputs) > 1:  # MaxPool's Indices
                order = int(case.attributes.get("storage_order", 0))
                got.append(onnx_max_pool_indices(spec, x, storage_order=order))
        else:
            got = [conv(spec, x, case.inputs[1], case.inputs[2] if spec.bias else None)]
    except ConvProofError as exc:
        return OnnxCaseResult(case.name, "not expressible", str(exc))
    if len(got) != len(case.outputs):
        return OnnxCaseResult(case.name, "not expressible", f"{len(case.outputs)} outputs", spec)
    err = 0.0
    for g, want in zip(got, case.outputs):
        if g.shape != want.shape:
            return OnnxCaseResult(case.name, "differs", f"shape {g.shape} != {want.shape}", spec)
        diff = np.abs(g.astype(np.float64) - want.astype(np.float64))
        err = max(err, float(np.max(diff, initial=0.0)))
        if want.dtype.kind in "iu" and not np.array_equal(g, want):  # indices: exactly
            return OnnxCaseResult(case.name, "differs", "indices differ", spec, err)
        if not np.allclose(g, want, rtol=case.rtol, atol=case.atol):
            return OnnxCaseResult(case.name, "differs", "", spec, err)
    return OnnxCaseResult(case.name, "agrees", "", spec, err)
