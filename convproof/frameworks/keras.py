"""Keras layer configs in and out: :func:`spec_from_keras` and :func:`keras_config`.

A Keras layer is described by its class name and its ``get_config()`` dict (plus, for the
input channels, the shape it was built with); neither direction imports TensorFlow or Keras
for dicts.  convproof's specs use PyTorch's semantics, so the translation is exact where it
is stated below, and refused (:class:`~convproof.errors.ConvProofError`, naming the
argument) where Keras has no such layer.

=======================================  ============================================
Keras                                    convproof
=======================================  ============================================
``Conv{1,2,3}D``                         :class:`ConvSpec` (``"same"`` =
                                         ``"SAME_UPPER"``, ``"causal"`` = pads
                                         ``(d(k-1), 0)``, ``groups``)
``DepthwiseConv{1,2}D``                  :class:`ConvSpec` with ``groups = in_channels``,
                                         ``out_channels = in_channels * depth_multiplier``
``SeparableConv{1,2}D``                  two specs: that depthwise conv (no bias), then
                                         a 1x1 conv
``Conv{1,2,3}DTranspose``                :class:`ConvTransposeSpec`: ``"valid"`` = pads 0,
                                         ``output_padding`` ``max(k_eff, s) - k_eff`` when
                                         None; ``"same"`` = the pads TF derives from the
                                         output size ``i*s`` (or ``(i-1)s + k_eff % 2 + op``)
``MaxPooling``/``AveragePooling{1,2,3}D``  :class:`PoolSpec` (``"same"`` = ``"SAME_UPPER"``;
                                         averages exclude the padding:
                                         ``count_include_pad=False``)
``Global{Max,Average}Pooling{1,2,3}D``   :class:`PoolSpec` with kernel = stride = the input
                                         size (``input_shape`` needed); ``keepdims=False``
                                         drops the size-1 axes
``ZeroPadding{1,2,3}D`` + layer          the layer with that padding (a ``[padding, layer]``
                                         list; zeros fold into convs and into averages
                                         that count the padding)
layer + ``Cropping{1,2,3}D``             a transposed conv with that much more padding
=======================================  ============================================

``data_format`` is not part of a spec: the spec is the same layer in either layout, and
:func:`keras_layout` says which layout the Keras layer's data and kernel use
(``"channels_last"``: ``NHWC`` data; kernels are always ``HWIO``, ``HWOI`` when transposed).
:func:`weight_from_keras` and :func:`weight_to_keras` move kernels between the layouts.

Examples
--------
>>> import convproof as cp
>>> cfg = {"class_name": "Conv2D", "config": {"filters": 8, "kernel_size": [3, 3],
...        "strides": [2, 2], "padding": "same", "data_format": "channels_last",
...        "dilation_rate": [1, 1], "groups": 1, "use_bias": True}}
>>> spec = cp.spec_from_keras(cfg, input_shape=(None, 32, 32, 3))
>>> spec.padding, spec.in_channels, spec.output_shape((3, 32, 32))
('SAME_UPPER', 3, (8, 16, 16))
>>> cp.keras_config(spec)["config"]["padding"]
'same'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers import sizes as _axis
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec, spec_from_dict

__all__ = [
    "KERAS_LAYERS",
    "keras_config",
    "keras_layout",
    "spec_from_keras",
    "weight_from_keras",
    "weight_to_keras",
]

Spec = ConvSpec | ConvTransposeSpec | PoolSpec
Pairs = tuple[tuple[int, int], ...]

# class name -> (family, ndim, pooling kind)
_FAMILIES: dict[str, tuple[str, int, str]] = {}
for _n in (1, 2, 3):
    _FAMILIES[f"Conv{_n}D"] = ("conv", _n, "")
    _FAMILIES[f"Conv{_n}DTranspose"] = ("transpose", _n, "")
    _FAMILIES[f"MaxPooling{_n}D"] = ("pool", _n, "max")
    _FAMILIES[f"AveragePooling{_n}D"] = ("pool", _n, "avg")
    _FAMILIES[f"GlobalMaxPooling{_n}D"] = ("global", _n, "max")
    _FAMILIES[f"GlobalAveragePooling{_n}D"] = ("global", _n, "avg")
    _FAMILIES[f"ZeroPadding{_n}D"] = ("zeros", _n, "")
    _FAMILIES[f"Cropping{_n}D"] = ("crop", _n, "")
for _n in (1, 2):
    _FAMILIES[f"DepthwiseConv{_n}D"] = ("depthwise", _n, "")
    _FAMILIES[f"SeparableConv{_n}D"] = ("separable", _n, "")
#: Keras class names that :func:`spec_from_keras` reads (Keras's aliases are accepted too).
KERAS_LAYERS = tuple(_FAMILIES)
_ALIASES = (
    ("Convolution", "Conv"),
    ("GlobalMaxPool", "GlobalMaxPooling"),
    ("GlobalAvgPool", "GlobalAveragePooling"),
    ("MaxPool", "MaxPooling"),
    ("AvgPool", "AveragePooling"),
)


def _class_name(name: str) -> str:
    for alias, canonical in _ALIASES:
        if name not in _FAMILIES and name.startswith(alias):
            name = canonical + name[len(alias) :]
    if name not in _FAMILIES:
        raise ConvProofError(
            f"class_name must be one of {', '.join(KERAS_LAYERS)}, got class_name={name!r}"
        )
    return name


def _read(layer: Any) -> tuple[str, dict[str, Any], Any]:
    """(class name, config, build input shape or None) of a Keras layer or its dict."""
    if isinstance(layer, dict):
        if "class_name" not in layer or not isinstance(layer.get("config"), dict):
            raise ConvProofError(
                "layer must be a Keras layer or a dict with 'class_name' and 'config', "
                f"got layer={layer!r}"
            )
        build = layer.get("build_config") or {}
        return _class_name(str(layer["class_name"])), layer["config"], build.get("input_shape")
    if hasattr(layer, "get_config"):
        shape = None
        if getattr(layer, "built", False) and hasattr(layer, "get_build_config"):
            shape = (layer.get_build_config() or {}).get("input_shape")
        return _class_name(type(layer).__name__), layer.get_config(), shape
    raise ConvProofError(
        f"layer must be a Keras layer or a dict with 'class_name' and 'config', got {layer!r}"
    )


def _tuple(cfg: dict[str, Any], key: str, n: int, default: Any = None) -> Any:
    v = cfg.get(key, default)
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return (v,) * n
    try:
        out = tuple(v)
    except TypeError:
        out = ()
    if len(out) != n or not all(isinstance(e, int) and not isinstance(e, bool) for e in out):
        raise ConvProofError(f"{key} must be an int or {n} ints, got {key}={v!r}")
    return out


def _channels_last(cfg: dict[str, Any]) -> bool:
    fmt = cfg.get("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise ConvProofError(
            f"data_format must be 'channels_last' or 'channels_first', got data_format={fmt!r}"
        )
    return fmt == "channels_last"


def _split_shape(shape: Any, n: int, last: bool) -> tuple[int | None, tuple[int | None, ...]]:
    """(channels, spatial sizes) of a Keras shape with or without the batch axis."""
    if shape is None:
        return None, (None,) * n
    dims = tuple(shape)
    if len(dims) == n + 2:
        dims = dims[1:]
    if len(dims) != n + 1:
        raise ConvProofError(
            f"input_shape must have {n + 1} or {n + 2} entries (with the batch axis) for a "
            f"{n}-D layer, got input_shape={shape!r}"
        )
    return (dims[-1], dims[:-1]) if last else (dims[0], dims[1:])


def _padding_arg(cfg: dict[str, Any], family: str) -> str:
    pad = str(cfg.get("padding", "valid")).lower()
    allowed = ("valid", "same", "causal") if family == "conv" else ("valid", "same")
    if pad not in allowed:
        raise ConvProofError(
            f"padding must be one of {', '.join(map(repr, allowed))}, "
            f"got padding={cfg.get('padding')!r}"
        )
    return pad


def _need(value: Any, what: str, name: str) -> int:
    if value is None:
        raise ConvProofError(
            f"input_shape must be given for {name}: its config does not say the {what}, "
            "got input_shape=None"
        )
    return int(value)


def _transpose_pads(
    k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...], pad: str, op: Any
) -> tuple[Pairs, tuple[int, ...]]:
    """Keras/TF ``conv_transpose`` as PyTorch pads and output_padding (size-independent)."""
    pairs, ops = [], []
    for j, (kk, ss, dd) in enumerate(zip(k, s, d)):
        keff = _axis.effective_kernel(kk, dd)
        if pad == "valid":
            pairs.append((0, 0))
            ops.append(max(keff, ss) - keff if op is None else op[j])
            continue
        # TF pads the forward conv of the output size o = (i-1)s + c: total keff - c
        c = ss if op is None else keff % 2 + op[j]
        total = keff - c
        pairs.append(_axis.split_total(max(total, 0)))
        ops.append(max(-total, 0))
    return tuple(pairs), tuple(ops)


def _one(name: str, cfg: dict[str, Any], shape: Any) -> Spec | tuple[Spec, Spec]:
    family, n, kind = _FAMILIES[name]
    last = _channels_last(cfg)
    channels, spatial = _split_shape(shape, n, last)
    if family in ("zeros", "crop"):
        raise ConvProofError(
            f"{name} is not a layer on its own here: pass it in a list with the layer it pads "
            f"or crops ([ZeroPadding, Conv/AveragePooling] or [ConvTranspose, Cropping]), "
            f"got class_name={name!r}"
        )
    if family == "global":
        size = tuple(_need(e, "spatial size", name) for e in spatial)
        return PoolSpec(kind=kind, kernel_size=size, stride=size, ndim=n)
    if family == "pool":
        k = _tuple(cfg, "pool_size", n)
        s = _tuple(cfg, "strides", n) or k
        same = _padding_arg(cfg, family) == "same"
        return PoolSpec(
            kind=kind, kernel_size=k, stride=s, padding="SAME_UPPER" if same else 0,
            count_include_pad=not same, ndim=n,
        )  # fmt: skip
    k = _tuple(cfg, "kernel_size", n)
    s = _tuple(cfg, "strides", n, 1)
    d = _tuple(cfg, "dilation_rate", n, 1)
    pad = _padding_arg(cfg, family)
    bias = bool(cfg.get("use_bias", True))
    c_in = _need(channels, "input channels", name)
    padding: Any = {"valid": 0, "same": "SAME_UPPER"}.get(pad)
    if pad == "causal":
        padding = tuple((dd * (kk - 1), 0) for kk, dd in zip(k, d))
    common = dict(kernel_size=k, stride=s, dilation=d, ndim=n)
    if family == "transpose":
        if int(cfg.get("groups", 1) or 1) != 1:
            raise ConvProofError(f"groups must be 1 for {name}, got groups={cfg['groups']!r}")
        pairs, ops = _transpose_pads(k, s, d, pad, _tuple(cfg, "output_padding", n))
        return ConvTransposeSpec(
            in_channels=c_in, out_channels=int(cfg["filters"]), padding=pairs,
            output_padding=ops, bias=bias, **common,
        )  # fmt: skip
    if family == "conv":
        return ConvSpec(
            in_channels=c_in, out_channels=int(cfg["filters"]), padding=padding,
            groups=int(cfg.get("groups", 1) or 1), bias=bias, **common,
        )  # fmt: skip
    m = int(cfg.get("depth_multiplier", 1))
    depthwise = ConvSpec(
        in_channels=c_in, out_channels=c_in * m, groups=c_in, padding=padding,
        bias=bias and family == "depthwise", **common,
    )  # fmt: skip
    if family == "depthwise":
        return depthwise
    pointwise = ConvSpec(
        in_channels=c_in * m, out_channels=int(cfg["filters"]), kernel_size=1, bias=bias, ndim=n
    )
    return depthwise, pointwise


def _pairs_of(cfg: dict[str, Any], n: int) -> Pairs:
    """ZeroPadding / Cropping amounts (``padding`` or ``cropping``) as per-axis pairs."""
    key = "padding" if "padding" in cfg else "cropping"
    v = cfg.get(key, 1)
    if isinstance(v, int) and not isinstance(v, bool):
        return ((v, v),) * n
    if n == 1 and len(v) == 2 and all(isinstance(e, int) for e in v):
        return ((int(v[0]), int(v[1])),)  # the 1-D layers take one (before, after) pair
    out = []
    for e in v:
        if isinstance(e, int) and not isinstance(e, bool):
            out.append((e, e))
        else:
            a, b = e
            out.append((int(a), int(b)))
    if len(out) != n:
        raise ConvProofError(f"{key} must have {n} entries, got {key}={v!r}")
    return tuple(out)


def _fold(items: list[tuple[str, dict[str, Any], Any]], shape: Any) -> Spec:
    """``[ZeroPadding, Conv/AveragePooling]`` or ``[ConvTranspose, Cropping]`` as one spec."""
    names = [name for name, _, _ in items]
    (first, cfg0, shape0), (second, cfg1, _) = items
    fam0, fam1 = _FAMILIES[first][0], _FAMILIES[second][0]
    data: dict[str, Any]
    if fam0 == "zeros" and fam1 in ("conv", "pool"):
        inner = _one(second, cfg1, shape if shape is not None else shape0)
        assert isinstance(inner, ConvSpec | PoolSpec)
        if inner.padding != ((0, 0),) * inner.ndim:
            raise ConvProofError(
                f"padding of the layer after ZeroPadding must be 'valid', got "
                f"padding={cfg1.get('padding')!r}"
            )
        if isinstance(inner, PoolSpec) and inner.kind == "max":
            raise ConvProofError(
                "layers must not be [ZeroPadding, MaxPooling]: max pooling pads with -inf, "
                "a zero padding before it is not a pooling padding, got " + repr(names)
            )
        data = inner.to_dict()
        data["padding"] = [list(p) for p in _pairs_of(cfg0, inner.ndim)]
        if isinstance(inner, PoolSpec):
            data["count_include_pad"] = True
    elif fam0 == "transpose" and fam1 == "crop":
        inner = _one(first, cfg0, shape if shape is not None else shape0)
        assert isinstance(inner, ConvTransposeSpec)
        crop = _pairs_of(cfg1, inner.ndim)
        data = inner.to_dict()
        data["padding"] = [[a + c, b + e] for (a, b), (c, e) in zip(_pairs(inner), crop)]
    else:
        raise ConvProofError(
            "layers must be [ZeroPadding, Conv or AveragePooling] or [ConvTranspose, Cropping], "
            f"got {names!r}"
        )
    return spec_from_dict(data)


def spec_from_keras(layer: Any, input_shape: Sequence[Any] | None = None) -> Any:
    """The convproof spec of a Keras layer (or its config dict), exact in values.

    Parameters
    ----------
    layer : keras layer, dict, or list of two
        A Keras layer object, or ``{"class_name": ..., "config": layer.get_config()}``
        (``keras.saving.serialize_keras_object`` output, whose ``build_config`` gives the
        input shape); a ``[ZeroPadding, Conv/AveragePooling]`` or ``[ConvTranspose,
        Cropping]`` pair becomes one spec.  Class names: :data:`KERAS_LAYERS`.
    input_shape : tuple, optional
        The Keras input shape, in the layer's ``data_format``, with or without the batch axis
        (``None`` entries allowed).  Needed for the input channels of a conv and the sizes of
        a global pool when the layer is not built.

    Returns
    -------
    ConvSpec, ConvTransposeSpec or PoolSpec; a tuple of two ConvSpecs for ``SeparableConv``

    Raises
    ------
    ConvProofError
        For an unknown class, a missing input shape, or a layer convproof's rules refuse.

    Examples
    --------
    >>> import convproof as cp
    >>> t = {"class_name": "Conv2DTranspose", "config": {"filters": 4, "kernel_size": 3,
    ...      "strides": 2, "padding": "same", "data_format": "channels_first"}}
    >>> spec = cp.spec_from_keras(t, input_shape=(8, 5, 5))
    >>> spec.padding, spec.output_padding, spec.output_shape((8, 5, 5))
    (((0, 1), (0, 1)), (0, 0), (4, 10, 10))
    >>> sep = {"class_name": "SeparableConv1D", "config": {"filters": 6, "kernel_size": 3,
    ...        "depth_multiplier": 2}}
    >>> [s.weight_shape for s in cp.spec_from_keras(sep, input_shape=(None, 20, 3))]
    [(6, 1, 3), (6, 6, 1)]
    """
    if isinstance(layer, list | tuple):
        if len(layer) == 1:
            return spec_from_keras(layer[0], input_shape)
        if len(layer) != 2:
            raise ConvProofError(f"layer lists must have two entries, got {len(layer)}")
        return _fold([_read(e) for e in layer], input_shape)
    name, cfg, shape = _read(layer)
    return _one(name, cfg, input_shape if input_shape is not None else shape)


def keras_layout(layer: Any) -> tuple[str, str]:
    """``(data layout, kernel layout)`` of a Keras layer, e.g. ``("NHWC", "HWIO")``.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.keras_layout({"class_name": "Conv1DTranspose",
    ...                  "config": {"data_format": "channels_first"}})
    ('NCW', 'WOI')
    """
    name, cfg, _ = _read(layer)
    family, n, _ = _FAMILIES[name]
    sp = "DHW"[3 - n :]
    data = f"N{sp}C" if _channels_last(cfg) else f"NC{sp}"
    return data, f"{sp}OI" if family == "transpose" else f"{sp}IO"


def weight_from_keras(spec: ConvSpec | ConvTransposeSpec, kernel: Any) -> np.ndarray:
    """A Keras kernel (``HWIO``; depthwise ``HW C m``; transposed ``HWOI``) in PyTorch layout.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> dw = cp.ConvSpec(in_channels=3, out_channels=6, kernel_size=2, groups=3)
    >>> weight_from = cp.weight_from_keras(dw, np.zeros((2, 2, 3, 2)))
    >>> weight_from.shape == dw.weight_shape
    True
    """
    k = np.asarray(kernel)
    n = spec.ndim
    lead = tuple(k.shape[:n])
    if isinstance(spec, ConvSpec) and k.ndim == n + 2 and k.shape[n] == spec.in_channels != 1:
        if spec.groups == spec.in_channels:  # DepthwiseConv: (*k, C, m) -> (*k, 1, C*m)
            k = k.reshape((*lead, 1, -1))
    w = np.transpose(k, (n + 1, n, *range(n)))
    if w.shape != spec.weight_shape:
        raise ConvProofError(
            f"kernel must have the Keras shape of {spec.weight_shape} (PyTorch layout), got "
            f"kernel.shape={np.shape(kernel)}"
        )
    return w


def weight_to_keras(spec: ConvSpec | ConvTransposeSpec, weight: Any) -> np.ndarray:
    """A PyTorch-layout weight as the kernel of :func:`keras_config`'s layer (``HWIO``,
    ``HWOI`` when transposed).

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> t = cp.ConvTransposeSpec(in_channels=4, out_channels=2, kernel_size=3)
    >>> cp.weight_to_keras(t, np.zeros(t.weight_shape)).shape
    (3, 3, 2, 4)
    """
    w = np.asarray(weight)
    if w.shape != spec.weight_shape:
        raise ConvProofError(
            f"weight must have shape {spec.weight_shape}, got weight.shape={w.shape}"
        )
    n = spec.ndim
    return np.transpose(w, (*range(2, n + 2), 1, 0))


def _named(spec: Spec) -> str | None:
    """``"valid"``/``"same"`` when Keras's name gives exactly the spec's padding, else None."""
    pad = spec.padding
    if pad == "SAME_UPPER" or pad == "same":
        return "same"
    if pad == "valid":
        return "valid"
    if isinstance(pad, str):
        return None
    if all(p == (0, 0) for p in pad):
        return "valid"
    if all(s == 1 for s in spec.stride) and all(
        p == _axis.split_total(_axis.effective_kernel(k, d) - 1)
        for p, k, d in zip(pad, spec.kernel_size, spec.dilation)
    ):
        return "same"  # TF's SAME at stride 1 does not depend on the size
    return None


def _refuse(spec: Spec, why: str) -> ConvProofError:
    return ConvProofError(f"spec has no Keras layer: {why}, got spec={spec!r}")


def _layer(name: str, n: int, fmt: str, transposed: bool = False, **cfg: Any) -> dict[str, Any]:
    suffix = "Transpose" if transposed else ""
    return {"class_name": f"{name}{n}D{suffix}", "config": {**cfg, "data_format": fmt}}


def keras_config(spec: Spec, data_format: str = "channels_last") -> Any:
    """The Keras layer computing ``spec``: ``{"class_name", "config"}``, or a list of two.

    A padding Keras cannot name becomes ``[ZeroPadding, layer "valid"]`` (convs, averages
    that count the padding) or ``[ConvTranspose "valid", Cropping]``; :func:`spec_from_keras`
    reads both forms back.  ``keras.layers.deserialize`` (or ``Conv2D.from_config(cfg)``)
    builds the layer; Keras infers the input channels when called.

    Raises
    ------
    ConvProofError
        For a layer Keras does not have (padding modes, ``SAME_LOWER``, ceil mode, dilated
        pooling, a max pool with explicit padding, grouped transposed convs, ``output_padding
        >= stride``).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.keras_config(cp.PoolSpec(kind="avg", kernel_size=3, stride=1, padding=1))
    [{'class_name': 'ZeroPadding2D', 'config': {'padding': [[1, 1], [1, 1]], 'data_format': \
'channels_last'}}, {'class_name': 'AveragePooling2D', 'config': {'pool_size': [3, 3], \
'strides': [1, 1], 'padding': 'valid', 'data_format': 'channels_last'}}]
    """
    if data_format not in ("channels_last", "channels_first"):
        raise ConvProofError(
            f"data_format must be 'channels_last' or 'channels_first', "
            f"got data_format={data_format!r}"
        )
    n = spec.ndim
    k, s, d = list(spec.kernel_size), list(spec.stride), list(spec.dilation)
    if spec.padding_mode != "zeros":
        raise _refuse(spec, f"Keras convs pad with zeros only, not {spec.padding_mode!r}")
    named = _named(spec)
    if spec.padding == "SAME_LOWER":
        raise _refuse(spec, "Keras has no 'SAME_LOWER' padding")
    if isinstance(spec.padding, tuple) and min(min(pair) for pair in spec.padding) < 0:
        raise _refuse(spec, "Keras's ZeroPadding and Cropping take amounts >= 0 (negative padding)")
    pairs = _pairs(spec)
    amounts: Any = list(pairs[0]) if n == 1 else [list(p) for p in pairs]  # 1-D: one pair
    zero_pad = _layer("ZeroPadding", n, data_format, padding=amounts)
    if isinstance(spec, PoolSpec):
        if spec.ceil_mode or max(d) > 1:
            raise _refuse(spec, "Keras pooling has no ceil mode and no dilation")
        name = "MaxPooling" if spec.kind == "max" else "AveragePooling"
        if spec.kind == "avg" and named == "same" and spec.count_include_pad:
            if spec.padding == "SAME_UPPER":
                raise _refuse(spec, "Keras's 'same' averages exclude the padding")
            named = None  # constant pads that the divisor counts: zeros first
        if named is None and (spec.kind == "max" or not spec.count_include_pad):
            raise _refuse(spec, f"{spec.kind} pooling with explicit padding that is not "
                          "counted (Keras's ZeroPadding pads zeros that would count)")  # fmt: skip
        pool = _layer(name, n, data_format, pool_size=k, strides=s, padding=named or "valid")
        return pool if named else [zero_pad, pool]
    if isinstance(spec, ConvTransposeSpec):
        if spec.groups != 1:
            raise _refuse(spec, "Keras transposed convs have no groups")
        op = list(spec.output_padding)
        if any(o >= st for o, st in zip(op, s)):
            raise _refuse(spec, "Keras needs output_padding < stride")
        common: dict[str, Any] = dict(filters=spec.out_channels, kernel_size=k, strides=s,
                                      dilation_rate=d, use_bias=spec.bias)  # fmt: skip
        for pad in ("valid", "same"):
            for keras_op in (None, op):
                got = _transpose_pads(spec.kernel_size, spec.stride, spec.dilation, pad, keras_op)
                if got == (pairs, spec.output_padding):
                    return _layer("Conv", n, data_format, padding=pad, output_padding=keras_op,
                                  transposed=True, **common)  # fmt: skip
        conv = _layer("Conv", n, data_format, padding="valid", output_padding=op,
                      transposed=True, **common)  # fmt: skip
        if n == 1 and data_format == "channels_first":
            raise _refuse(spec, "Keras's Cropping1D crops channels-last data only")
        crop = _layer("Cropping", n, data_format, cropping=amounts)
        if n == 1:
            del crop["config"]["data_format"]  # Cropping1D has no data_format
        return [conv, crop]
    conv_args: dict[str, Any] = dict(
        filters=spec.out_channels, kernel_size=k, strides=s, dilation_rate=d,
        groups=spec.groups, use_bias=spec.bias,
    )  # fmt: skip
    if named is None and n == 1 and pairs == ((spec.dilation[0] * (k[0] - 1), 0),):
        named = "causal"
    conv = _layer("Conv", n, data_format, padding=named or "valid", **conv_args)
    return conv if named else [zero_pad, conv]


def _pairs(spec: Spec) -> Pairs:
    """The padding pairs of a spec whose padding does not depend on the size (else zeros)."""
    if not isinstance(spec.padding, str):
        return spec.padding
    if spec.padding in ("same", "full", "valid"):
        return spec._resolve_named(spec.padding, (10**6,) * spec.ndim)
    return ((0, 0),) * spec.ndim
