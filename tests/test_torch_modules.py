"""cp.spec_from_torch / cp.torch_module / cp.weights_from_torch against PyTorch itself.

The built module's forward is compared with convproof's numeric convolution (``cp.conv``,
float64) on generated problems of every kind; specs round-trip through modules; modules of
the kinds torchvision's models use are read and their forward compared with ``cp.conv``;
every refusal is checked to be warranted (the stated reason holds) and has a correct
counterpart that is accepted.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convproof as cp

# 120 built modules per kind (360 in all) in dev, 300 per kind in ci: a forward pass is a few
# milliseconds
_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture]
_CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
PROBLEMS = settings(max_examples=300 if _CI else 120, deadline=None, suppress_health_check=_HEALTH)
SPECS = settings(max_examples=300, deadline=None, suppress_health_check=_HEALTH)

_STRATEGIES = {
    "conv": cp.strategies.conv_specs,
    "conv_transpose": cp.strategies.conv_transpose_specs,
    "pool": lambda **kw: cp.strategies.pool_specs(kinds=("max", "avg", "lp"), **kw),
}


def _specs() -> st.SearchStrategy[cp.Spec]:
    """Specs of every kind and dimension, every padding form and mode, groups, dilation."""
    return st.sampled_from(sorted(_STRATEGIES)).flatmap(
        lambda kind: st.sampled_from([1, 2, 3]).flatmap(
            lambda ndim: (
                _STRATEGIES[kind](ndim=ndim, max_channels=4)
                if kind != "pool"
                else _STRATEGIES[kind](ndim=ndim)
            )
        )
    )


def _problems(kind: str) -> st.SearchStrategy[cp.ConvProblem]:
    bounds = {} if kind == "pool" else {"max_channels": 3}
    return st.sampled_from([1, 2, 3]).flatmap(
        lambda ndim: cp.strategies.conv_problems(
            specs=_STRATEGIES[kind](ndim=ndim, **bounds),
            dtype="float64",
            values=("integers", "dyadic"),
            batch=True,
        )
    )


def _sizes(spec: cp.Spec, extra: int) -> tuple[int, ...]:
    channels = getattr(spec, "in_channels", 1)
    return (channels, *(10 * e + 10 + extra for e in spec.effective_kernel_size))


def _warranted_refusal(spec: cp.Spec, exc: cp.ConvProofError) -> None:
    """The refusal's stated reason holds for ``spec`` (checked from its resolved padding)."""
    msg = str(exc)
    assert msg.startswith("spec cannot be one torch.nn module"), msg
    first = spec.resolve_padding(_sizes(spec, 0))
    # the refusal points to the port that pre-pads (convs and pools alike)
    instead = "cp.port(spec, to='pytorch')"
    if "depends on the input size" in msg:
        # some size (within one stride period) resolves the name differently
        others = [spec.resolve_padding(_sizes(spec, j)) for j in range(1, 2 * max(spec.stride))]
        assert any(p != first for p in others) and instead in msg
    elif "pad both sides of an axis alike" in msg:
        assert any(lo != hi for lo, hi in first) and instead in msg
        # not PyTorch's own "same" (d(k-1) in all, the odd one at the end, stride 1)
        if isinstance(spec, cp.ConvSpec) and set(spec.stride) == {1}:
            torch_same = tuple(((e - 1) // 2, e - 1 - (e - 1) // 2)
                               for e in spec.effective_kernel_size)  # fmt: skip
            assert first != torch_same
    elif "at most kernel_size // 2" in msg:
        assert isinstance(spec, cp.PoolSpec)
        assert any(max(p) > k // 2 for p, k in zip(first, spec.kernel_size))
    else:
        raise AssertionError(f"unexpected refusal: {msg}")


def _module_or_none(spec: cp.Spec, *args: Any) -> Any:
    try:
        return cp.torch_module(spec, *args)
    except cp.ConvProofError as exc:
        _warranted_refusal(spec, exc)
        return None


def _forward(torch: Any, module: Any, x: np.ndarray) -> Any:
    with torch.no_grad(), warnings.catch_warnings():
        # PyTorch's note on an even-kernel 'same' (the suite turns warnings into errors)
        warnings.filterwarnings("ignore", "Using padding='same' with even kernel", UserWarning)
        y = module(torch.from_numpy(np.ascontiguousarray(x)))
    return tuple(t.numpy() for t in y) if isinstance(y, tuple) else y.numpy()


def _same_values(got: np.ndarray, want: np.ndarray) -> bool:
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)


# --------------------------------------------------------------------------------------
# spec -> module: forward equals cp.conv; specs round-trip
# --------------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "pool"])
@PROBLEMS
@given(data=st.data())
def test_built_module_computes_the_spec(kind: str, data: st.DataObject, torch: Any) -> None:
    spec, _, x, w, b = data.draw(_problems(kind), label="problem")
    module = _module_or_none(spec, w, b)
    assume(module is not None)  # refusals are checked above; only built modules count
    got = _forward(torch, module, x)
    want = cp.conv(spec, x, w, b)
    assert _same_values(got, want), (module, spec, x.shape)
    if w is not None:
        assert module.weight.dtype == torch.float64


@pytest.mark.torch
@SPECS
@given(spec=_specs())
def test_specs_round_trip_through_modules(spec: cp.Spec, torch: Any) -> None:
    module = _module_or_none(spec)
    assume(module is not None)
    back = cp.spec_from_torch(module)
    named = isinstance(spec.padding, str) and spec.padding != "same"
    torch_same = isinstance(spec, cp.ConvSpec) and back.padding == "same"
    if isinstance(spec, cp.PoolSpec) and spec.kind != "avg":
        # max and Lp pooling ignore count_include_pad; their modules have no such argument
        spec = cp.spec_from_dict({**spec.to_dict(), "count_include_pad": True})
    if not named and not torch_same:
        assert back == spec
    else:  # a named padding comes back as the amounts it stands for (or as "same")
        assert {**back.to_dict(), "padding": None} == {**spec.to_dict(), "padding": None}
        for extra in (0, 1, 2):
            shape = _sizes(spec, extra)
            assert back.resolve_padding(shape) == spec.resolve_padding(shape)
    # and the module built from the read-back spec is the same module
    assert repr(cp.torch_module(back)) == repr(module)


# PyTorch's names for the padding a module is built with (hand-worked)
NAMED = [
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=4, padding="same", ndim=1), "same"),
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=4, padding="SAME_UPPER", ndim=1),
     "same"),
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=4, padding=((1, 2),)), "same"),
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, dilation=2, padding="SAME_LOWER",
                 ndim=1), (2,)),
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding="full", ndim=1), (2,)),
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding="valid", ndim=1), (0,)),
    (cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2,
                          output_padding=1, padding="SAME_UPPER", ndim=1), (1,)),
    (cp.PoolSpec(kind="max", kernel_size=3, stride=1, padding="SAME_LOWER", ndim=1), (1,)),
    (cp.PoolSpec(kind="avg", kernel_size=3, padding="valid", ndim=1), (0,)),
]  # fmt: skip


@pytest.mark.torch
@pytest.mark.parametrize(("spec", "padding"), NAMED)
def test_named_paddings_become_what_pytorch_names(spec: cp.Spec, padding: Any, torch) -> None:
    module = cp.torch_module(spec)
    assert module.padding == padding
    x = np.arange(1.0, 12.0)[None, None]
    w = np.ones(spec.weight_shape) if spec.weight_shape else None
    b = np.zeros(1) if getattr(spec, "bias", False) else None
    got = _forward(torch, cp.torch_module(spec, w, b, dtype="float64"), x)
    assert _same_values(got, cp.conv(spec, x, w, b))


# --------------------------------------------------------------------------------------
# module -> spec: the kinds torchvision's models use, and the rest of torch.nn's knobs
# --------------------------------------------------------------------------------------


def _torchvision_style(nn: Any) -> list[tuple[str, Any, tuple[int, ...]]]:
    """(what, module, input shape) for the layers torchvision's models are made of."""
    return [
        ("resnet stem", nn.Conv2d(3, 8, 7, 2, 3, bias=False), (1, 3, 17, 16)),
        ("resnet maxpool", nn.MaxPool2d(3, 2, 1), (1, 2, 9, 8)),
        ("3x3 conv", nn.Conv2d(4, 4, 3, 1, 1, bias=False), (1, 4, 6, 5)),
        ("1x1 downsample", nn.Conv2d(4, 8, 1, 2, bias=False), (1, 4, 7, 6)),
        ("mobilenet depthwise", nn.Conv2d(6, 6, 3, 2, 1, groups=6, bias=False), (1, 6, 7, 7)),
        ("resnext grouped", nn.Conv2d(8, 8, 3, 1, 1, groups=4), (1, 8, 5, 5)),
        ("densenet transition", nn.AvgPool2d(2, 2), (1, 3, 7, 6)),
        ("inception avg", nn.AvgPool2d(3, 1, 1, count_include_pad=False), (1, 2, 5, 4)),
        ("googlenet ceil maxpool", nn.MaxPool2d(3, 2, ceil_mode=True), (1, 2, 8, 10)),
        ("squeezenet ceil maxpool", nn.MaxPool2d(3, 2, ceil_mode=True), (1, 2, 13, 13)),
        ("deeplab atrous", nn.Conv2d(4, 4, 3, padding=2, dilation=2, bias=False), (1, 4, 9, 9)),
        ("alexnet conv", nn.Conv2d(3, 6, 11, 4, 2), (1, 3, 31, 30)),
        ("fcn/unet upsampler", nn.ConvTranspose2d(4, 2, 2, 2), (1, 4, 3, 4)),
        ("dcgan up", nn.ConvTranspose2d(4, 2, 4, 2, 1, bias=False), (1, 4, 3, 3)),
        ("r3d stem", nn.Conv3d(3, 4, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
         (1, 3, 4, 9, 9)),
        ("r3d maxpool", nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)), (1, 2, 3, 7, 7)),
        ("mvit pool", nn.MaxPool3d(3, (1, 2, 2), 1), (1, 2, 4, 6, 6)),
        ("video avg", nn.AvgPool3d((1, 2, 2), ceil_mode=True), (1, 2, 3, 5, 5)),
        ("audio conv1d", nn.Conv1d(2, 4, 5, 2, 2, padding_mode="reflect"), (1, 2, 11)),
        ("circular conv", nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"), (1, 2, 5, 4)),
        ("replicate same", nn.Conv2d(2, 2, 4, padding="same", padding_mode="replicate"),
         (1, 2, 6, 5)),
        ("valid conv", nn.Conv1d(1, 2, 3, padding="valid"), (1, 1, 6)),
        ("dilated maxpool", nn.MaxPool1d(3, 2, 1, dilation=2, ceil_mode=True), (1, 1, 10)),
        ("transposed dilated", nn.ConvTranspose1d(4, 6, 3, 3, 1, 2, groups=2, dilation=2),
         (1, 4, 5)),
        ("transposed 3d", nn.ConvTranspose3d(2, 2, 3, 2, 1, 1), (1, 2, 2, 3, 2)),
        ("lp pool", nn.LPPool2d(2, 2), (1, 2, 5, 4)),
        ("lp pool ceil", nn.LPPool1d(3, 2, 2, ceil_mode=True), (1, 1, 5)),
        ("lp pool 3d", nn.LPPool3d(1.5, 2), (1, 1, 4, 4, 5)),
        ("avg ceil padded", nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=True),
         (1, 1, 6)),
        ("divisor_override = k", nn.AvgPool2d(2, 1, 1, divisor_override=4), (1, 1, 3, 3)),
        ("return_indices", nn.MaxPool2d(2, return_indices=True), (1, 1, 4, 4)),
    ]  # fmt: skip


@pytest.mark.torch
def test_torchvision_style_modules_import_and_compute_alike(torch: Any) -> None:
    rng = np.random.default_rng(7)
    kinds = set()
    for what, module, shape in _torchvision_style(torch.nn):
        module = module.double()
        spec = cp.spec_from_torch(module)
        kinds.add(type(module).__name__)
        weight, bias = cp.weights_from_torch(module)
        x = rng.standard_normal(shape)
        if isinstance(spec, cp.PoolSpec) and spec.kind == "lp":
            x = np.abs(x)  # keep odd and fractional powers real
        got = _forward(torch, module, x)
        if isinstance(got, tuple):  # return_indices: (values, indices)
            got, indices = got
            assert np.array_equal(indices, cp.max_pool_indices(spec, x)), what
        assert _same_values(got, cp.conv(spec, x, weight, bias)), what
        assert spec.output_shape(shape) == got.shape, what
        # and back: the module built from the spec, loaded with the weights, is the same
        rebuilt = cp.torch_module(spec, weight, bias)
        assert cp.spec_from_torch(rebuilt) == spec, what
        got = _forward(torch, rebuilt, x)
        assert _same_values(
            got[0] if isinstance(got, tuple) else got, cp.conv(spec, x, weight, bias)
        )
    assert kinds == set(cp.TORCH_MODULES)  # every kind, in 1, 2 and 3 dimensions


@pytest.mark.torch
def test_weights_from_torch_are_copies_in_the_stored_layout(torch: Any) -> None:
    up = torch.nn.ConvTranspose2d(4, 6, (2, 3), groups=2)
    weight, bias = cp.weights_from_torch(up)
    assert weight.shape == (4, 3, 2, 3) == tuple(up.weight.shape)  # IOHW, as stored
    assert weight.dtype == np.float32 and bias.shape == (6,)
    weight[...] = 0
    assert float(up.weight.detach().abs().sum()) > 0  # a copy
    assert cp.weights_from_torch(torch.nn.Conv1d(1, 1, 2, bias=False))[1] is None
    assert cp.weights_from_torch(torch.nn.LPPool1d(2, 2)) == (None, None)


# --------------------------------------------------------------------------------------
# planted defects: the comparison these tests rely on notices a wrong module
# --------------------------------------------------------------------------------------


def _planted(nn: Any) -> list[tuple[Any, Any, tuple[int, ...]]]:
    """(spec, a module that differs from it in one argument, input shape)."""
    conv = dict(in_channels=2, out_channels=2, kernel_size=3, padding=1, ndim=1)
    return [
        (cp.ConvSpec(**conv, padding_mode="reflect"),
         nn.Conv1d(2, 2, 3, padding=1, padding_mode="replicate"), (1, 2, 6)),
        (cp.ConvSpec(**conv, dilation=2), nn.Conv1d(2, 2, 3, padding=1), (1, 2, 7)),
        (cp.ConvTransposeSpec(in_channels=2, out_channels=2, kernel_size=3, stride=2,
                              output_padding=1, ndim=1),
         nn.ConvTranspose1d(2, 2, 3, 2, output_padding=1, dilation=1, groups=2), (1, 2, 4)),
        (cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding=1, count_include_pad=False,
                     ndim=1), nn.AvgPool1d(3, 2, 1), (1, 1, 6)),
        (cp.PoolSpec(kind="max", kernel_size=2, ceil_mode=True, ndim=1), nn.MaxPool1d(2),
         (1, 1, 5)),
        (cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, ceil_mode=True, ndim=1),
         nn.LPPool1d(3, 2, ceil_mode=True), (1, 1, 5)),
    ]  # fmt: skip


@pytest.mark.torch
def test_planted_module_defects_are_caught(torch: Any) -> None:
    rng = np.random.default_rng(3)
    for spec, wrong, shape in _planted(torch.nn):
        x = np.abs(rng.standard_normal(shape)) + 0.5
        w = rng.standard_normal(spec.weight_shape) if spec.weight_shape else None
        b = np.zeros(spec.out_channels) if getattr(spec, "bias", False) else None
        want = cp.conv(spec, x, w, b)
        right = cp.torch_module(spec, w, b)
        assert _same_values(_forward(torch, right, x), want), spec
        assert cp.spec_from_torch(wrong) != spec
        wrong = wrong.double()
        if w is not None and tuple(wrong.weight.shape) == w.shape:
            with torch.no_grad():
                wrong.weight.copy_(torch.from_numpy(w))
                wrong.bias.zero_()
        elif w is not None:  # a weight of the wrong layout is refused, not loaded
            with pytest.raises(cp.ConvProofError, match=r"weight must have shape"):
                cp.torch_module(cp.spec_from_torch(wrong), w)
            continue
        assert not _same_values(_forward(torch, wrong, x), want), (spec, wrong)


# --------------------------------------------------------------------------------------
# refusals, each with a counterpart that is accepted
# --------------------------------------------------------------------------------------


@pytest.mark.torch
def test_spec_from_torch_refusals(torch: Any) -> None:
    nn = torch.nn

    class ScaledConv(nn.Conv2d):
        def forward(self, x: Any) -> Any:
            return 2 * super().forward(x)

    class NamedConv(nn.Conv2d):  # keeps forward: accepted as a Conv2d
        pass

    hooked = nn.Conv1d(1, 1, 2)
    hooked.register_forward_hook(lambda module, args, out: 2 * out)
    refused = [
        (hooked, r"module must have no forward hooks .*got Conv1d with _forward_hooks"),
        (nn.Linear(3, 4), r"module must be a torch.nn module of one of Conv1d, .*got module of "
                          r"type torch.nn.modules.linear.Linear"),
        (nn.BatchNorm2d(3), r"got module of type .*BatchNorm2d"),
        (nn.AdaptiveAvgPool2d(1), r"got module of type .*AdaptiveAvgPool2d"),
        (object(), r"got module of type builtins.object"),
        (ScaledConv(1, 1, 3), r"subclass ScaledConv that overrides forward\(\)"),
        (nn.LazyConv2d(4, 3), r"lazy LazyConv2d whose in_channels is not known"),
        (nn.ConvTranspose2d(1, 1, 3, padding="same"), r"padding of ConvTranspose2d must be "
                                                      r"integers"),
        (nn.AvgPool2d(2, divisor_override=3), r"divisor_override must be None .*"
                                              r"divisor_override=3"),
        (nn.AvgPool2d(2, ceil_mode=True, divisor_override=4), r"divisor_override=4"),
        (nn.AvgPool3d(3, padding=1, count_include_pad=False, divisor_override=27),
         r"divisor_override=27"),
        (nn.MaxPool1d(2, stride=0), r"stride"),
    ]  # fmt: skip
    for module, message in refused:
        with pytest.raises(cp.ConvProofError, match=message):
            cp.spec_from_torch(module)
    assert cp.spec_from_torch(NamedConv(1, 2, 3)) == cp.ConvSpec(
        in_channels=1, out_channels=2, kernel_size=3
    )
    lazy = nn.LazyConv1d(2, 3)
    lazy(torch.zeros(1, 5, 4))  # initialised: now a Conv1d
    assert cp.spec_from_torch(lazy).in_channels == 5
    assert cp.spec_from_torch(nn.AvgPool2d(2, ceil_mode=False, divisor_override=4)).kind == "avg"
    padded = nn.AvgPool3d(3, padding=1, count_include_pad=True, divisor_override=27)
    assert cp.spec_from_torch(padded).count_include_pad


def _conv(**kw: Any) -> cp.ConvSpec:
    return cp.ConvSpec(**{"in_channels": 1, "out_channels": 1, "kernel_size": 3, "ndim": 1, **kw})


REFUSED_SPECS = [
    (_conv(padding=((1, 0),)), r"pad both sides of an axis alike.*cp.port\(spec, to='pytorch'\)"),
    (cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, padding=((0, 1),), ndim=1),
     r"crops a transposed conv's output"),
    (_conv(stride=2, padding="SAME_UPPER"), r"padding='SAME_UPPER' depends on the input size"),
    (cp.PoolSpec(kind="max", kernel_size=2, stride=2, padding="SAME_LOWER", ndim=1),
     r"depends on the input size"),
    (cp.PoolSpec(kind="avg", kernel_size=2, padding=((1, 0),), ndim=1),
     r"pad both sides.*cp.port\(spec, to='pytorch'\) pre-pads \(-inf for max"),
    (cp.PoolSpec(kind="max", kernel_size=3, stride=1, dilation=2, padding="SAME_UPPER", ndim=1),
     r"at most kernel_size // 2, the padding resolves to \(2,\)"),
    (cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, ndim=1, legality="onnx"),
     r"Lp pooling under legality='onnx' takes \|x\|"),
    (cp.PoolSpec(kind="avg", kernel_size=3, padding=2, ndim=1, legality="onnx"),
     r"outside PyTorch's rules"),
    (_conv(padding=-1, legality="jax"), r"outside PyTorch's rules"),
]  # fmt: skip


@pytest.mark.torch
@pytest.mark.parametrize(("spec", "message"), REFUSED_SPECS)
def test_torch_module_refusals(spec: cp.Spec, message: str, torch: Any) -> None:
    with pytest.raises(
        cp.ConvProofError, match=r"spec cannot be one torch.nn module: .*" + message
    ):
        cp.torch_module(spec)


BAD_ARGUMENTS = [
    (_conv(), (np.zeros((1, 1, 2)),), {}, r"weight must have shape \(1, 1, 3\).*weight.shape="
                                          r"\(1, 1, 2\)"),
    (_conv(bias=False), (np.zeros((1, 1, 3)), np.zeros(1)), {}, r"bias must be None for a spec "
                                                                r"with bias=False"),
    (_conv(), (None, np.zeros(2)), {}, r"bias must have shape \(1,\)"),
    (cp.PoolSpec(kind="max", kernel_size=2), (np.zeros(1),), {}, r"weight and bias must be None "
                                                                 r"for a pooling spec"),
    (_conv(), (), {"dtype": "int64"}, r"dtype must be a floating .*dtype='int64'"),
    (_conv(), (), {"dtype": "no such"}, r"dtype must be a floating"),
    ("Conv2d", (), {}, r"spec must be a ConvSpec, ConvTransposeSpec or PoolSpec, got "
                       r"spec='Conv2d'"),
]  # fmt: skip


@pytest.mark.torch
@pytest.mark.parametrize(("spec", "args", "kwargs", "message"), BAD_ARGUMENTS)
def test_torch_module_bad_arguments(spec: Any, args: Any, kwargs: Any, message: str, torch) -> None:
    with pytest.raises(cp.ConvProofError, match=message):
        cp.torch_module(spec, *args, **kwargs)


@pytest.mark.torch
def test_other_profiles_within_pytorch_rules_are_built(torch: Any) -> None:
    # the correct counterparts of the profile refusals: same layer, PyTorch's module
    onnx_avg = cp.PoolSpec(kind="avg", kernel_size=3, padding=1, ndim=1, legality="onnx")
    jax_conv = _conv(padding=1, legality="jax", dilation=2)
    x = np.arange(1.0, 8.0)[None, None]
    assert _same_values(_forward(torch, cp.torch_module(onnx_avg), x), cp.conv(onnx_avg, x))
    w, b = np.array([[[1.0, -2.0, 0.5]]]), np.array([0.25])
    got = _forward(torch, cp.torch_module(jax_conv, w, b), x)
    assert _same_values(got, cp.conv(jax_conv, x, w, b))
    assert cp.spec_from_torch(cp.torch_module(jax_conv)).legality == "pytorch"
    # dtypes: a float32 weight gives a float32 module unless asked otherwise
    w32 = w.astype(np.float32)
    assert cp.torch_module(_conv(), w32).weight.dtype == torch.float32
    assert cp.torch_module(_conv(), w32, dtype=torch.float64).weight.dtype == torch.float64
    assert cp.torch_module(_conv()).weight.dtype == torch.get_default_dtype()


@pytest.mark.torch
def test_the_network_importer_reads_conv_and_pool_modules_the_same_way(torch: Any) -> None:
    from convproof.networks.torch_import import network_from_torch

    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
        nn.LPPool2d(2, 2),
        nn.AvgPool2d(2, divisor_override=3),
        nn.ConvTranspose2d(4, 2, 3, 2, 1, 1),
    )
    layers = [node.layer for node in network_from_torch(model).nodes]
    assert layers[0] == cp.ConvSpec(in_channels=3, out_channels=4, kernel_size=3, padding=1,
                                    padding_mode="reflect")  # fmt: skip
    assert layers[1] == cp.spec_from_torch(model[1]) and layers[1].kind == "lp"
    assert layers[2] == cp.PoolSpec(kind="avg", kernel_size=2)  # divisor: values, not shapes
    assert layers[3] == cp.spec_from_torch(model[3])
    with pytest.raises(cp.ConvProofError, match="divisor_override=3"):
        cp.spec_from_torch(model[2])


def test_torch_module_without_torch_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # `import torch` fails
    for spec in (_conv(), cp.PoolSpec(kind="max", kernel_size=2)):
        with pytest.raises(cp.ConvProofError, match=r"torch_module needs PyTorch"):
            cp.torch_module(spec)


def test_a_pool_refusal_points_to_a_port_that_exists(torch) -> None:
    """The module refusal's advice holds: port builds the pool with a pre-pad, and it equals
    the hand-worked values (k=2, padding (1, 0), padding not counted: [1, 1.5, 2.5, 3.5])."""
    spec = cp.PoolSpec(kind="avg", kernel_size=2, stride=1, padding=((1, 0),), ndim=1,
                       count_include_pad=False)  # fmt: skip
    with pytest.raises(cp.ConvProofError, match=r"cp.port\(spec, to='pytorch'\)"):
        cp.torch_module(spec)
    port = cp.port(spec, to="pytorch", input_shape=(1, 1, 4))
    got = port.run(np.array([[[1.0, 2.0, 3.0, 4.0]]]))  # runs the printed snippet
    assert np.allclose(got, [[[1.0, 1.5, 2.5, 3.5]]]), port.code


@pytest.mark.parametrize("kind", ["conv", "max"])
def test_same_whose_padding_changes_only_at_some_residues_is_refused(kind) -> None:
    """k=2, stride 7, SAME_UPPER pads 0 for sizes 28 and 30 but (0, 1) for 29: trying two
    sizes read it as a fixed 0 and built a module whose output was one short at 29."""
    if kind == "conv":
        spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, stride=7,
                           padding="SAME_UPPER", ndim=1)  # fmt: skip
    else:
        spec = cp.PoolSpec(kind="max", kernel_size=2, stride=7, padding="SAME_UPPER", ndim=1)
    assert spec.resolve_padding((1, 28)) == spec.resolve_padding((1, 30)) == ((0, 0),)
    assert spec.resolve_padding((1, 29)) == ((0, 1),)
    with pytest.raises(cp.ConvProofError, match="depends on the input size"):
        cp.torch_module(spec)
