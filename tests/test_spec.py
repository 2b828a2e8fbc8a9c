"""Specs: known values (SEMANTICS.md, the seeds, Dumoulin & Visin's figures), bad inputs,
equality / hashing, and ``to_dict`` round trips.

Every expected number here is worked out by hand from the definition or quoted from the
references, never computed by convproof.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convproof as cp
from convproof.layers.window import check_spec


def conv1d(**kw: Any) -> cp.ConvSpec:
    kw.setdefault("in_channels", 1)
    kw.setdefault("out_channels", 1)
    return cp.ConvSpec(ndim=1, **kw)


def pool1d(**kw: Any) -> cp.PoolSpec:
    kw.setdefault("kind", "max")
    return cp.PoolSpec(ndim=1, **kw)


# --------------------------------------------------------------------------------------
# known output sizes, one axis: (spec, input size, expected output size)
# --------------------------------------------------------------------------------------

ONE_AXIS = [
    # SEMANTICS.md
    pytest.param(conv1d(kernel_size=3, stride=3), 7, 2, id="i7-k3-s3-floor"),
    pytest.param(conv1d(kernel_size=2, stride=3), 10, 3, id="i10-k2-s3"),
    pytest.param(conv1d(kernel_size=3, padding=4), 3, 9, id="i3-k3-p4-large-padding"),
    pytest.param(conv1d(kernel_size=7, stride=2, padding="SAME_UPPER"), 224, 112, id="same-224"),
    pytest.param(conv1d(kernel_size=7, stride=2, padding="SAME"), 224, 112, id="tf-SAME-alias"),
    pytest.param(conv1d(kernel_size=7, stride=2, padding=3), 224, 112, id="p3-224"),
    pytest.param(pool1d(kernel_size=1, stride=2, ceil_mode=True), 32, 16, id="ceil-k1-s2"),
    pytest.param(pool1d(kernel_size=2, stride=2, padding=1, ceil_mode=True), 5, 3, id="ceil-pad"),
    pytest.param(
        pool1d(kind="avg", kernel_size=2, stride=2, ceil_mode=True), 5, 3, id="avg-ceil-15"
    ),
    pytest.param(pool1d(kernel_size=2, stride=2), 5, 2, id="pool-floor"),
    # Dumoulin & Visin's figures
    pytest.param(conv1d(kernel_size=3), 4, 2, id="dv-no-padding"),
    pytest.param(conv1d(kernel_size=4, padding=2), 5, 6, id="dv-arbitrary-padding"),
    pytest.param(conv1d(kernel_size=3, padding=1), 5, 5, id="dv-half-padding"),
    pytest.param(conv1d(kernel_size=3, padding=2), 5, 7, id="dv-full-padding"),
    pytest.param(conv1d(kernel_size=3, padding="full"), 5, 7, id="full-name"),
    pytest.param(conv1d(kernel_size=3, stride=2), 5, 2, id="dv-strides"),
    pytest.param(conv1d(kernel_size=3, stride=2, padding=1), 5, 3, id="dv-padding-strides"),
    pytest.param(conv1d(kernel_size=3, stride=2, padding=1), 6, 3, id="dv-padding-strides-odd"),
    pytest.param(conv1d(kernel_size=3, dilation=2), 7, 3, id="dv-dilation"),
    # PyTorch 'same' with an even kernel: total d(k-1) = 3, stride 1
    pytest.param(conv1d(kernel_size=4, padding="same"), 5, 5, id="same-even-kernel"),
    pytest.param(conv1d(kernel_size=3, dilation=3, padding="same"), 4, 4, id="same-dilated"),
    # valid
    pytest.param(conv1d(kernel_size=3, padding="valid"), 5, 3, id="valid"),
    pytest.param(conv1d(kernel_size=3, padding="VALID"), 5, 3, id="VALID-alias"),
    # pooling SAME: o = ceil(5/2) = 3
    pytest.param(pool1d(kernel_size=2, stride=2, padding="SAME_UPPER"), 5, 3, id="pool-same"),
    # transposed: D&V figures (i' = forward output, o' = forward input)
    pytest.param(
        cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, ndim=1), 2, 4, id="dv8"
    ),
    pytest.param(
        cp.ConvTransposeSpec(
            in_channels=1, out_channels=1, kernel_size=3, stride=2, padding=1, ndim=1
        ),
        3,
        5,
        id="dv13",
    ),
    pytest.param(
        cp.ConvTransposeSpec(
            in_channels=1,
            out_channels=1,
            kernel_size=3,
            stride=2,
            padding=1,
            output_padding=1,
            ndim=1,
        ),
        3,
        6,
        id="dv14-a1",
    ),
    pytest.param(
        cp.ConvTransposeSpec(
            in_channels=1, out_channels=1, kernel_size=3, dilation=3, output_padding=2, ndim=1
        ),
        5,
        13,
        id="transposed-op-below-dilation",
    ),
]


@pytest.mark.parametrize(("spec", "size", "expected"), ONE_AXIS)
def test_one_axis_known_values(spec: cp.Spec, size: int, expected: int) -> None:
    assert spec.output_shape((1, size)) == (1, expected)
    assert spec.output_spatial((size,)) == (expected,)


@pytest.mark.parametrize(
    ("spec", "size", "pads"),
    [
        (conv1d(kernel_size=7, stride=2, padding="SAME_UPPER"), 224, ((2, 3),)),
        (conv1d(kernel_size=7, stride=2, padding="SAME_LOWER"), 224, ((3, 2),)),
        (conv1d(kernel_size=4, padding="same"), 5, ((1, 2),)),  # extra at the end
        (conv1d(kernel_size=3, padding="full"), 5, ((2, 2),)),
        (conv1d(kernel_size=3, dilation=2, padding="full"), 5, ((4, 4),)),
        (conv1d(kernel_size=3, padding="valid"), 5, ((0, 0),)),
        (conv1d(kernel_size=3, padding=((1, 2),)), 5, ((1, 2),)),
        # SAME total is max(0, ...): i=8, k=1, s=2 -> o=4, total max(0, 6 + 1 - 8) = 0
        (conv1d(kernel_size=1, stride=2, padding="SAME_UPPER"), 8, ((0, 0),)),
        (pool1d(kernel_size=2, stride=2, padding="SAME_UPPER"), 5, ((0, 1),)),
        (pool1d(kernel_size=2, stride=2, padding="SAME_LOWER"), 5, ((1, 0),)),
    ],
)
def test_resolve_padding_known_values(spec: cp.Spec, size: int, pads: Any) -> None:
    assert spec.resolve_padding((1, size)) == pads


# --------------------------------------------------------------------------------------
# the seeds and the contract
# --------------------------------------------------------------------------------------


def test_seed_25x25x3_five_3x3_kernels_same_padding() -> None:
    spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
    assert spec.output_shape((3, 25, 25)) == (5, 25, 25)
    assert spec.weight_shape == (5, 3, 3, 3)  # each kernel is 3x3x3
    assert spec.num_params == 5 * 27 + 5 == 140


def test_seed_32x32x3_one_5x5_kernel() -> None:
    spec = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5)
    assert spec.output_shape((3, 32, 32)) == (1, 28, 28)
    assert spec.num_params == 76  # 75 weights + 1 bias
    assert cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5, bias=False).num_params == 75
    dense = 3 * 32 * 32 + 1  # a fully connected unit on the same input
    assert dense == 3073 and spec.num_params < dense
    strided = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5, stride=2)
    assert strided.output_shape((3, 32, 32)) == (1, 14, 14)
    six = cp.ConvSpec(in_channels=3, out_channels=6, kernel_size=5)
    assert six.output_shape((3, 32, 32)) == (6, 28, 28)


def test_seed_3x3_input_2x2_kernel() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    assert spec.output_shape((1, 3, 3)) == (1, 2, 2)  # a 4x9 matrix: 4 outputs, 9 inputs
    assert spec.num_params == 4


def test_dumoulin_visin_4x4_input_3x3_kernel() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)
    assert spec.output_shape((1, 4, 4)) == (1, 2, 2)  # the 4x16 matrix


def test_contract_examples() -> None:
    spec = cp.ConvSpec(
        in_channels=3,
        out_channels=5,
        kernel_size=3,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        ndim=2,
    )
    assert spec.output_shape((3, 27, 27)) == (5, 25, 25)
    assert spec.output_shape((8, 3, 27, 27)) == (8, 5, 25, 25)
    tspec = cp.ConvTransposeSpec(
        in_channels=5,
        out_channels=3,
        kernel_size=3,
        stride=2,
        padding=1,
        output_padding=1,
        dilation=1,
        groups=1,
        bias=True,
        ndim=2,
    )
    # (8 - 1)*2 - 2 + 2 + 1 + 1 = 16
    assert tspec.output_shape((5, 8, 8)) == (3, 16, 16)
    assert tspec.weight_shape == (5, 3, 3, 3)
    assert tspec.num_params == 5 * 3 * 9 + 3
    pool = cp.PoolSpec(
        kind="max",
        kernel_size=2,
        stride=None,
        padding=0,
        dilation=1,
        ceil_mode=False,
        count_include_pad=True,
        ndim=2,
    )
    assert pool.stride == (2, 2)
    assert pool.output_shape((3, 9, 9)) == (3, 4, 4)
    assert (pool.num_params, pool.weight_shape, pool.bias_shape, pool.bias) == (
        0,
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("spec", "input_shape", "weight_shape", "params", "macs"),
    [
        # torchvision's convention: C_out * prod(o) * C_in/g * prod(k)
        (
            cp.ConvSpec(in_channels=3, out_channels=64, kernel_size=3, padding=1),
            (3, 224, 224),
            (64, 3, 3, 3),
            64 * 27 + 64,
            64 * 224 * 224 * 27,
        ),
        # depthwise: groups = C_in, C_out = 2 C_in
        (
            cp.ConvSpec(in_channels=8, out_channels=16, kernel_size=3, groups=8, bias=False),
            (8, 6, 6),
            (16, 1, 3, 3),
            16 * 9,
            16 * 16 * 9,
        ),
        (
            cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=(1, 3), groups=2, ndim=2),
            (4, 5, 5),
            (6, 2, 1, 3),
            6 * 2 * 3 + 6,
            6 * 5 * 3 * 2 * 3,
        ),
        # transposed conv counted on input positions: C_in * prod(i) * C_out/g * prod(k)
        (
            cp.ConvTransposeSpec(in_channels=4, out_channels=2, kernel_size=3, stride=2),
            (4, 5, 5),
            (4, 2, 3, 3),
            4 * 2 * 9 + 2,
            4 * 25 * 2 * 9,
        ),
        (
            cp.ConvTransposeSpec(
                in_channels=4, out_channels=6, kernel_size=2, groups=2, bias=False, ndim=1
            ),
            (4, 7),
            (4, 3, 2),
            4 * 3 * 2,
            4 * 7 * 3 * 2,
        ),
        (
            cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=(2, 2, 2), stride=2),
            (1, 2, 4, 4, 4),
            (3, 2, 2, 2, 2),
            3 * 2 * 8 + 3,
            3 * 8 * 2 * 8,
        ),
    ],
)
def test_counts(spec: cp.Spec, input_shape: Any, weight_shape: Any, params: int, macs: int) -> None:
    assert spec.weight_shape == weight_shape
    assert spec.num_params == params
    assert spec.macs(input_shape) == macs


def test_pool_counts() -> None:
    pool = cp.PoolSpec(kind="avg", kernel_size=2)
    assert pool.macs((3, 4, 4)) == 0
    assert pool.window_reads((3, 4, 4)) == 3 * 2 * 2 * 4


def test_output_padding_below_dilation_is_legal() -> None:
    """PyTorch's rule is op < stride OR op < dilation (checked by running torch)."""
    t = cp.ConvTransposeSpec(
        in_channels=1, out_channels=1, kernel_size=3, dilation=3, output_padding=2, ndim=1
    )
    assert t.output_padding == (2,)


# --------------------------------------------------------------------------------------
# bad inputs: (call, error message pattern)
# --------------------------------------------------------------------------------------


def _conv(**kw: Any) -> cp.ConvSpec:
    base: dict[str, Any] = dict(in_channels=3, out_channels=5, kernel_size=3)
    base.update(kw)
    return cp.ConvSpec(**base)


def _tconv(**kw: Any) -> cp.ConvTransposeSpec:
    base: dict[str, Any] = dict(in_channels=4, out_channels=2, kernel_size=3)
    base.update(kw)
    return cp.ConvTransposeSpec(**base)


def _pool(**kw: Any) -> cp.PoolSpec:
    base: dict[str, Any] = dict(kind="max", kernel_size=3)
    base.update(kw)
    return cp.PoolSpec(**base)


BAD = [
    # types
    (lambda: _conv(kernel_size=True), r"kernel_size must be an integer, got kernel_size=True"),
    (lambda: _conv(kernel_size=3.0), r"kernel_size must be an integer, got kernel_size=3\.0"),
    (lambda: _conv(kernel_size="3"), r"kernel_size must be an int or a tuple of 2 ints"),
    (lambda: _conv(kernel_size=None), r"kernel_size must be an int or a tuple"),
    (lambda: _conv(stride=(1, 1.5)), r"stride must be an integer"),
    (lambda: _conv(in_channels=True), r"in_channels must be an integer, got in_channels=True"),
    (lambda: _conv(out_channels=2.5), r"out_channels must be an integer"),
    (lambda: _conv(groups="1"), r"groups must be an integer, got groups='1'"),
    (lambda: _conv(bias=1), r"bias must be True or False, got bias=1"),
    (lambda: _conv(padding=1.5), r"padding must be an integer, got padding=1\.5"),
    (lambda: _conv(padding=None), r"padding must be an int, a tuple or a name, got padding=None"),
    (lambda: _conv(ndim=2.0), r"ndim must be an integer"),
    (lambda: _pool(ceil_mode="yes"), r"ceil_mode must be True or False, got ceil_mode='yes'"),
    (lambda: _pool(count_include_pad=None), r"count_include_pad must be True or False"),
    # values
    (lambda: _conv(kernel_size=0), r"kernel_size must be >= 1 in every dimension"),
    (lambda: _conv(kernel_size=(3, -1)), r"kernel_size must be >= 1 in every dimension"),
    (lambda: _conv(stride=(2, 0)), r"stride must be >= 1 in every dimension, got stride=\(2, 0\)"),
    (lambda: _conv(stride=-1), r"stride must be >= 1 in every dimension, got stride=-1"),
    (lambda: _conv(dilation=0), r"dilation must be >= 1 in every dimension, got dilation=0"),
    (lambda: _conv(padding=-1), r"padding must be >= 0 in every dimension.*got padding=-1"),
    (lambda: _conv(padding=((0, -1), (0, 0))), r"padding must be >= 0"),
    (lambda: _conv(in_channels=0), r"in_channels must be >= 1, got in_channels=0"),
    (lambda: _conv(out_channels=-2), r"out_channels must be >= 1, got out_channels=-2"),
    (lambda: _conv(groups=0), r"groups must be >= 1, got groups=0"),
    (lambda: _conv(ndim=0), r"ndim must be between 1 and 16, got ndim=0"),
    # tuple lengths
    (
        lambda: _conv(kernel_size=(3, 3, 3), ndim=2),
        r"kernel_size must be an int or a tuple of 2 ints",
    ),
    (lambda: _conv(kernel_size=3, stride=(1, 1), ndim=3), r"stride must be an int or a tuple of 3"),
    (
        lambda: _conv(padding=(1, 2, 3), ndim=2),
        r"padding must have one entry per spatial dimension",
    ),
    (
        lambda: _conv(kernel_size=(3, 3), stride=(1, 1, 1)),
        r"stride must be an int or a tuple of 2 ints \(ndim=2\), got stride=\(1, 1, 1\)",
    ),
    (lambda: _conv(padding=((1, 2, 3), (0, 0))), r"padding pairs must be \(before, after\)"),
    (
        lambda: _tconv(output_padding=(0, 0, 0), ndim=2),
        r"output_padding must be an int or a tuple of 2",
    ),
    # names
    (lambda: _conv(padding="bogus"), r"padding must be .*'same'.*got padding='bogus'"),
    (lambda: _conv(padding="Same"), r"got padding='Same'"),
    (lambda: _conv(padding_mode="zero"), r"padding_mode must be one of 'zeros', 'circular'"),
    (lambda: _tconv(padding="same"), r"padding must be .*got padding='same'"),
    (lambda: _tconv(padding="full"), r"got padding='full'"),
    (lambda: _pool(padding="same"), r"got padding='same'"),
    (lambda: _pool(kind="min"), r"kind must be 'max', 'avg' or 'lp', got kind='min'"),
    # PyTorch legality rules
    (lambda: _conv(groups=2, in_channels=3), r"in_channels must be divisible by groups"),
    (lambda: _conv(groups=2, in_channels=4, out_channels=3), r"out_channels must be divisible"),
    (lambda: _tconv(groups=4, in_channels=4, out_channels=2), r"out_channels must be divisible"),
    (
        lambda: _conv(padding="same", stride=2),
        r"padding='same' \(PyTorch\) needs stride 1.*"
        r"SAME_UPPER",
    ),
    (
        lambda: _conv(padding="same", stride=(1, 2)),
        r"got stride=\(1, 2\); use padding='SAME_UPPER'",
    ),
    (
        lambda: _tconv(stride=2, output_padding=2),
        r"output_padding must be smaller than either "
        r"stride or dilation",
    ),
    (lambda: _tconv(stride=1, dilation=2, output_padding=2), r"output_padding must be smaller"),
    (lambda: _tconv(output_padding=-1), r"output_padding must be >= 0"),
    (lambda: _pool(padding=2), r"padding must be at most half the kernel size"),
    (lambda: _pool(padding=2, dilation=3), r"padding must be at most half the kernel size"),
    (lambda: _pool(kernel_size=2, padding=((0, 2), (0, 0))), r"at most half the kernel size"),
    # input-dependent: padding modes, empty outputs, input shapes
    (
        lambda: _conv(padding=5, padding_mode="reflect").output_shape((3, 5, 9)),
        r"padding_mode='reflect' needs padding <= 4 for input size 5, got padding \(5, 5\)",
    ),
    (
        lambda: _conv(padding="same", kernel_size=5, padding_mode="reflect").output_shape(
            (3, 2, 9)
        ),
        r"padding_mode='reflect' needs padding <= 1 for input size 2",
    ),
    (
        lambda: _conv(padding=6, padding_mode="circular").output_shape((3, 5, 9)),
        r"padding_mode='circular' needs padding <= 5 for input size 5",
    ),
    (
        lambda: _conv(kernel_size=5).output_shape((3, 3, 9)),
        r"convolution output would be empty: input size 3 along dim 0",
    ),
    (
        lambda: _conv(kernel_size=3, dilation=2).output_shape((3, 9, 4)),
        r"effective kernel 5 \(kernel_size=3, dilation=2\)",
    ),
    (lambda: _pool().output_shape((3, 2, 2)), r"pooling output would be empty"),
    (
        lambda: _tconv(kernel_size=1, padding=1).output_shape((4, 1, 1)),
        r"transposed convolution output would be empty",
    ),
    (
        lambda: cp.PoolSpec(kind="avg", kernel_size=3, ndim=3).output_shape((1, 2, 4, 4)),
        r"3-D average pooling needs every input size >= kernel_size",
    ),
    (lambda: _conv().output_shape((3, 5)), r"input_shape must be \(C, \*spatial\) or \(N, C"),
    (lambda: _conv().output_shape((1, 2, 3, 5, 5)), r"with 2 spatial dims"),
    (
        lambda: _conv().output_shape((4, 5, 5)),
        r"input_shape has 4 channels but the layer expects 3",
    ),
    (lambda: _conv().output_shape((3, 0, 5)), r"spatial sizes must be >= 1"),
    (lambda: _conv().output_shape((0, 5, 5)), r"channels must be >= 1"),
    (lambda: _conv().output_shape((-1, 3, 5, 5)), r"batch size must be >= 0"),
    (lambda: _conv().output_shape((3, 5.0, 5)), r"input_shape must be an integer"),
    (lambda: _conv().output_shape(5), r"input_shape must be a tuple"),
    (lambda: _pool().resolve_padding((3, 2)), r"input_shape must be"),
    # spec_from_dict
    (lambda: cp.spec_from_dict([1, 2]), r"spec data must be a dict, got list"),
    (lambda: cp.spec_from_dict({"type": "Conv"}), r"type must be one of 'ConvSpec'"),
    (lambda: cp.spec_from_dict({"kernel_size": 3}), r"type must be one of .* got type=None"),
    (
        lambda: cp.spec_from_dict(
            {"type": "ConvSpec", "in_channels": 1, "out_channels": 1, "kernel": 3}
        ),
        r"unknown field for ConvSpec: 'kernel'",
    ),
    (
        lambda: cp.spec_from_dict({"type": "ConvSpec", "in_channels": 1}),
        r"ConvSpec description is incomplete",
    ),
    (
        lambda: cp.spec_from_dict({"type": "PoolSpec", "kind": "max", "kernel_size": [2, 0]}),
        r"kernel_size must be >= 1 in every dimension",
    ),
]


@pytest.mark.parametrize(("call", "pattern"), BAD)
def test_bad_input(call: Any, pattern: str) -> None:
    with pytest.raises(cp.ConvProofError, match=pattern):
        call()


def test_bad_input_table_is_large() -> None:
    assert len(BAD) >= 40


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="stride"):
        _conv(stride=0)


# --------------------------------------------------------------------------------------
# equality, hashing, immutability, round trips
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (_conv(kernel_size=3), _conv(kernel_size=(3, 3))),
        (_conv(padding=1), _conv(padding=((1, 1), (1, 1)))),
        (_conv(padding=1), _conv(padding=(1, 1))),
        (_conv(padding=(1, (0, 2))), _conv(padding=((1, 1), (0, 2)))),
        (_conv(padding="valid"), _conv(padding=0)),
        (_conv(padding="VALID"), _conv(padding=0)),
        (_conv(padding="SAME"), _conv(padding="SAME_UPPER")),
        (_conv(kernel_size=(3, 3)), _conv(kernel_size=(3, 3), ndim=2)),
        (_pool(stride=None), _pool(stride=3)),
        (_tconv(output_padding=0), _tconv(output_padding=(0, 0))),
    ],
)
def test_equal_spellings_are_equal_and_hash_equal(a: cp.Spec, b: cp.Spec) -> None:
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


def test_different_specs_differ() -> None:
    assert _conv(padding=1) != _conv(padding=((1, 0), (1, 1)))
    assert _conv(padding="SAME_UPPER") != _conv(padding="SAME_LOWER")
    assert cp.PoolSpec(kind="max", kernel_size=2) != cp.PoolSpec(kind="avg", kernel_size=2)
    assert _conv(bias=False) != _conv()


def test_stored_fields_are_normalized_tuples() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=(3, 1), padding=(1, (0, 1)))
    assert spec.ndim == 2
    assert spec.kernel_size == (3, 1) and spec.stride == (1, 1) and spec.dilation == (1, 1)
    assert spec.padding == ((1, 1), (0, 1))
    assert cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3).ndim == 2  # default
    assert _conv(padding="same").padding == "same"


def test_specs_are_frozen() -> None:
    spec = _conv()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.stride = (2, 2)  # type: ignore[misc]


def test_numpy_integers_are_accepted() -> None:
    np = pytest.importorskip("numpy")
    spec = cp.ConvSpec(in_channels=np.int64(3), out_channels=5, kernel_size=np.int32(3))
    assert spec == _conv()
    assert spec.output_shape((3, np.int64(5), 5)) == (5, 3, 3)


ROUND_TRIP = [
    _conv(),
    _conv(padding="same", dilation=(1, 2)),
    _conv(padding=((0, 1), (2, 3)), stride=(1, 2), groups=1, bias=False),
    cp.ConvSpec(in_channels=4, out_channels=8, kernel_size=3, groups=4, padding_mode="circular"),
    cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=(3, 3, 3), padding="SAME_LOWER"),
    _tconv(stride=2, padding=1, output_padding=1),
    _tconv(padding="SAME_UPPER", ndim=1),
    _pool(kind="avg", ceil_mode=True, count_include_pad=False, padding=1),
    cp.PoolSpec(kind="max", kernel_size=(2, 3), stride=(1, 2), dilation=2),
]


@pytest.mark.parametrize("spec", ROUND_TRIP)
def test_to_dict_round_trip(spec: cp.Spec) -> None:
    data = spec.to_dict()
    assert data["type"] == type(spec).__name__
    assert cp.spec_from_dict(data) == spec
    assert cp.spec_from_dict(json.loads(json.dumps(data))) == spec


def test_package_exports() -> None:
    for name in ("ConvSpec", "ConvTransposeSpec", "PoolSpec", "spec_from_dict"):
        assert name in cp.__all__


# -- hostile keywords (issue 16): every bad keyword set raises ConvProofError ----------------

_HOSTILE = st.one_of(
    st.integers(-3, 5),
    st.sampled_from([10**9, 10**18, -(10**9), 2**63, 0, 1, True, False, None]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.sampled_from(["same", "valid", "full", "SAME_UPPER", "SAME_LOWER", "SAME", "max", "avg"]),
    st.sampled_from(["zeros", "reflect", "circular", "replicate", "lp", "", "ZEROS"]),
    st.lists(st.integers(-2, 4), max_size=4).map(tuple),
    st.lists(st.integers(-2, 4), max_size=4),
    st.lists(st.tuples(st.integers(-2, 3), st.integers(-2, 3)), max_size=4).map(tuple),
    st.sampled_from([(), ((),), ((1, 2, 3),), (1.5, 2), ("a",), {}, {"a": 1}, set(), b"1"]),
    st.sampled_from([(1,) * 17, (1,) * 1000, object()]),
    st.builds(lambda n: np.int64(n), st.integers(-2, 4)),
)
_KEYWORDS = {
    cp.ConvSpec: [
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "dilation",
        "groups",
        "bias",
        "padding_mode",
        "ndim",
    ],
    cp.ConvTransposeSpec: [
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
        "dilation",
        "groups",
        "bias",
        "ndim",
    ],
    cp.PoolSpec: [
        "kind",
        "kernel_size",
        "stride",
        "padding",
        "dilation",
        "ceil_mode",
        "count_include_pad",
        "ndim",
    ],
}


@settings(deadline=None)
@given(data=st.data())
def test_hostile_keywords_raise_convproof_error(data) -> None:
    """`PoolSpec(kind="avg", kernel_size=3, ndim=1000000000)` died with MemoryError."""
    cls = data.draw(st.sampled_from(list(_KEYWORDS)), label="spec")
    names = _KEYWORDS[cls]
    base: dict[str, Any] = (
        {"kind": "max", "kernel_size": 2}
        if cls is cp.PoolSpec
        else {"in_channels": 2, "out_channels": 2, "kernel_size": 3}
    )
    bad = data.draw(
        st.dictionaries(st.sampled_from(names), _HOSTILE, min_size=1, max_size=4), label="kw"
    )
    try:
        spec = cls(**{**base, **bad})
    except cp.ConvProofError:
        return
    # accepted: then its methods work or refuse properly on an ordinary input too
    shape = data.draw(
        st.lists(st.integers(1, 9), min_size=spec.ndim + 1, max_size=spec.ndim + 1), label="shape"
    )
    shape[0] = spec.in_channels if cls is not cp.PoolSpec else shape[0]
    try:
        spec.output_shape(tuple(shape))
        spec.resolve_padding(tuple(shape))
        spec.macs(tuple(shape))
        _ = spec.weight_shape, spec.num_params, spec.to_dict()
    except cp.ConvProofError:
        pass


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (cp.PoolSpec, {"kind": "avg", "kernel_size": 3, "ndim": 10**9}, "ndim must be between 1"),
        (cp.ConvSpec, {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "ndim": 17}, "17"),
        (
            cp.ConvTransposeSpec,
            {"in_channels": 1, "out_channels": 1, "kernel_size": (1,) * 1000},
            "kernel_size must have at most 16 entries",
        ),
        (cp.PoolSpec, {"kind": "max", "kernel_size": 2, "ndim": 0}, "got ndim=0"),
    ],
)
def test_ndim_is_bounded(cls, kwargs, match) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        cls(**kwargs)
    assert cp.PoolSpec(kind="max", kernel_size=1, ndim=16).ndim == 16


# -- window reads count real input only (issue 16) ------------------------------------------


def _brute_force_reads(spec, shape) -> int:
    """Every (output, tap) pair over all axes at once, kept when every coordinate is inside."""
    import itertools
    import math as m

    c, spatial = shape[0], shape[1:]
    out = spec.output_shape(shape)[1:]
    pads = spec.resolve_padding(shape)
    count = 0
    for a in itertools.product(*(range(o) for o in out)):
        for u in itertools.product(*(range(k) for k in spec.kernel_size)):
            pos = [
                a[x] * spec.stride[x] + u[x] * spec.dilation[x] - pads[x][0]
                for x in range(spec.ndim)
            ]
            count += all(0 <= p < n for p, n in zip(pos, spatial))
    assert m.prod(out) >= 1
    return c * count


@pytest.mark.parametrize(
    ("spec", "shape", "reads"),
    [
        # README: [1, 2, 3, 4, 5], k=2, s=2, ceil -> windows [0,1], [2,3], [4]: 5 reads, not 6
        (cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1), (1, 5), 5),
        # k=3, s=1, p=1 on 3: windows read 2, 3, 2 real elements
        (cp.PoolSpec(kind="max", kernel_size=3, stride=1, padding=1, ndim=1), (1, 3), 7),
        # no padding, no overhang: C prod(o) prod(k)
        (cp.PoolSpec(kind="max", kernel_size=2), (3, 4, 4), 3 * 4 * 4),
        # 2-D with padding: per axis 2 + 3 + 2 = 7 on 3 inputs, so 7 * 7 per channel
        (cp.PoolSpec(kind="avg", kernel_size=3, stride=1, padding=1), (2, 3, 3), 2 * 7 * 7),
    ],
)
def test_window_reads_known(spec, shape, reads) -> None:
    assert spec.window_reads(shape) == reads == _brute_force_reads(spec, shape)


@given(
    kind=st.sampled_from(["max", "avg"]),
    ndim=st.integers(1, 3),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    d=st.integers(1, 2),
    ceil=st.booleans(),
    sizes=st.lists(st.integers(1, 7), min_size=3, max_size=3),
)
def test_window_reads_brute_force(kind, ndim, k, s, p, d, ceil, sizes) -> None:
    try:
        spec = cp.PoolSpec(
            kind=kind,
            kernel_size=k,
            stride=s,
            padding=p,
            dilation=1 if kind == "avg" else d,
            ceil_mode=ceil,
            ndim=ndim,
        )
        shape = (2, *sizes[:ndim])
        spec.output_shape(shape)
    except cp.ConvProofError:
        return
    assert spec.window_reads(shape) == _brute_force_reads(spec, shape)
    assert spec.window_reads((4, *shape)) == spec.window_reads(shape)  # per sample


def test_transposed_same_output_size_docstring() -> None:
    """SAME_UPPER / SAME_LOWER give min(i*s, (i-1)s + k_eff + op), not always i*s."""
    for name in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(1, 8):
            for k in range(1, 5):
                for s in range(1, 4):
                    for d in (1, 2):
                        for op in range(max(s, d)):
                            spec = cp.ConvTransposeSpec(
                                in_channels=1,
                                out_channels=1,
                                kernel_size=k,
                                stride=s,
                                dilation=d,
                                padding=name,
                                output_padding=op,
                                ndim=1,
                            )
                            keff = d * (k - 1) + 1
                            expected = min(i * s, (i - 1) * s + keff + op)
                            assert spec.output_shape((1, i)) == (1, expected)
    t = cp.ConvTransposeSpec(
        in_channels=1, out_channels=1, kernel_size=1, stride=2, padding="SAME_UPPER", ndim=1
    )
    assert t.output_shape((1, 6)) == (1, 11)  # the case: not 12


# --------------------------------------------------------------------------------------
# per-kind questions (answered by the specs, not by isinstance chains elsewhere)
# --------------------------------------------------------------------------------------

KINDS = [
    # spec, kind_name, transposed, is_linear, padding_mode (hand-written expectations)
    (cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=3, padding_mode="circular"),
     "conv", False, True, "circular"),
    (cp.ConvTransposeSpec(in_channels=1, out_channels=2, kernel_size=3),
     "conv_transpose", True, True, "zeros"),
    (cp.PoolSpec(kind="max", kernel_size=2), "max_pool", False, False, "zeros"),
    (cp.PoolSpec(kind="avg", kernel_size=2), "avg_pool", False, True, "zeros"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "name", "transposed", "linear", "mode"), KINDS)
def test_per_kind_questions(spec, name, transposed, linear, mode) -> None:
    assert spec.kind_name == name
    assert spec.transposed is transposed
    assert spec.is_linear is linear
    assert spec.padding_mode == mode
    assert "padding_mode" not in spec.to_dict() or name == "conv"  # a class constant only
    one = spec.one_axis(1, ((1, 0),))
    assert one.ndim == 1 and one.kind_name == name and one.padding == ((1, 0),)
    assert one.kernel_size == (spec.kernel_size[1],) and one.stride == (spec.stride[1],)
    assert check_spec(spec) is spec


def test_check_spec_refuses_non_specs() -> None:
    for bad in ("conv", None, 3, {"type": "ConvSpec"}):
        with pytest.raises(cp.ConvProofError, match=r"spec must be a ConvSpec, .* got spec="):
            check_spec(bad)
    with pytest.raises(cp.ConvProofError, match=r"layer must be a ConvSpec"):
        check_spec("x", "layer")
