"""The legality table, re-checked by running each rule's witness on the real frameworks.

A witness is a small call that breaks the rule; the framework accepts it (no exception) or
refuses it.  The table in convproof.frameworks.legality must say what the installed
framework does.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

import convproof as cp
from convproof.frameworks.legality import PROFILES, RULES, breaks, legality_table

JAX_REASON = "JAX is not installed (pip install 'jax[cpu]' runs these oracle tests)"
ORT_REASON = "onnxruntime is not installed (pip install onnx onnxruntime runs these tests)"


def _accepts(fn: Any) -> bool:
    try:
        fn()
    except Exception:  # a refusal, whatever the framework raises
        return False
    return True


def _torch_witness(torch: Any, rule: str) -> bool:
    F = torch.nn.functional
    x, w = torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3)
    calls = {
        "negative_padding": lambda: F.conv2d(x, w, padding=-1),
        "empty_output": lambda: F.conv2d(torch.zeros(1, 1, 2, 2), w),
        "pool_padding_over_half_kernel": lambda: F.max_pool2d(x, 3, 1, 2),
        "pool_padding_at_least_kernel": lambda: F.max_pool2d(x, 2, 1, 2),
        "avg_pool_dilation": lambda: F.avg_pool2d(x, 2, 1, 0, dilation=2),
        "same_with_stride": lambda: F.conv2d(x, w, stride=2, padding="same"),
        "same_with_dilation": lambda: F.conv2d(x, w, dilation=2, padding="same"),
        "output_padding_at_least_stride": lambda: F.conv_transpose2d(
            x, w, stride=1, dilation=2, output_padding=1
        ),
        "padding_modes_in_the_call": lambda: torch.nn.Conv2d(1, 1, 3, padding=1,
                                                             padding_mode="reflect")(x),
        "transposed_negative_padding": lambda: F.conv_transpose2d(x, w, padding=-1),
        "pool_negative_padding": lambda: F.max_pool2d(x, 3, 1, -1),
    }  # fmt: skip
    return _accepts(calls[rule])


def _jax_witness(jax: Any, rule: str) -> bool | None:
    lax, jnp = jax.lax, jax.numpy
    x, w = jnp.zeros((1, 5, 5, 1)), jnp.zeros((3, 3, 1, 1))
    dn = ("NHWC", "HWIO", "NHWC")

    def conv(**kw: Any) -> Any:
        kw.setdefault("padding", "VALID")
        kw.setdefault("window_strides", (1, 1))
        return lax.conv_general_dilated(kw.pop("x", x), w, dimension_numbers=dn, **kw)

    def pool(pad: int, dil: int = 1, k: int = 3) -> Any:
        return lax.reduce_window(x, 0.0, lax.add, (1, k, k, 1), (1, 1, 1, 1),
                                 ((0, 0), (pad, pad), (pad, pad), (0, 0)),
                                 window_dilation=(1, dil, dil, 1))  # fmt: skip

    params = inspect.signature(lax.conv_general_dilated).parameters
    calls = {
        "negative_padding": lambda: conv(padding=((-1, -1), (0, 0))),
        "empty_output": lambda: conv(x=jnp.zeros((1, 2, 2, 1))),
        "pool_padding_over_half_kernel": lambda: pool(2),
        "pool_padding_at_least_kernel": lambda: pool(3),
        "avg_pool_dilation": lambda: pool(0, dil=2, k=2),
        "same_with_stride": lambda: conv(padding="SAME", window_strides=(2, 2)),
        "same_with_dilation": lambda: conv(padding="SAME", rhs_dilation=(2, 2)),
        # lax.conv_transpose pads the stride-dilated input: padding p (PyTorch's) is
        # d(k-1) - p there, so p = -1 is 3 on a kernel of 3 (beyond the full output)
        "transposed_negative_padding": lambda: lax.conv_transpose(
            x, w, (1, 1), ((3, 3), (3, 3)), dimension_numbers=dn
        ),
        "pool_negative_padding": lambda: pool(-1),
    }
    if rule == "output_padding_at_least_stride":
        assert "output_padding" not in params  # JAX has no such argument (pads say it all)
        return None
    if rule == "padding_modes_in_the_call":
        return any("mode" in p for p in params)
    return _accepts(calls[rule])


def _tf_witness(tf: Any, keras: Any, rule: str) -> bool:
    x, w = tf.zeros((1, 5, 5, 1)), tf.zeros((3, 3, 1, 1))

    def pads(p: int) -> list[list[int]]:
        return [[0, 0], [p, p], [p, p], [0, 0]]

    def empty_output() -> None:
        # with oneDNN on, TF returns a (1, 2, 2, 1) tensor of uninitialised memory here (no
        # error): only a truly empty result counts as accepting (max_pool2d would SIGFPE)
        y = tf.nn.conv2d(tf.ones((1, 2, 2, 1)), w, 1, "VALID")
        assert 0 in y.shape, y.shape

    layer_in = np.zeros((1, 5, 5, 1), np.float32)
    calls = {
        "negative_padding": lambda: tf.nn.conv2d(x, w, 1, [[0, 0], [-1, -1], [0, 0], [0, 0]]),
        "empty_output": empty_output,
        "pool_padding_over_half_kernel": lambda: tf.nn.max_pool2d(x, 3, 1, pads(2)),
        "pool_padding_at_least_kernel": lambda: tf.nn.max_pool2d(x, 2, 1, pads(2)),
        "avg_pool_dilation": lambda: tf.nn.pool(x, [2, 2], "AVG", strides=[1, 1],
                                                padding="VALID", dilations=[2, 2]),
        "same_with_stride": lambda: tf.nn.conv2d(x, w, 2, "SAME"),
        "same_with_dilation": lambda: tf.nn.conv2d(x, w, 1, "SAME", dilations=2),
        # tf.nn.conv_transpose takes an output shape: the argument is Keras's
        "output_padding_at_least_stride": lambda: keras.layers.Conv2DTranspose(
            1, 3, strides=1, dilation_rate=2, output_padding=1)(layer_in),
        # explicit paddings of conv_transpose are PyTorch's p (a crop of the full output)
        "transposed_negative_padding": lambda: tf.nn.conv2d_transpose(
            x, w, (1, 9, 5, 1), 1, [[0, 0], [-1, -1], [0, 0], [0, 0]]),
        "pool_negative_padding": lambda: tf.nn.max_pool2d(x, 3, 1, pads(-1)),
    }  # fmt: skip
    if rule == "padding_modes_in_the_call":
        params = inspect.signature(tf.nn.convolution).parameters
        return (
            any("mode" in p for p in params)
            or "padding_mode" in keras.layers.Conv2D(1, 3).get_config()
        )
    return _accepts(calls[rule])


def _onnx_witness(rule: str) -> bool:
    import onnxruntime
    from onnx import TensorProto, helper

    def run(op: str, feeds: dict[str, np.ndarray], **attrs: Any) -> Any:
        node = helper.make_node(op, list(feeds), ["y"], **attrs)
        vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in feeds]
        out = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
        model = helper.make_model(
            helper.make_graph([node], "w", vi, out),
            opset_imports=[helper.make_opsetid("", 19)],
        )
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4  # refusals are expected: keep stderr quiet
        sess = onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        return sess.run(None, feeds)

    x = np.zeros((1, 1, 5, 5), np.float32)
    w = np.zeros((1, 1, 3, 3), np.float32)
    xw = {"x": x, "w": w}
    calls = {
        "negative_padding": lambda: run("Conv", xw, kernel_shape=[3, 3], pads=[-1, -1, 0, 0]),
        "empty_output": lambda: run("Conv", {"x": x[:, :, :2, :2], "w": w}, kernel_shape=[3, 3]),
        "pool_padding_over_half_kernel": lambda: run("MaxPool", {"x": x}, kernel_shape=[3, 3],
                                                     pads=[2, 2, 2, 2]),
        "pool_padding_at_least_kernel": lambda: run("MaxPool", {"x": x}, kernel_shape=[2, 2],
                                                    pads=[2, 2, 2, 2]),
        "avg_pool_dilation": lambda: run("AveragePool", {"x": x}, kernel_shape=[2, 2],
                                         dilations=[2, 2]),
        "same_with_stride": lambda: run("Conv", xw, kernel_shape=[3, 3], strides=[2, 2],
                                        auto_pad="SAME_UPPER"),
        "same_with_dilation": lambda: run("Conv", xw, kernel_shape=[3, 3], dilations=[2, 2],
                                          auto_pad="SAME_UPPER"),
        "output_padding_at_least_stride": lambda: run("ConvTranspose", xw, kernel_shape=[3, 3],
                                                      dilations=[2, 2], output_padding=[1, 1]),
        "padding_modes_in_the_call": lambda: run("Conv", xw, kernel_shape=[3, 3],
                                                 pads=[1, 1, 1, 1], padding_mode="reflect"),
        "transposed_negative_padding": lambda: run("ConvTranspose", xw, kernel_shape=[3, 3],
                                                   pads=[-1, -1, 0, 0]),
        "pool_negative_padding": lambda: run("MaxPool", {"x": x}, kernel_shape=[3, 3],
                                             pads=[-1, -1, 0, 0]),
    }  # fmt: skip
    return _accepts(calls[rule])


@pytest.mark.torch
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_pytorch_column(rule, torch) -> None:
    assert _torch_witness(torch, rule.name) is rule.accepted["pytorch"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_jax_column(rule) -> None:
    jax = pytest.importorskip("jax", reason=JAX_REASON)
    assert _jax_witness(jax, rule.name) is rule.accepted["jax"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_onnx_column(rule) -> None:
    pytest.importorskip("onnx", reason=ORT_REASON)
    pytest.importorskip("onnxruntime", reason=ORT_REASON)
    assert _onnx_witness(rule.name) is rule.accepted["onnx"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_tensorflow_column(rule, tensorflow, keras) -> None:
    assert _tf_witness(tensorflow, keras, rule.name) is rule.accepted["tensorflow"]


def test_convproof_specs_follow_the_pytorch_column() -> None:
    # the rules PyTorch refuses are refused by convproof's specs too
    with pytest.raises(cp.ConvProofError, match="half the kernel"):
        cp.PoolSpec(kind="max", kernel_size=3, padding=2)
    with pytest.raises(cp.ConvProofError, match="dilation"):
        cp.PoolSpec(kind="avg", kernel_size=2, dilation=2)
    with pytest.raises(cp.ConvProofError, match="stride"):
        cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, padding="same")
    with pytest.raises(cp.ConvProofError, match="padding"):
        cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=-1)
    with pytest.raises(cp.ConvProofError, match="empty"):
        cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3).output_shape((1, 2, 2))


def test_breaks_and_table() -> None:
    t = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, dilation=2,
                             output_padding=1)  # fmt: skip
    assert breaks(t, "onnx") == ("output_padding_at_least_stride",)
    assert breaks(t, "pytorch") == () and breaks(t, "jax") == ()
    s = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, padding="SAME_UPPER")
    assert breaks(s, "pytorch") == ("same_with_stride",)
    assert breaks(s, "tensorflow") == ()  # TF names SAME with any stride
    assert breaks(t, "tensorflow") == ("output_padding_at_least_stride",)
    with pytest.raises(cp.ConvProofError, match="profile must be one of"):
        breaks(s, "keras")
    table = legality_table()
    assert table.count("\n") == len(RULES) + 1 and "| same_with_dilation |" in table
    assert all(p in table.splitlines()[0] for p in PROFILES)
