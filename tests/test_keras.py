"""Keras layer configs in and out (cp.spec_from_keras, cp.keras_config), against real Keras.

The dict tests need no TensorFlow: expected specs are worked out by hand from Keras's and
TF's documented output sizes.  The oracle tests build real Keras 3 layers (TensorFlow
backend, CPU), set random weights, and compare the layer's output with ``cp.conv`` after
hand-written layout transposes, and with the ports of the imported spec (``port`` from
TensorFlow to PyTorch and onnxruntime; not JAX, which can abort a process that has loaded
TensorFlow: tests/conftest.py runs these tests after every JAX test).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convproof as cp

ORT_REASON = "onnxruntime is not installed (pip install onnx onnxruntime runs these tests)"
# 300 generated Keras layers per direction in CI (HYPOTHESIS_PROFILE=ci); 30 locally (dev)
PER_DIRECTION = settings(
    max_examples=300 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _layer(name: str, **cfg: Any) -> dict[str, Any]:
    return {"class_name": name, "config": cfg}


# (Keras layer or pair, input shape, the spec worked out by hand)
KNOWN = [
    (_layer("Conv2D", filters=8, kernel_size=3, strides=2, padding="same"), (None, 32, 32, 3),
     cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3, stride=2, padding="SAME_UPPER")),
    (_layer("Conv1D", filters=2, kernel_size=3, dilation_rate=2, padding="causal",
            use_bias=False), (10, 4),
     cp.ConvSpec(in_channels=4, out_channels=2, kernel_size=3, dilation=2, padding=((4, 0),),
                 bias=False)),
    (_layer("Convolution3D", filters=4, kernel_size=(1, 2, 3), groups=2,
            data_format="channels_first"), (6, 5, 5, 5),
     cp.ConvSpec(in_channels=6, out_channels=4, kernel_size=(1, 2, 3), groups=2)),
    (_layer("DepthwiseConv2D", kernel_size=3, depth_multiplier=2, strides=2, dilation_rate=2),
     (None, 9, 9, 3),
     cp.ConvSpec(in_channels=3, out_channels=6, kernel_size=3, groups=3, stride=2, dilation=2)),
    # TF's conv_transpose "same": output i*s, pads of the forward conv, total k_eff - s
    (_layer("Conv2DTranspose", filters=4, kernel_size=3, strides=2, padding="same"), (5, 5, 8),
     cp.ConvTransposeSpec(in_channels=8, out_channels=4, kernel_size=3, stride=2,
                          padding=((0, 1), (0, 1)))),
    (_layer("Conv1DTranspose", filters=1, kernel_size=4, strides=2, padding="same"), (5, 1),
     cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=4, stride=2, padding=1,
                          ndim=1)),
    # kernel 1 < stride 2: no padding, output_padding 1 gives i*s
    (_layer("Conv1DTranspose", filters=1, kernel_size=1, strides=2, padding="same"), (5, 1),
     cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=1, stride=2,
                          output_padding=1, ndim=1)),
    # "same" with output_padding 1: o = (i-1)s + k%2 + 1 = 2i, total 3 - 2 = 1
    (_layer("Conv1DTranspose", filters=1, kernel_size=3, strides=2, padding="same",
            output_padding=1), (5, 1),
     cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2,
                          padding=((0, 1),), ndim=1)),
    # "valid", output_padding None: max(k, s) - k = 2 extra at the end
    (_layer("Conv1DTranspose", filters=1, kernel_size=1, strides=3), (5, 1),
     cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=1, stride=3,
                          output_padding=2, ndim=1)),
    (_layer("MaxPool2D", pool_size=2), (None, 8, 8, 3),
     cp.PoolSpec(kind="max", kernel_size=2, stride=2)),
    (_layer("AveragePooling1D", pool_size=3, strides=1, padding="same"), (8, 3),
     cp.PoolSpec(kind="avg", kernel_size=3, stride=1, padding="SAME_UPPER",
                 count_include_pad=False, ndim=1)),
    (_layer("GlobalAveragePooling2D", data_format="channels_first"), (3, 7, 5),
     cp.PoolSpec(kind="avg", kernel_size=(7, 5), stride=(7, 5))),
    ([_layer("ZeroPadding2D", padding=((1, 2), (0, 1))), _layer("Conv2D", filters=2,
                                                                kernel_size=3)],
     (None, 8, 8, 3),
     cp.ConvSpec(in_channels=3, out_channels=2, kernel_size=3, padding=((1, 2), (0, 1)))),
    ([_layer("ZeroPadding1D", padding=(1, 0)), _layer("AveragePooling1D", pool_size=2)],
     (None, 8, 3),
     cp.PoolSpec(kind="avg", kernel_size=2, padding=((1, 0),), ndim=1)),
    ([_layer("Conv1DTranspose", filters=2, kernel_size=3, strides=2, output_padding=1),
      _layer("Cropping1D", cropping=(2, 1))], (None, 6, 3),
     cp.ConvTransposeSpec(in_channels=3, out_channels=2, kernel_size=3, stride=2,
                          padding=((2, 1),), output_padding=1)),
]  # fmt: skip


@pytest.mark.parametrize(("layer", "shape", "spec"), KNOWN)
def test_spec_from_keras_known_layers(layer: Any, shape: tuple, spec: cp.Spec) -> None:
    assert cp.spec_from_keras(layer, input_shape=shape) == spec


def test_separable_is_two_specs() -> None:
    sep = _layer("SeparableConv2D", filters=5, kernel_size=3, depth_multiplier=2, strides=2,
                 padding="same")  # fmt: skip
    dw, pw = cp.spec_from_keras(sep, input_shape=(None, 9, 9, 3))
    assert dw == cp.ConvSpec(in_channels=3, out_channels=6, kernel_size=3, groups=3, stride=2,
                             padding="SAME_UPPER", bias=False)  # fmt: skip
    assert pw == cp.ConvSpec(in_channels=6, out_channels=5, kernel_size=1)


@pytest.mark.parametrize(("layer", "shape", "spec"), [k for k in KNOWN if k[0] != KNOWN[2][0]])
def test_keras_config_round_trip(layer: Any, shape: tuple, spec: cp.Spec) -> None:
    # spec -> Keras -> spec is the identity on every layer Keras can express
    assert cp.spec_from_keras(cp.keras_config(spec), input_shape=shape) == spec


@pytest.mark.parametrize(
    ("spec", "config"),
    [
        (cp.ConvSpec(in_channels=3, out_channels=2, kernel_size=3, padding=1), "same"),
        (cp.ConvSpec(in_channels=3, out_channels=2, kernel_size=3, padding="same"), "same"),
        (cp.ConvSpec(in_channels=3, out_channels=2, kernel_size=4, padding="same"), "same"),
        (cp.ConvSpec(in_channels=3, out_channels=2, kernel_size=3, stride=2, padding=1),
         ["ZeroPadding2D", "Conv2D"]),  # at stride 2, SAME is (0, 1) on even sizes
        (cp.PoolSpec(kind="max", kernel_size=3, stride=1, padding=1), "same"),
        (cp.PoolSpec(kind="avg", kernel_size=3, stride=1, padding=1),
         ["ZeroPadding2D", "AveragePooling2D"]),
        (cp.ConvTransposeSpec(in_channels=2, out_channels=2, kernel_size=3, stride=2,
                              padding=((0, 1), (0, 1))), "same"),
        # PyTorch's usual 2x upsampler is TF's "same" shifted by one pixel (keras PR 22876):
        # same output size, so Keras needs a crop
        (cp.ConvTransposeSpec(in_channels=2, out_channels=2, kernel_size=3, stride=2,
                              padding=1, output_padding=1),
         ["Conv2DTranspose", "Cropping2D"]),
    ],
)  # fmt: skip
def test_keras_config_names_padding_when_exact(spec: cp.Spec, config: Any) -> None:
    got = cp.keras_config(spec)
    if isinstance(config, str):
        assert got["config"]["padding"] == config
    else:
        assert [layer["class_name"] for layer in got] == config


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cp.spec_from_keras(_layer("Dense", units=3)), "class_name must be one of"),
        (lambda: cp.spec_from_keras({"config": {}}), "class_name"),
        (lambda: cp.spec_from_keras(3), "layer must be a Keras layer"),
        (lambda: cp.spec_from_keras(_layer("Conv2D", filters=2, kernel_size=3)),
         "input_shape must be given"),
        (lambda: cp.spec_from_keras(_layer("GlobalMaxPooling1D"), input_shape=(None, None, 3)),
         "input_shape must be given"),
        (lambda: cp.spec_from_keras(_layer("Conv2D", filters=2, kernel_size=3),
                                    input_shape=(8, 3)), "input_shape must have 3 or 4"),
        (lambda: cp.spec_from_keras(_layer("Conv2D", filters=2, kernel_size=3,
                                           data_format="NHWC"), input_shape=(8, 8, 3)),
         "data_format must be"),
        (lambda: cp.spec_from_keras(_layer("Conv2D", filters=2, kernel_size=(3, 3, 3)),
                                    input_shape=(8, 8, 3)), "kernel_size must be"),
        (lambda: cp.spec_from_keras(_layer("Conv2D", filters=2, kernel_size=3,
                                           padding="full"), input_shape=(8, 8, 3)),
         "padding must be one of"),
        (lambda: cp.spec_from_keras(_layer("ZeroPadding2D", padding=1)), "in a list"),
        (lambda: cp.spec_from_keras([_layer("ZeroPadding1D", padding=1),
                                     _layer("MaxPooling1D", pool_size=3)]), "-inf"),
        (lambda: cp.spec_from_keras([_layer("Conv1D", filters=1, kernel_size=3),
                                     _layer("Cropping1D", cropping=1)], input_shape=(9, 1)),
         "layers must be"),
        (lambda: cp.keras_config(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3,
                                             padding=1, padding_mode="reflect")), "zeros only"),
        (lambda: cp.keras_config(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3,
                                             padding="SAME_LOWER")), "SAME_LOWER"),
        (lambda: cp.keras_config(cp.PoolSpec(kind="max", kernel_size=2, ceil_mode=True)),
         "ceil mode"),
        (lambda: cp.keras_config(cp.PoolSpec(kind="max", kernel_size=3, stride=2, padding=1)),
         "max pooling with explicit padding"),
        (lambda: cp.keras_config(cp.ConvTransposeSpec(in_channels=2, out_channels=2,
                                                      kernel_size=3, groups=2)), "groups"),
        (lambda: cp.keras_config(cp.ConvTransposeSpec(in_channels=1, out_channels=1,
                                                      kernel_size=3, dilation=2,
                                                      output_padding=1)), "< stride"),
        (lambda: cp.keras_config(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3),
                                 data_format="NCHW"), "data_format must be"),
    ],
)  # fmt: skip
def test_bad_input_says_what(call: Any, match: str) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        call()


def test_layouts_and_weights() -> None:
    assert cp.keras_layout(_layer("Conv3D")) == ("NDHWC", "DHWIO")
    assert cp.keras_layout(_layer("Conv2DTranspose", data_format="channels_first")) == (
        "NCHW",
        "HWOI",
    )
    rng = np.random.default_rng(1)
    for spec in (
        cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=(2, 3), groups=2),
        cp.ConvTransposeSpec(in_channels=3, out_channels=2, kernel_size=3, ndim=1),
    ):
        w = rng.standard_normal(spec.weight_shape)
        k = cp.weight_to_keras(spec, w)
        assert np.array_equal(cp.weight_from_keras(spec, k), w)
    # DepthwiseConv's (k, C, m): output channel c*m + j is kernel[..., c, j]
    dw = cp.ConvSpec(in_channels=2, out_channels=6, kernel_size=1, groups=2, ndim=1)
    k = np.arange(6.0).reshape(1, 2, 3)
    assert cp.weight_from_keras(dw, k).ravel().tolist() == [0, 1, 2, 3, 4, 5]
    with pytest.raises(cp.ConvProofError, match="kernel must have the Keras shape"):
        cp.weight_from_keras(dw, np.zeros((1, 3, 2)))
    with pytest.raises(cp.ConvProofError, match="weight must have shape"):
        cp.weight_to_keras(dw, np.zeros((1, 3, 2)))


# ---- against real Keras --------------------------------------------------------------


@st.composite
def keras_layers(draw: st.DrawFn) -> tuple[list[dict[str, Any]], tuple[int, ...]]:
    """A Keras layer (or padding/cropping pair) Keras runs on the CPU, and an input shape."""
    family = draw(st.sampled_from(["conv", "transpose", "depthwise", "separable", "pool",
                                   "global", "zero_pad", "crop"]))  # fmt: skip
    n = draw(st.sampled_from([1, 2] if family in ("depthwise", "separable") else [1, 2, 3]))
    small = st.integers(1, 3)
    k = tuple(draw(small) for _ in range(n))
    s = tuple(draw(small) for _ in range(n))
    stride_one = all(e == 1 for e in s)
    # TF refuses dilation > 1 with stride > 1 in conv, and in transposed convs on the CPU
    d = (
        tuple(draw(st.integers(1, 2)) for _ in range(n))
        if family in ("depthwise", "separable") or (family == "conv" and stride_one)
        else (1,) * n
    )
    fmt = draw(st.sampled_from(["channels_last", "channels_first"]))
    pad = draw(st.sampled_from(["valid", "same"]))
    c = draw(st.integers(1, 3))
    common = dict(kernel_size=k, strides=s, dilation_rate=d, padding=pad, data_format=fmt)
    filters = draw(st.integers(1, 3))
    layers: list[dict[str, Any]]
    if family in ("conv", "zero_pad"):
        g = draw(st.sampled_from([g for g in (1, 2) if c % g == 0]))
        conv = _layer(f"Conv{n}D", filters=filters * g, groups=g, **common)
        if family == "conv":
            if n == 1 and draw(st.booleans()):
                conv["config"]["padding"] = "causal"
            layers = [conv]
        else:
            pads = [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in range(n)]
            pool = draw(st.booleans())
            inner = (
                _layer(f"AveragePooling{n}D", pool_size=[2 * max(p) or 1 for p in pads],
                       strides=s, data_format=fmt)
                if pool else conv
            )  # fmt: skip
            inner["config"]["padding"] = "valid"
            amounts = pads[0] if n == 1 else pads
            layers = [_layer(f"ZeroPadding{n}D", padding=amounts, data_format=fmt), inner]
    elif family in ("transpose", "crop"):
        op = draw(st.one_of(st.none(), st.tuples(*[st.integers(0, e - 1) for e in s])))
        if pad == "same" and op is not None and any(e % 2 + o < 1 for e, o in zip(k, op)):
            op = None  # Keras's output size (i-1)s + k%2 + op is then one short: TF refuses
        conv = _layer(f"Conv{n}DTranspose", filters=filters, output_padding=op, **common)
        layers = [conv]
        if family == "crop":
            conv["config"]["padding"] = "valid"
            crop = [[draw(st.integers(0, 1)), draw(st.integers(0, 1))] for _ in range(n)]
            if n == 1:  # Cropping1D takes one pair and crops channels-last data only
                conv["config"]["data_format"] = fmt = "channels_last"
                layers.append(_layer("Cropping1D", cropping=crop[0]))
            else:
                layers.append(_layer(f"Cropping{n}D", cropping=crop, data_format=fmt))
    elif family in ("depthwise", "separable"):
        m = draw(st.integers(1, 2))
        name = "DepthwiseConv" if family == "depthwise" else "SeparableConv"
        extra = {} if family == "depthwise" else {"filters": filters}
        layers = [_layer(f"{name}{n}D", depth_multiplier=m, **extra, **common)]
    elif family == "pool":
        kind = draw(st.sampled_from(["MaxPooling", "AveragePooling"]))
        layers = [_layer(f"{kind}{n}D", pool_size=k, strides=s, padding=pad, data_format=fmt)]
    else:
        kind = draw(st.sampled_from(["GlobalMaxPooling", "GlobalAveragePooling"]))
        layers = [_layer(f"{kind}{n}D", data_format=fmt, keepdims=draw(st.booleans()))]
    for layer in layers:
        if "Conv" in layer["class_name"]:
            layer["config"]["use_bias"] = draw(st.booleans())
    spatial = tuple(draw(st.integers(1, 7)) for _ in range(n))
    shape = (2, *spatial, c) if fmt == "channels_last" else (2, c, *spatial)
    return layers, shape


def _torch_weight(kernel: np.ndarray, n: int, depthwise: bool) -> np.ndarray:
    """Keras kernel -> PyTorch layout, written out here (not weight_from_keras)."""
    if depthwise:  # (*k, C, m) -> (*k, 1, C*m)
        kernel = kernel.reshape((*kernel.shape[:n], 1, -1))
    return np.transpose(kernel, (n + 1, n, *range(n)))


def _bias_on_wrong_axis(cfg: dict[str, Any], out_shape: tuple) -> bool:
    """Keras 3.15's TF ``ops.add`` turns a ``(1, C, 1..)`` bias into ``tf.nn.bias_add`` with
    NHWC whenever the last axis also has size C: channels-first conv layers then add the
    bias along the last spatial axis (see test_keras_channels_first_bias_bug)."""
    return (
        cfg.get("data_format") == "channels_first"
        and bool(cfg.get("use_bias", False))
        and len(out_shape) > 2
        and out_shape[-1] == out_shape[1]
    )


def _keras_run(keras: Any, layers: list[dict[str, Any]], x: np.ndarray, seed: int) -> tuple:
    """Build the Keras layers, set integer weights, run; return (objects, weights, output)."""
    rng = np.random.default_rng(seed)
    objs, weights, y = [], [], x
    for cfg in layers:
        obj = getattr(keras.layers, cfg["class_name"]).from_config(cfg["config"])
        obj.build(y.shape)
        w = [rng.integers(-3, 4, v.shape).astype(np.float32) for v in obj.get_weights()]
        out = obj.compute_output_shape(y.shape)
        if _bias_on_wrong_axis(cfg["config"], out):
            w[-1] = np.zeros_like(w[-1])  # Keras's own bug, pinned in its test below
        obj.set_weights(w)
        objs.append(obj)
        weights.append(w)
        y = np.asarray(obj(y))
    return objs, weights, y


def _to_channels_first(a: np.ndarray, fmt: str) -> np.ndarray:
    return a if fmt == "channels_first" else np.moveaxis(a, -1, 1)


def _convproof_run(
    specs: Any, weights: list, x: np.ndarray, n: int, class_name: str, run: Any
) -> np.ndarray:
    """Run the imported spec(s) with the Keras weights moved to PyTorch layout."""
    specs = specs if isinstance(specs, tuple) else (specs,)
    ws = [w for w in weights if w]
    if not ws:
        return run(specs[0], x, None, None)
    w = ws[0]
    if class_name.startswith("SeparableConv"):
        dw, pw = specs
        y = run(dw, x, _torch_weight(w[0], n, True), None)
        return run(pw, y, _torch_weight(w[1], n, False), w[2] if len(w) > 2 else None)
    depthwise = class_name.startswith("DepthwiseConv")
    return run(specs[0], x, _torch_weight(w[0], n, depthwise), w[1] if len(w) > 1 else None)


def _keras_case(keras: Any, case: tuple) -> tuple:
    """(spec(s), Keras weights, channels-first input, Keras output in channels-first, n, name);
    layers whose output convproof refuses (empty) are rejected before Keras runs them (TF's
    oneDNN max pool dies on an empty output)."""
    layers, shape = case
    name, cfg = layers[0]["class_name"], layers[0]["config"]
    fmt, n = cfg["data_format"], len(shape) - 2
    specs = cp.spec_from_keras(layers if len(layers) == 2 else layers[0], input_shape=shape)
    x = np.random.default_rng(len(shape)).integers(-3, 4, shape).astype(np.float32)
    x_cf = _to_channels_first(x, fmt)
    try:
        c_shape = x_cf.shape
        for spec in specs if isinstance(specs, tuple) else (specs,):
            c_shape = spec.output_shape(c_shape)
    except cp.ConvProofError:
        assume(False)
    objs, weights, y = _keras_run(keras, layers, x, seed=sum(shape))
    # the built layer objects give the same spec as their configs
    if not name.startswith("Global"):
        assert cp.spec_from_keras(objs if len(objs) == 2 else objs[0]) == specs
    y_cf = _to_channels_first(y, fmt).reshape(c_shape)  # keepdims=False: (N, C)
    return specs, weights, x_cf, y_cf, n, name


def _conv(spec: cp.Spec, x: np.ndarray, w: Any, b: Any) -> np.ndarray:
    return cp.conv(spec, x) if w is None else cp.conv(spec, x, w, b)


@pytest.mark.slow
@PER_DIRECTION
@given(case=keras_layers())
def test_keras_layers_equal_convproof(case: tuple, keras) -> None:
    specs, weights, x, want, n, name = _keras_case(keras, case)
    got = _convproof_run(specs, weights, x, n, name, _conv)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3, err_msg=f"{case} {specs}")


@pytest.mark.slow
# not "jax": with TensorFlow loaded in the process, a JAX compile can abort it (seen with
# TF 2.21 and jaxlib 0.10); the JAX port is checked against JAX in tests/test_port.py
@pytest.mark.parametrize("to", ["pytorch", "onnx"])
@PER_DIRECTION
@given(case=keras_layers())
def test_ports_from_keras_agree_with_keras(case: tuple, to: str, keras, request) -> None:
    # port FROM TensorFlow: spec_from_keras, then port to the other framework and run there
    if to == "pytorch":
        request.getfixturevalue("torch")
    else:
        for module in ("onnx", "onnxruntime"):
            pytest.importorskip(module, reason=ORT_REASON)
    specs, weights, x, want, n, name = _keras_case(keras, case)

    def run(spec: cp.Spec, x: np.ndarray, w: Any, b: Any) -> np.ndarray:
        try:
            p = cp.port(spec, to=to)
        except cp.ConvProofError as exc:  # a stated refusal (e.g. PyTorch pooling SAME)
            assert "cannot be ported" in str(exc)
            return _conv(spec, x, w, b)
        assert x.shape[2:] in p.agrees_for
        return p.run(x) if w is None else p.run(x, w, b)

    got = _convproof_run(specs, weights, x, n, name, run)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3, err_msg=f"{case} {specs}")


@pytest.mark.parametrize(("layer", "shape", "spec"), KNOWN)
def test_known_layers_on_keras(layer: Any, shape: tuple, spec: cp.Spec, keras) -> None:
    # every hand-worked row above, run on real Keras and compared with cp.conv
    layers = layer if isinstance(layer, list) else [layer]
    layers = [{**e, "config": {"data_format": "channels_last", **e["config"]}} for e in layers]
    if layers[-1]["class_name"] == "Cropping1D":
        del layers[-1]["config"]["data_format"]
    dims = tuple(6 if e is None else e for e in shape[-(spec.ndim + 1) :])
    specs, weights, x, want, n, name = _keras_case(keras, (layers, (2, *dims)))
    assert specs == spec
    got = _convproof_run(specs, weights, x, n, name, _conv)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


def test_keras_channels_first_bias_bug(keras) -> None:
    # found by test_keras_layers_equal_convproof: Conv1D(2, 1, data_format="channels_first")
    # on a length-2 input adds bias[l] at position l instead of bias[c] to channel c
    # (keras/src/backend/tensorflow/numpy.py add(): the bias_add shortcut picks NHWC when
    # x1.shape[-1] == len(bias)).  When this fails, Keras is fixed: drop the workaround.
    layer = keras.layers.Conv1D(2, 1, data_format="channels_first")
    x = np.zeros((1, 1, 2), np.float32)
    layer.build(x.shape)
    layer.set_weights([np.zeros((1, 1, 2), np.float32), np.array([1.0, 2.0], np.float32)])
    want = cp.conv(cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=1, ndim=1), x,
                   np.zeros((2, 1, 1), np.float32), np.array([1.0, 2.0], np.float32))  # fmt: skip
    assert want[0].tolist() == [[1.0, 1.0], [2.0, 2.0]]
    assert np.asarray(layer(x))[0].tolist() == [[1.0, 2.0], [1.0, 2.0]]  # Keras: wrong axis
    assert _bias_on_wrong_axis(layer.get_config(), (1, 2, 2))
    # a length-3 output is right
    assert np.asarray(layer(np.zeros((1, 1, 3), np.float32)))[0].tolist() == [[1.0] * 3, [2.0] * 3]
