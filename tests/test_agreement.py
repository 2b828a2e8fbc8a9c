"""cp.agreement: the exact input sizes on which two layers are equal.

The expected sets are never computed by convproof's index tables: each claimed set is checked
size by size (1..300) by running both layers with the numeric convolution on random inputs
and weights, and the headline cases are hand-worked.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convproof as cp
from convproof.frameworks.agreement import SizeSet

STEM = dict(in_channels=3, out_channels=8, kernel_size=7, stride=2)


# --- hand-worked ----------------------------------------------------------------------------
def test_resnet_stem_k_minus_1_over_2_is_same_only_for_odd_sizes() -> None:
    # SAME at 224: o = 112, total (112-1)*2 + 7 - 224 = 5 -> (2, 3); padding=3 reads one
    # pixel further left.  At 225: total 6 -> (3, 3), identical to padding=3.
    a = cp.agreement(cp.ConvSpec(**STEM, padding=3), cp.ConvSpec(**STEM, padding="SAME_UPPER"))
    assert 225 in a[0] and 224 not in a[1]
    assert (225, 225) in a and (224, 225) not in a and (225,) not in a
    assert a[0] == SizeSet(start=1, period=2, residues=frozenset({1}))
    assert a.smallest_failing == (2, 2)
    assert a.status == "proved"
    assert str(a[0]) == "n >= 1, n ≡ 1 (mod 2)"


def test_resnet_stem_values_differ_at_224_and_agree_at_225(rng: np.random.Generator) -> None:
    torch_like = cp.ConvSpec(**STEM, padding=3)
    same = cp.ConvSpec(**STEM, padding="SAME_UPPER")
    w = rng.standard_normal(torch_like.weight_shape)
    for n, equal in ((225, True), (224, False)):
        x = rng.standard_normal((3, n, n))
        y1, y2 = cp.conv(torch_like, x, w), cp.conv(same, x, w)
        assert y1.shape == y2.shape  # the shapes always agree: that is why the bug hides
        assert np.allclose(y1, y2) is equal


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # stride 1, odd kernel: SAME is (k-1)/2 on both sides for every size
        (dict(kernel_size=3, padding=1), dict(kernel_size=3, padding="SAME_UPPER"), "n >= 1"),
        # even kernel, stride 1: SAME puts the extra on the end, SAME_LOWER at the start
        (
            dict(kernel_size=2, padding=((0, 1),)),
            dict(kernel_size=2, padding="SAME_UPPER"),
            "n >= 1",
        ),
        (dict(kernel_size=2, padding="SAME_LOWER"), dict(kernel_size=2, padding="same"), "no size"),
        # valid vs padding 0 is the same layer; valid vs 1 never (sizes differ)
        (dict(kernel_size=3, padding="valid"), dict(kernel_size=3, padding=0), "n >= 3"),
        (dict(kernel_size=3, padding="valid"), dict(kernel_size=3, padding=1), "no size"),
        # stride 2 vs stride 1, kernel 1: only n = 1 has equal outputs
        (dict(kernel_size=1, stride=2), dict(kernel_size=1, stride=1), "n in {1}"),
        # stride 3, k 3: SAME total is 0 when 3 | n; pad 1 gives the same size only then? no:
        # (n + 2 - 3)//3 + 1 = ceil(n/3) always, left pad 0 vs 1 differ unless total is 2 or 3
        (
            dict(kernel_size=3, stride=3, padding=1),
            dict(kernel_size=3, stride=3, padding="SAME_UPPER"),
            "n >= 1, n ≡ 1 (mod 3)",
        ),
    ],
)
def test_hand_worked_sets(a: dict, b: dict, expected: str) -> None:
    sa = cp.ConvSpec(in_channels=1, out_channels=1, ndim=1, **a)
    sb = cp.ConvSpec(in_channels=1, out_channels=1, ndim=1, **b)
    assert str(cp.agreement(sa, sb)[0]) == expected


def test_size_set_membership_and_canonical_form() -> None:
    s = SizeSet.from_members([1, 4, 6, 8, 10, 12], start=6, period=4)
    # canonical: period 2 (residue 0 repeats); start lowered to 3 (3 is odd and not a member,
    # as the rule says) but not to 2 (even, yet not a member)
    assert (s.start, s.period, s.residues, s.below) == (3, 2, frozenset({0}), frozenset({1}))
    assert [n for n in range(1, 15) if n in s] == [1, 4, 6, 8, 10, 12, 14]
    assert "x" not in s and 0 not in s and -2 not in s and True not in s
    assert s.minimum == 1 and s.smallest_outside == 2
    assert SizeSet.from_members([], start=3, period=1).is_empty
    assert SizeSet.from_members([1, 2, 3], start=3, period=1).is_all
    assert list(s.members(9)) == [1, 4, 6, 8]


@pytest.mark.parametrize(
    ("b", "match"),
    [
        (cp.PoolSpec(kind="max", kernel_size=3, ndim=1), "same kind of layer"),
        (cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=3, ndim=1), "same weights"),
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=5, ndim=1), "same weights"),
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, ndim=2), "ndim=1"),
        ("conv3x3", "spec_b must be a ConvSpec"),
    ],
)
def test_incomparable_layers_are_refused(b: cp.Spec, match: str) -> None:
    a = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, ndim=1)
    with pytest.raises(cp.ConvProofError, match=match):
        cp.agreement(a, b)


# --- brute force 1..300 against the numeric convolution ------------------------------------
_PADS = st.one_of(
    st.integers(0, 3),
    st.tuples(st.tuples(st.integers(0, 3), st.integers(0, 3))),
    st.sampled_from(["valid", "same", "full", "SAME_UPPER", "SAME_LOWER"]),
)


@st.composite
def spec_pairs(draw: st.DrawFn) -> tuple[cp.Spec, cp.Spec]:
    kind = draw(st.sampled_from(["conv", "conv_transpose", "max", "avg"]))
    k = draw(st.integers(1, 4))
    made = []
    for _ in range(2):
        s = draw(st.integers(1, 3))
        d = draw(st.integers(1, 2))
        pad = draw(_PADS)
        try:
            if kind == "conv":
                mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
                made.append(
                    cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=k, stride=s,
                                dilation=d, padding=pad, padding_mode=mode, ndim=1)
                )  # fmt: skip
            elif kind == "conv_transpose":
                op = draw(st.integers(0, max(s, d) - 1))
                assume(pad not in ("same", "full"))
                made.append(
                    cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=k, stride=s,
                                         dilation=d, padding=pad, output_padding=op, ndim=1)
                )  # fmt: skip
            else:
                assume(pad not in ("same", "full"))
                made.append(
                    cp.PoolSpec(kind=kind, kernel_size=k, stride=s, dilation=d, padding=pad,
                                ceil_mode=draw(st.booleans()),
                                count_include_pad=draw(st.booleans()), ndim=1)
                )  # fmt: skip
        except cp.ConvProofError:
            assume(False)
    return made[0], made[1]


def _numeric(spec: cp.Spec, n: int, x: np.ndarray, w: np.ndarray | None) -> np.ndarray | None:
    try:
        spec.output_shape((1, n))
    except cp.ConvProofError:
        return None
    if isinstance(spec, cp.PoolSpec) and spec.kind == "max":
        # one random input can hide a difference (max over {1} = max over {0, 1} whenever
        # x[1] > x[0]): probe with every one-hot input, which reveals each window's set
        return cp.conv(spec, np.eye(n)[:, None, :])
    return cp.conv(spec, x[:, :n], w) if w is not None else cp.conv(spec, x[:, :n])


@settings(deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(spec_pairs())
def test_claimed_set_is_exact_on_sizes_1_to_300(pair: tuple[cp.Spec, cp.Spec]) -> None:
    a, b = pair
    result = cp.agreement(a, b)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 300))
    w = None if isinstance(a, cp.PoolSpec) else rng.standard_normal(a.weight_shape)
    for n in range(1, 301):
        ya, yb = _numeric(a, n, x, w), _numeric(b, n, x, w)
        equal = (
            ya is not None
            and yb is not None
            and ya.shape == yb.shape
            and bool(np.allclose(ya, yb, rtol=1e-12, atol=1e-12))
        )
        assert (n in result[0]) is equal, (n, str(result[0]))


def test_agreement_with_itself_is_every_valid_size() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=5, dilation=2, ndim=1,
                       padding=1, padding_mode="reflect")  # fmt: skip
    # valid from n >= 9 - 2 = 7 (output >= 1); reflect needs n > 1 (padding < n)
    assert str(cp.agreement(spec, spec)[0]) == "n >= 7"


def test_planted_short_threshold_is_caught_by_the_brute_force(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without the shift lemma's threshold, one period of small sizes would be extrapolated:
    # stride 2 vs stride 1 (kernel 1) agree at n = 1 only, but a threshold of 1 claims every
    # odd size.  The size-by-size numeric check above refutes that claim at n = 3.
    import convproof.frameworks.agreement as agreement_module

    a = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, stride=2, ndim=1)
    b = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, stride=1, ndim=1)
    monkeypatch.setattr(agreement_module, "_threshold", lambda *args: 1)
    wrong = cp.agreement(a, b)
    assert 3 in wrong[0]
    x = np.arange(3.0)[None, :]
    w = np.ones((1, 1, 1))
    assert cp.conv(a, x, w).shape != cp.conv(b, x, w).shape
    monkeypatch.undo()
    assert 3 not in cp.agreement(a, b)[0]
