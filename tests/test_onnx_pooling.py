"""Lp pooling and ONNX MaxPool's indices, against PyTorch, onnxruntime and loop references.

Expected values come from ``torch.nn.functional.lp_pool*``, onnxruntime's ``LpPool`` and
``MaxPool`` kernels, and the loops below (written from the definitions), never from
convproof.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import find
from hypothesis.errors import InvalidArgument

import convproof as cp

ORT_REASON = "onnxruntime is not installed (pip install onnx onnxruntime runs these tests)"


def _lp_loop(spec: cp.PoolSpec, x: np.ndarray) -> np.ndarray:
    """ONNX LpPool by its definition: (sum over the window of |x|**p) ** (1/p), pads = 0."""
    pads = spec.resolve_padding(x.shape)
    out = np.zeros(spec.output_shape(x.shape))
    p = spec.norm_type
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for a in itertools.product(*(range(o) for o in out.shape[2:])):
            total = 0.0
            for u in itertools.product(*(range(k) for k in spec.kernel_size)):
                pos = [a[i] * spec.stride[i] + u[i] * spec.dilation[i] - pads[i][0]
                       for i in range(spec.ndim)]  # fmt: skip
                if all(0 <= q < m for q, m in zip(pos, x.shape[2:])):
                    total += abs(float(x[(n, c, *pos)])) ** p
            out[(n, c, *a)] = total ** (1 / p)
    return out


# --------------------------------------------------------------------------------------
# the spec
# --------------------------------------------------------------------------------------

BAD = [
    (lambda: cp.PoolSpec(kind="lp", kernel_size=2), "norm_type must be a finite number > 0"),
    (lambda: cp.PoolSpec(kind="lp", norm_type=0, kernel_size=2), "got norm_type=0"),
    (lambda: cp.PoolSpec(kind="lp", norm_type=math.inf, kernel_size=2), "got norm_type=inf"),
    (lambda: cp.PoolSpec(kind="lp", norm_type=True, kernel_size=2), "got norm_type=True"),
    (lambda: cp.PoolSpec(kind="max", norm_type=2, kernel_size=2), "norm_type is for kind='lp'"),
    (lambda: cp.PoolSpec(kind="l2", kernel_size=2), "kind must be 'max', 'avg' or 'lp'"),
    (
        lambda: cp.PoolSpec(kind="lp", norm_type=2, kernel_size=3, padding=1),
        "padding must be 0 for Lp pooling under legality='pytorch'",
    ),
    (
        lambda: cp.PoolSpec(kind="lp", norm_type=2, kernel_size=3, dilation=2),
        "dilation must be 1 for Lp pooling under legality='pytorch'",
    ),
    (
        lambda: cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, legality="jax"),
        "kind='lp' needs legality='pytorch' or 'onnx'",
    ),
    (
        lambda: cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, ndim=3).output_shape(
            (1, 1, 2, 2)
        ),
        "3-D Lp pooling needs every input size >= kernel_size",
    ),
]


def test_bad_input() -> None:
    for call, pattern in BAD:  # every entry raises, with its message
        with pytest.raises(cp.ConvProofError, match=pattern):
            call()


def test_the_spec() -> None:
    lp = cp.PoolSpec(kind="lp", norm_type=2.0, kernel_size=2, legality="onnx", padding=1)
    assert lp.norm_type == 2 and lp.kind_name == "lp_pool" and not lp.is_linear
    assert repr(lp).endswith("legality='onnx', norm_type=2)")
    assert cp.spec_from_dict(lp.to_dict()) == lp
    assert "norm_type" not in cp.PoolSpec(kind="max", kernel_size=2).to_dict()
    assert cp.PoolSpec(kind="lp", norm_type=1.5, kernel_size=2).norm_type == 1.5


@pytest.mark.parametrize(
    "call",
    [
        lambda s: cp.conv_matrix(s, (1, 4)),
        lambda s: cp.prove(s, (1, 4)),
        lambda s: cp.sliding_sum(s, (1, 4)),
        lambda s: cp.coefficient_table(s, (1, 4)),
        lambda s: cp.pool_backward(s, np.ones((1, 4)), np.ones((1, 2))),
        lambda s: cp.conv_backward(s, np.ones((1, 4)), None, np.ones((1, 2))),
    ],  # port computes Lp pooling (tests/test_port_crops_lp.py)
)
@pytest.mark.parametrize("p", [2])  # p=1 under "pytorch" is linear: tests/test_lp_linear.py
def test_constructions_refuse_lp_pooling(call: Any, p: int) -> None:
    spec = cp.PoolSpec(kind="lp", norm_type=p, kernel_size=2, ndim=1)
    with pytest.raises(cp.ConvProofError, match=r"does not support Lp pooling \(kind='lp'\)"):
        call(spec)


# --------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("p", [1, 2, 3, 1.5])
def test_pytorch_lppool(torch, ndim: int, p: float, rng) -> None:
    F = torch.nn.functional
    fn = {1: F.lp_pool1d, 2: F.lp_pool2d, 3: F.lp_pool3d}[ndim]
    for ceil, (k, s) in itertools.product([False, True], [(2, 2), (3, 2), (2, 1)]):
        spec = cp.PoolSpec(kind="lp", norm_type=p, kernel_size=k, stride=s, ceil_mode=ceil,
                           ndim=ndim)  # fmt: skip
        x = rng.standard_normal((2, 3, *(5,) * ndim))
        want = fn(torch.tensor(x), p, k, s, ceil).numpy()
        got = cp.conv(spec, x)
        assert got.shape == want.shape
        # odd and fractional p: a negative sum has no real root, nan in both
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_exact_sum_pool_and_the_ceil_scaling() -> None:
    # PyTorch's LPPool is prod(k) times an average pool of x**p: a ceil-mode window with
    # one tap inside the input is doubled (by hand: [1+2, 3+4, 2*5])
    spec = cp.PoolSpec(kind="lp", norm_type=1, kernel_size=2, ceil_mode=True, ndim=1)
    x = np.array([[Fraction(1), 2, 3, 4, 5]], dtype=object)
    assert cp.conv(spec, x).tolist() == [[3, 7, 10]]
    onnx = cp.PoolSpec(kind="lp", norm_type=1, kernel_size=2, ceil_mode=True, ndim=1,
                       legality="onnx")  # fmt: skip
    assert cp.conv(onnx, -x).tolist() == [[3, 7, 5]]  # |x|, no scaling


@pytest.mark.parametrize(
    "spec",
    [
        cp.PoolSpec(kind="lp", norm_type=2, kernel_size=(3, 2), stride=(2, 1), padding=(2, 1),
                    dilation=(1, 2), legality="onnx"),
        cp.PoolSpec(kind="lp", norm_type=3, kernel_size=3, stride=2, padding="SAME_LOWER",
                    ceil_mode=True, ndim=1, legality="onnx"),
        cp.PoolSpec(kind="lp", norm_type=1, kernel_size=2, stride=1, padding=((1, 0),) * 3,
                    legality="onnx"),
    ],
    ids=repr,
)  # fmt: skip
def test_onnx_lppool(spec: cp.PoolSpec, rng) -> None:
    x = rng.standard_normal((2, 2, *(5,) * spec.ndim)).astype(np.float32)
    got = cp.conv(spec, x)
    np.testing.assert_allclose(got, _lp_loop(spec, x), rtol=1e-5)
    pytest.importorskip("onnx", reason=ORT_REASON)
    pytest.importorskip("onnxruntime", reason=ORT_REASON)
    attrs: dict[str, Any] = dict(kernel_shape=list(spec.kernel_size), strides=list(spec.stride),
                                 dilations=list(spec.dilation), p=int(spec.norm_type or 0),
                                 ceil_mode=int(spec.ceil_mode))  # fmt: skip
    if isinstance(spec.padding, str):
        attrs["auto_pad"] = spec.padding
    else:
        attrs["pads"] = [a for a, _ in spec.padding] + [b for _, b in spec.padding]
    (want,) = _ort("LpPool", x, attrs, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def _ort(op: str, x: np.ndarray, attrs: dict[str, Any], outputs: int) -> list[np.ndarray]:
    import onnxruntime
    from onnx import TensorProto, helper

    names = ["y", "i"][:outputs]
    node = helper.make_node(op, ["x"], names, **attrs)
    types = [TensorProto.FLOAT, TensorProto.INT64]
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info(n, t, None) for n, t in zip(names, types)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    sess = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return sess.run(None, {"x": x})


# --------------------------------------------------------------------------------------
# the checker and the strategies
# --------------------------------------------------------------------------------------


@pytest.mark.torch
def test_check_pool_lp(torch) -> None:
    F = torch.nn.functional

    def lp(x: Any, norm_type: Any, kernel_size: Any, stride: Any, ceil_mode: Any) -> Any:
        fn = {1: F.lp_pool1d, 2: F.lp_pool2d}[len(kernel_size)]
        k, s = (kernel_size[0], stride[0]) if len(kernel_size) == 1 else (kernel_size, stride)
        return fn(torch.as_tensor(x), norm_type, k, s, ceil_mode).numpy()

    def absolute(x: Any, **kw: Any) -> Any:  # ONNX's |x| where PyTorch has x
        return lp(np.abs(x), **kw)

    def no_ceil(x: Any, **kw: Any) -> Any:  # ceil_mode dropped
        return lp(x, **{**kw, "ceil_mode": False})

    for ndim in (1, 2):
        assert cp.check_pool(lp, kind="lp", ndim=ndim, max_examples=25, seed=0)
    assert not cp.check_pool(absolute, kind="lp", max_examples=25, seed=0)
    assert not cp.check_pool(no_ceil, kind="lp", max_examples=25, seed=0)


def test_check_pool_lp_onnx_profile() -> None:
    # the checker passes pads and dilations under legality="onnx"; the function is the loop
    def loop(x: Any, norm_type: Any, kernel_size: Any, stride: Any, ceil_mode: Any,
             padding: Any, dilation: Any) -> Any:  # fmt: skip
        spec = cp.PoolSpec(kind="lp", norm_type=norm_type, kernel_size=kernel_size,
                           stride=stride, ceil_mode=ceil_mode, padding=padding,
                           dilation=dilation, legality="onnx")  # fmt: skip
        return _lp_loop(spec, np.asarray(x).reshape(-1, *np.shape(x)[-3:]))

    def undilated(x: Any, **kw: Any) -> Any:
        return loop(x, **{**kw, "dilation": 1})

    onnx = dict(kind="lp", ndim=2, batch=True, max_examples=20, seed=0, legality="onnx")
    assert cp.check_pool(loop, **onnx)
    assert not cp.check_pool(undilated, **onnx)


def test_pool_specs_lp() -> None:
    s = cp.strategies
    spec = find(s.pool_specs(ndim=1, kinds=["lp"]), lambda p: p.norm_type == 3)
    assert spec.padding == ((0, 0),) and spec.dilation == (1,)
    onnx = s.pool_specs(ndim=1, kinds=["lp"], legality="onnx", paddings=["int"])
    find(onnx, lambda p: p.padding[0][0] > 0)
    with pytest.raises(InvalidArgument, match="kinds may hold 'lp' only"):
        s.pool_specs(kinds=["lp"], legality="jax").example()
    with pytest.raises(InvalidArgument, match="norm_types must hold"):
        s.pool_specs(kinds=["lp"], norm_types=[0]).example()


# --------------------------------------------------------------------------------------
# ONNX MaxPool indices
# --------------------------------------------------------------------------------------


def _argmax_loop(spec: cp.PoolSpec, x: np.ndarray, storage_order: int) -> np.ndarray:
    """ONNX's Indices by hand: first strict maximum in row-major window order, numbered
    over the whole (N, C, *spatial) tensor, the spatial part row- or column-major."""
    pads = spec.resolve_padding(x.shape)
    out = np.zeros(spec.output_shape(x.shape), dtype=np.int64)
    sp = x.shape[2:]
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for a in itertools.product(*(range(o) for o in out.shape[2:])):
            best, where = -math.inf, None
            for u in itertools.product(*(range(k) for k in spec.kernel_size)):
                pos = [a[i] * spec.stride[i] + u[i] * spec.dilation[i] - pads[i][0]
                       for i in range(spec.ndim)]  # fmt: skip
                if all(0 <= q < m for q, m in zip(pos, sp)) and (
                    where is None or x[(n, c, *pos)] > best
                ):
                    best, where = x[(n, c, *pos)], pos
            assert where is not None
            order = range(spec.ndim) if storage_order else reversed(range(spec.ndim))
            j, step = 0, 1
            for i in order:
                j += where[i] * step
                step *= sp[i]
            out[(n, c, *a)] = (n * x.shape[1] + c) * math.prod(sp) + j
    return out


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize(
    "spec",
    [
        cp.PoolSpec(kind="max", kernel_size=(3, 2), stride=(2, 1), padding=((2, 1), (1, 1)),
                    dilation=(1, 2), legality="onnx"),
        cp.PoolSpec(kind="max", kernel_size=2, stride=1, padding=1, ceil_mode=True,
                    ndim=3, legality="onnx"),
        cp.PoolSpec(kind="max", kernel_size=3, stride=2, padding="SAME_UPPER", ndim=1),
    ],
    ids=repr,
)  # fmt: skip
def test_onnx_max_pool_indices(spec: cp.PoolSpec, storage_order: int, rng) -> None:
    x = rng.integers(-2, 3, (2, 3, *(5,) * spec.ndim)).astype(np.float32)  # many ties
    got = cp.onnx_max_pool_indices(spec, x, storage_order)
    np.testing.assert_array_equal(got, _argmax_loop(spec, x, storage_order))
    # a (C, *spatial) input is one sample; PyTorch's numbering is per plane
    np.testing.assert_array_equal(cp.onnx_max_pool_indices(spec, x[0], storage_order), got[0])
    assert not np.array_equal(cp.max_pool_indices(spec, x), got)
    pytest.importorskip("onnx", reason=ORT_REASON)
    pytest.importorskip("onnxruntime", reason=ORT_REASON)
    attrs: dict[str, Any] = dict(kernel_shape=list(spec.kernel_size), strides=list(spec.stride),
                                 dilations=list(spec.dilation), ceil_mode=int(spec.ceil_mode),
                                 storage_order=storage_order)  # fmt: skip
    if isinstance(spec.padding, str):
        attrs["auto_pad"] = spec.padding
    else:
        attrs["pads"] = [a for a, _ in spec.padding] + [b for _, b in spec.padding]
    y, idx = _ort("MaxPool", x, attrs, 2)
    np.testing.assert_array_equal(cp.conv(spec, x), y)
    np.testing.assert_array_equal(got, idx)


def test_onnx_indices_bad_input() -> None:
    mx = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
    with pytest.raises(cp.ConvProofError, match="storage_order must be 0 or 1, got storage"):
        cp.onnx_max_pool_indices(mx, np.ones((1, 1, 4)), storage_order=2)
    with pytest.raises(cp.ConvProofError, match="max-pooling"):
        cp.onnx_max_pool_indices(cp.PoolSpec(kind="avg", kernel_size=2, ndim=1), np.ones((1, 4)))
