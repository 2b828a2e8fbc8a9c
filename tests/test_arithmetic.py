"""Inverse shape arithmetic: known values, bad inputs, and Hypothesis properties that the
inverses really invert (checked through the specs' forward arithmetic and by brute force)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import convproof as cp


def conv1d(**kw: Any) -> cp.ConvSpec:
    kw.setdefault("in_channels", 1)
    kw.setdefault("out_channels", 1)
    return cp.ConvSpec(ndim=1, **kw)


def tconv1d(**kw: Any) -> cp.ConvTransposeSpec:
    kw.setdefault("in_channels", 1)
    kw.setdefault("out_channels", 1)
    return cp.ConvTransposeSpec(ndim=1, **kw)


# --------------------------------------------------------------------------------------
# known values (worked by hand)
# --------------------------------------------------------------------------------------


def test_padding_for_resnet_stem() -> None:
    # o = floor((224 + T - 7)/2) + 1 = 112  <=>  T in {5, 6}
    spec = cp.ConvSpec(in_channels=3, out_channels=64, kernel_size=7, stride=2)
    assert cp.padding_options(spec, (3, 224, 224), 112)[0][:3] == ((0, 5), (1, 4), (2, 3))
    assert cp.padding_for_output(spec, (3, 224, 224), 112) == ((3, 3), (3, 3))
    assert cp.padding_for_output(spec, (3, 224, 224), 112, symmetric=False) == ((2, 3), (2, 3))


def test_padding_options_known_values() -> None:
    # k=4, s=1: T = 3 exactly
    assert cp.padding_options(conv1d(kernel_size=4), (1, 10), 10) == (
        ((0, 3), (1, 2), (2, 1), (3, 0)),
    )
    # pooling k=3, s=2, i=8, o=4: T in {1, 2}, each side <= 1
    pool = cp.PoolSpec(kind="max", kernel_size=3, stride=2, ndim=1)
    assert cp.padding_options(pool, (1, 8), 4) == (((0, 1), (1, 0), (1, 1)),)
    # transposed: T = (i-1)s + k_eff + op - o = 7*2 + 3 + 0 - 15 = 2
    t = tconv1d(kernel_size=3, stride=2)
    assert cp.padding_options(t, (1, 8), 15) == (((0, 2), (1, 1), (2, 0)),)
    assert cp.padding_for_output(t, (1, 8), 15) == ((1, 1),)
    # reflect needs padding < input size: only T = 4 with both sides < 3
    refl = conv1d(kernel_size=5, padding_mode="reflect")
    assert cp.padding_options(refl, (1, 3), 3) == (((2, 2),),)
    # per-axis targets
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=(3, 1))
    assert cp.padding_for_output(spec, (1, 5, 5), (5, 6), symmetric=False) == ((1, 1), (0, 1))


@pytest.mark.parametrize(
    ("spec", "input_shape", "target", "pattern"),
    [
        (
            conv1d(kernel_size=3),
            (1, 5),
            2,
            r"no padding gives output size 2 along dim 0: input "
            r"size 5, padding >= 0 gives output sizes >= 3",
        ),
        (
            conv1d(kernel_size=4),
            (1, 10),
            10,
            r"no symmetric padding gives output size 10 along "
            r"dim 0.*\(0, 3\).*symmetric=False",
        ),
        (
            tconv1d(kernel_size=3, stride=2),
            (1, 8),
            18,
            r"no padding gives output size 18 along "
            r"dim 0.*at most 17",
        ),
        (
            cp.PoolSpec(kind="max", kernel_size=2, ndim=1),
            (1, 8),
            9,
            r"no padding gives output size 9.*kernel_size // 2 = 1, reachable sizes \[4, 5\]",
        ),
        (conv1d(kernel_size=3), (1, 5), 0, r"output_size must be >= 1"),
        (conv1d(kernel_size=3), (1, 5), (5, 5), r"output_size must be an int or a tuple of 1"),
        (conv1d(kernel_size=3), (1, 5), 2.0, r"output_size must be an integer"),
        (conv1d(kernel_size=3), (2, 5), 5, r"input_shape has 2 channels"),
        ("conv", (1, 5), 5, r"spec must be a ConvSpec, ConvTransposeSpec, PoolSpec"),
    ],
)
def test_padding_for_output_errors(spec: Any, input_shape: Any, target: Any, pattern: str) -> None:
    with pytest.raises(cp.ConvProofError, match=pattern):
        cp.padding_for_output(spec, input_shape, target)


def test_inverse_output_padding_known_values() -> None:
    # SEMANTICS: op = (i + p_l + p_r - k_eff) mod s
    assert cp.inverse_output_padding(conv1d(kernel_size=3, stride=3), (1, 7)) == (1,)
    # D&V relationship 14 example: i=6, k=3, s=2, p=1 -> a = 1
    assert cp.inverse_output_padding(conv1d(kernel_size=3, stride=2, padding=1), (1, 6)) == (1,)
    assert cp.inverse_output_padding(conv1d(kernel_size=3, stride=2, padding=1), (1, 5)) == (0,)


def test_transpose_of_known_values() -> None:
    conv = cp.ConvSpec(
        in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, groups=2, bias=False
    )
    t = cp.transpose_of(conv, (4, 6, 5))
    assert (t.in_channels, t.out_channels, t.groups, t.bias) == (6, 4, 2, False)
    assert t.padding == ((1, 1), (1, 1))
    assert t.output_padding == (1, 0)
    assert conv.output_shape((4, 6, 5)) == (6, 3, 3)
    assert t.output_shape((6, 3, 3)) == (4, 6, 5)
    # the transposed weight has the forward weight's shape with channels swapped
    assert t.weight_shape == (6, 2, 3, 3) and conv.weight_shape == (6, 2, 3, 3)


def test_input_sizes_with_same_output_known_values() -> None:
    # i=7, k=3, s=3: o=2 for i in 6..8
    assert cp.input_sizes_with_same_output(conv1d(kernel_size=3, stride=3), (1, 7)) == (
        range(6, 9),
    )
    # D&V: i=5 and i=6 with k=3, s=2, p=1 both give 3
    spec = conv1d(kernel_size=3, stride=2, padding=1)
    assert cp.input_sizes_with_same_output(spec, (1, 5)) == (range(5, 7),)
    # stride 1: unique
    assert cp.input_sizes_with_same_output(conv1d(kernel_size=3), (1, 5)) == (range(5, 6),)
    # transposed: injective
    t = tconv1d(kernel_size=3, stride=2)
    assert cp.input_sizes_with_same_output(t, (1, 4)) == (range(4, 5),)
    # pooling with ceil mode, k=2, s=2: o = ceil(i/2) -> i in {5, 6} give 3
    pool = cp.PoolSpec(kind="max", kernel_size=2, ceil_mode=True, ndim=1)
    assert cp.input_sizes_with_same_output(pool, (1, 5)) == (range(5, 7),)
    # the smallest valid input is 1 (k=1, s=4: o = 1 for i in 1..4)
    assert cp.input_sizes_with_same_output(conv1d(kernel_size=1, stride=4), (1, 2)) == (
        range(1, 5),
    )


def test_output_padding_for_size_known_values() -> None:
    t = cp.ConvTransposeSpec(in_channels=4, out_channels=2, kernel_size=3, stride=2, padding=1)
    # m = 7*2 - 2 + 2 + 1 = 15, accepted sizes 15, 16
    assert cp.output_padding_for_size(t, (4, 8, 8), 15) == (0, 0)
    assert cp.output_padding_for_size(t, (4, 8, 8), (16, 15)) == (1, 0)
    with pytest.raises(cp.ConvProofError, match=r"output_size must be between 15 and 16 along"):
        cp.output_padding_for_size(t, (4, 8, 8), 17)
    with pytest.raises(cp.ConvProofError, match=r"output_size must be between 15 and 16"):
        cp.output_padding_for_size(t, (4, 8, 8), 14)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda: cp.inverse_output_padding(tconv1d(kernel_size=3), (1, 5)),
            r"conv_spec must be a ConvSpec, got conv_spec=ConvTransposeSpec",
        ),
        (lambda: cp.transpose_of(None, (1, 5)), r"conv_spec must be a ConvSpec"),
        (lambda: cp.transpose_of(conv1d(kernel_size=7), (1, 5)), r"output would be empty"),
        (
            lambda: cp.output_padding_for_size(conv1d(kernel_size=3), (1, 5), 5),
            r"tspec must be a ConvTransposeSpec",
        ),
        (
            lambda: cp.output_padding_for_size(tconv1d(kernel_size=3), (1, 5), (7, 7)),
            r"output_size must be an int or a tuple of 1 ints",
        ),
        (
            lambda: cp.input_sizes_with_same_output(conv1d(kernel_size=3), (1, 2)),
            r"output would be empty",
        ),
        (lambda: cp.input_sizes_with_same_output(42, (1, 2)), r"spec must be a ConvSpec"),
    ],
)
def test_arithmetic_bad_inputs(call: Any, pattern: str) -> None:
    with pytest.raises(cp.ConvProofError, match=pattern):
        call()


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------

small = st.integers(1, 4)


@st.composite
def conv_cases(draw: st.DrawFn, named: bool = True) -> tuple[cp.ConvSpec, tuple[int, ...]]:
    ndim = draw(st.integers(1, 2))
    k = draw(st.tuples(*[small] * ndim))
    s = draw(st.tuples(*[small] * ndim))
    d = draw(st.tuples(*[st.integers(1, 3)] * ndim))
    options: list[Any] = [st.tuples(*[st.tuples(st.integers(0, 3), st.integers(0, 3))] * ndim)]
    if named:
        options.append(st.sampled_from(["valid", "full", "SAME_UPPER", "SAME_LOWER"]))
    padding = draw(st.one_of(*options))
    spec = cp.ConvSpec(
        in_channels=1, out_channels=1, kernel_size=k, stride=s, dilation=d, padding=padding
    )
    spatial = draw(st.tuples(*[st.integers(1, 12)] * ndim))
    shape = (1, *spatial)
    try:
        spec.output_shape(shape)
    except cp.ConvProofError:
        assume(False)
    return spec, shape


@given(conv_cases())
def test_transpose_of_maps_output_shape_back(case: tuple[cp.ConvSpec, tuple[int, ...]]) -> None:
    conv, shape = case
    t = cp.transpose_of(conv, shape)
    assert t.output_shape(conv.output_shape(shape)) == shape
    assert all(op < s for op, s in zip(t.output_padding, t.stride))
    # SEMANTICS: op = (i + p_l + p_r - k_eff) mod s
    pads = conv.resolve_padding(shape)
    for op, i, (pl, pr), k, d, s in zip(
        t.output_padding, shape[1:], pads, conv.kernel_size, conv.dilation, conv.stride
    ):
        assert op == (i + pl + pr - (d * (k - 1) + 1)) % s


@given(conv_cases())
def test_input_sizes_with_same_output_is_the_exact_preimage(
    case: tuple[cp.ConvSpec, tuple[int, ...]],
) -> None:
    conv, shape = case
    ranges = cp.input_sizes_with_same_output(conv, shape)
    target = conv.output_shape(shape)[1:]

    def out_along(axis: int, size: int) -> int | None:
        probe = list(shape[1:])
        probe[axis] = size
        try:
            return conv.output_spatial(tuple(probe))[axis]
        except cp.ConvProofError:
            return None

    for axis, r in enumerate(ranges):
        assert shape[1 + axis] in r
        assert len(r) <= conv.stride[axis]
        # brute force over all sizes up to well past the range
        brute = [
            n
            for n in range(1, r.stop + 2 * conv.stride[axis] + 2)
            if out_along(axis, n) == target[axis]
        ]
        assert brute == list(r)


@given(conv_cases(named=False), st.integers(1, 14))
def test_padding_options_are_exactly_the_working_pairs(
    case: tuple[cp.ConvSpec, tuple[int, ...]], target: int
) -> None:
    conv, shape = case
    options = cp.padding_options(conv, shape, target)
    for axis, pairs in enumerate(options):
        k_eff = conv.effective_kernel_size[axis]
        s, i = conv.stride[axis], shape[1 + axis]
        limit = max(0, (target - 1) * s + k_eff - i + s) + 1  # no larger total can work
        brute = []
        for pl in range(limit + 1):
            for pr in range(limit + 1):
                o = (i + pl + pr - k_eff) // s + 1  # SEMANTICS' formula, written out here
                if o == target:
                    brute.append((pl, pr))
        assert sorted(pairs) == sorted(brute)


@given(conv_cases(named=False), st.integers(1, 14), st.booleans())
def test_padding_for_output_gives_the_target(
    case: tuple[cp.ConvSpec, tuple[int, ...]], target: int, symmetric: bool
) -> None:
    conv, shape = case
    try:
        pads = cp.padding_for_output(conv, shape, target, symmetric=symmetric)
    except cp.ConvProofError as exc:
        assert "no " in str(exc) and "padding gives output size" in str(exc)
        return
    fields = conv.to_dict()
    fields["padding"] = [list(p) for p in pads]
    rebuilt = cp.spec_from_dict(fields)
    assert rebuilt.output_spatial(shape[1:]) == (target,) * conv.ndim
    if symmetric:
        assert all(pl == pr for pl, pr in pads)


@st.composite
def transposed_cases(draw: st.DrawFn) -> tuple[cp.ConvTransposeSpec, tuple[int, ...]]:
    k, s, d = draw(small), draw(small), draw(st.integers(1, 3))
    p = draw(st.integers(0, 3))
    t = tconv1d(kernel_size=k, stride=s, dilation=d, padding=p)
    shape = (1, draw(st.integers(1, 8)))
    try:
        t.output_shape(shape)
    except cp.ConvProofError:
        assume(False)
    return t, shape


@given(transposed_cases(), st.integers(0, 3))
def test_output_padding_for_size_hits_the_size(
    case: tuple[cp.ConvTransposeSpec, tuple[int, ...]], extra: int
) -> None:
    t, shape = case
    m = t.output_shape(shape)[-1]
    size = m + extra
    s, d = t.stride[0], t.dilation[0]
    if extra < s:
        (op,) = cp.output_padding_for_size(t, shape, size)
        assert op == extra
        fields = t.to_dict()
        fields["output_padding"] = [op]
        assert cp.spec_from_dict(fields).output_shape(shape) == (1, size)
    else:
        with pytest.raises(cp.ConvProofError, match="output_size must be between"):
            cp.output_padding_for_size(t, shape, size)
    del d


def test_input_sizes_with_same_output_for_pooling_matches_brute_force() -> None:
    checked = 0
    for k, s, p, ceil_mode, size in itertools.product(
        range(1, 5), range(1, 5), range(0, 3), (False, True), range(1, 11)
    ):
        if p > k // 2:
            continue
        spec = cp.PoolSpec(
            kind="avg", kernel_size=k, stride=s, padding=p, ceil_mode=ceil_mode, ndim=1
        )

        def out(n: int, spec: cp.PoolSpec = spec) -> int | None:
            try:
                return spec.output_spatial((n,))[0]
            except cp.ConvProofError:
                return None

        target = out(size)
        if target is None:
            continue
        (r,) = cp.input_sizes_with_same_output(spec, (1, size))
        assert list(r) == [n for n in range(1, 30) if out(n) == target], (k, s, p, size)
        checked += 1
    assert checked > 300


@pytest.mark.parametrize("legality", ["pytorch", "onnx"])
@pytest.mark.parametrize("kind", ["avg", "lp", "max"])
@pytest.mark.parametrize("ceil", [False, True])
def test_same_output_sizes_follow_the_3d_input_rule(kind, legality, ceil) -> None:
    """PyTorch's 3-D avg/Lp pools refuse inputs below the kernel; ONNX's do not.  The
    inverse answer equals a brute force over the spec's own acceptance (it once applied
    the rule to avg under every profile and never to Lp)."""
    kw = {"norm_type": 1} if kind == "lp" else {}
    spec = cp.PoolSpec(kind=kind, kernel_size=3, stride=3, ndim=3, legality=legality,
                       ceil_mode=ceil, **kw)  # fmt: skip
    for i in (3, 4, 7):
        shape = (1, i, 3, 3)
        want = spec.output_shape(shape)[-3]

        def out(n):
            try:
                return spec.output_shape((1, n, 3, 3))[-3]
            except cp.ConvProofError:
                return None

        same = [n for n in range(1, 20) if out(n) == want]
        got = cp.input_sizes_with_same_output(spec, shape)[0]
        assert list(got) == same, (i, got, same)
    small = spec.input_at_least_kernel
    assert small == (kind != "max" and legality == "pytorch")
