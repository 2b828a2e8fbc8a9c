"""Tests of the backward passes: PyTorch autograd, the loop reference, hand tables, proofs,
the checkers and the zoo of wrong backward passes."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import convproof as cp
from convproof.constructions import backward as bw
from convproof.constructions import backward_plan
from convproof.testing import strategies as cs

try:
    from backward_zoo import CORRECT, ZOO, loop_backward, numpy_conv_backward, torch_backward
    from reference import reference
    from testsupport import kind_problems, padded_1d
except ImportError:  # pragma: no cover - run from another rootdir
    from tests.backward_zoo import (
        CORRECT,
        ZOO,
        loop_backward,
        numpy_conv_backward,
        torch_backward,
    )
    from tests.reference import reference
    from tests.testsupport import kind_problems, padded_1d


def _problems(kind: str, ndim: int, **kw: Any) -> st.SearchStrategy:
    if kind != "pool":
        kw.setdefault("max_channels", 3)
    return kind_problems(cs.conv_backward_problems, kind, ndim, **kw)


def _f64(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _grads(p: cs.BackwardProblem) -> tuple:
    return cp.conv_backward(p.spec, p.x, p.weight, p.grad_output, p.bias)


# --------------------------------------------------------------------------------------
# hand-worked cases
# --------------------------------------------------------------------------------------


def test_hand_conv_1d() -> None:
    # Z = [1*10 + 2*1, 2*10 + 3*1]; g = [1, 1]
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1)
    gi, gw, gb = cp.conv_backward(spec, [[1, 2, 3]], [[[10, 1]]], [[1, 1]], bias=[0])
    assert gi.tolist() == [[10, 11, 1]]
    assert gw.tolist() == [[[3, 5]]]
    assert gb.tolist() == [2]
    assert gi.dtype == np.int64


@pytest.mark.parametrize(
    ("mode", "grad_input"),
    [
        # padded x = [p, 1, 2, q]; outputs read (p,1,2) and (1,2,q), kernel ones, g = [1, 10]
        ("zeros", [[11, 11]]),
        ("replicate", [[12, 21]]),  # p copies x0, q copies x1
        ("circular", [[21, 12]]),  # p copies x1, q copies x0
        ("reflect", [[21, 12]]),  # p copies x1 (edge not repeated), q copies x0
    ],
)
def test_hand_padding_modes_fold_back(mode: str, grad_input: list) -> None:
    spec = padded_1d(mode)
    gi, _, _ = cp.conv_backward(spec, [[1, 2]], [[[1, 1, 1]]], [[1, 10]])
    assert gi.tolist() == grad_input


def test_hand_replicate_weight_gradient() -> None:
    # padded x = [1, 1, 2, 2]; gw[u] = g0 * xp[u] + g1 * xp[u + 1]
    spec = padded_1d("replicate")
    _, gw, _ = cp.conv_backward(spec, [[1, 2]], [[[1, 1, 1]]], [[1, 10]])
    assert gw.tolist() == [[[1 + 10, 1 + 20, 2 + 20]]]


def test_hand_transposed() -> None:
    # Y = [1, 10, 2, 20]; grad_input[i] = sum_u w[u] g[2i + u]
    spec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2,
                                bias=True, ndim=1)  # fmt: skip
    gi, gw, gb = cp.conv_backward(spec, [[1, 2]], [[[1, 10]]], [[1, 2, 3, 4]], [0])
    assert gi.tolist() == [[1 + 20, 3 + 40]]
    assert gw.tolist() == [[[1 * 1 + 2 * 3, 1 * 2 + 2 * 4]]]
    assert gb.tolist() == [10]


def test_hand_transposed_padding_crops() -> None:
    # full output [x0 w0, x0 w1 + x1 w0, x1 w1], padding 1 keeps the middle one only
    spec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, padding=1,
                                bias=False, ndim=1)  # fmt: skip
    gi, gw, _ = cp.conv_backward(spec, [[3, 5]], [[[1, 10]]], [[7]])
    assert gi.tolist() == [[70, 7]]
    assert gw.tolist() == [[[35, 21]]]


@pytest.mark.parametrize(
    ("cip", "expected"),
    [
        # [1..5], k=2, s=2, p=1, ceil: windows (p,0) (1,2) (3,4); overhang never counts
        (True, [Fraction(1, 2), Fraction(2, 2), Fraction(2, 2), Fraction(3, 2), Fraction(3, 2)]),
        (False, [Fraction(1), Fraction(2, 2), Fraction(2, 2), Fraction(3, 2), Fraction(3, 2)]),
    ],
)
def test_hand_avg_pool_divisors(cip: bool, expected: list) -> None:
    spec = cp.PoolSpec(kind="avg", kernel_size=2, stride=2, padding=1, ceil_mode=True,
                       count_include_pad=cip, ndim=1)  # fmt: skip
    assert spec.output_shape((1, 5)) == (1, 3)
    gi = cp.pool_backward(spec, np.zeros((1, 5)), [[1, 2, 3]])
    assert gi.tolist() == [expected]


def test_hand_avg_pool_ceil_overhang() -> None:
    # [1..5], k=2, s=2, ceil: the last window holds x4 alone (divisor 1)
    spec = cp.PoolSpec(kind="avg", kernel_size=2, stride=2, ceil_mode=True, ndim=1)
    gi = cp.pool_backward(spec, np.zeros((1, 5)), np.array([[2.0, 4.0, 6.0]]))
    assert gi.tolist() == [[1.0, 1.0, 2.0, 2.0, 6.0]]


def test_hand_max_pool_ties_first_wins() -> None:
    # found with PyTorch 2.13: windows [1,3,3] [3,3,1] [3,1,3] -> indices 1, 1, 2
    spec = cp.PoolSpec(kind="max", kernel_size=3, stride=1, ndim=1)
    x = np.array([[1.0, 3, 3, 1, 3]])
    assert cp.max_pool_indices(spec, x).tolist() == [[1, 1, 2]]
    assert cp.pool_backward(spec, x, np.ones((1, 3))).tolist() == [[0, 2, 1, 0, 0]]


def test_hand_max_pool_last_nan_wins() -> None:
    spec = cp.PoolSpec(kind="max", kernel_size=3, stride=1, ndim=1)
    x = np.array([[1.0, np.nan, 3, np.nan, 3]])
    assert cp.max_pool_indices(spec, x).tolist() == [[1, 3, 3]]


def test_hand_max_pool_window_of_padding_only() -> None:
    spec = cp.PoolSpec(kind="max", kernel_size=2, stride=1, padding=1, dilation=2, ndim=1)
    x = np.array([[5.0]])  # windows at (-1, 1): padding only
    assert cp.max_pool_indices(spec, x).tolist() == [[-1]]
    assert cp.pool_backward(spec, x, [[7.0]]).tolist() == [[0.0]]


def test_hand_max_unpool() -> None:
    spec = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
    out = cp.max_unpool(spec, np.array([[7.0, 8.0]]), np.array([[1, 3]]))
    assert out.tolist() == [[0.0, 7.0, 0.0, 8.0]]
    out = cp.max_unpool(spec, np.array([[7.0, 8.0]]), np.array([[1, 3]]), output_size=(5,))
    assert out.tolist() == [[0.0, 7.0, 0.0, 8.0, 0.0]]


def test_unbatched_and_batched_agree() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=2, groups=2, ndim=2)
    rng = np.random.default_rng(0)
    x, w = rng.integers(-3, 4, (2, 3, 3)), rng.integers(-3, 4, (2, 1, 2, 2))
    g = rng.integers(-3, 4, (2, 2, 2))
    one = cp.conv_backward(spec, x, w, g, bias=[0, 0])
    two = cp.conv_backward(spec, x[None], w, g[None], bias=[0, 0])
    assert np.array_equal(one[0], two[0][0])
    assert np.array_equal(one[1], two[1]) and np.array_equal(one[2], two[2])


# --------------------------------------------------------------------------------------
# exactness: integers, overflow, fractions
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "pool"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_exact_against_loop_reference(kind: str, ndim: int, data: st.DataObject) -> None:
    modes = {"padding_modes": cs.PADDING_MODES} if kind == "conv" else {}
    p = data.draw(_problems(kind, ndim, dtype="int64", max_extra_size=2, **modes))
    got = _grads(p)
    xo = p.x.astype(object) * Fraction(1)
    go = p.grad_output.astype(object) * Fraction(1)
    wo = None if p.weight is None else p.weight.astype(object)
    want = loop_backward(p.spec, xo, wo, p.bias, go)
    for a, b in zip(got, want):
        if b is None:
            assert a is None
            continue
        assert a.shape == b.shape
        if not (isinstance(p.spec, cp.PoolSpec) and p.spec.kind == "avg"):
            assert a.dtype == np.int64  # integers stay integers
        assert [Fraction(v) for v in a.reshape(-1)] == [Fraction(v) for v in b.reshape(-1)]


def test_integers_that_could_overflow_use_python_ints() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=True, ndim=1)
    big = 2**40
    x = np.array([[big, big, big]])
    w = np.array([[[big, big]]])
    g = np.array([[big, big]])
    gi, gw, gb = cp.conv_backward(spec, x, w, g, bias=[0])
    assert gi.dtype == object and gw.dtype == object
    assert gi.tolist() == [[big**2, 2 * big**2, big**2]]
    assert gw.tolist() == [[[2 * big**2, 2 * big**2]]]
    assert gb.tolist() == [2 * big]
    small = cp.conv_backward(spec, x // big, w // big, g // big, bias=[0])
    assert small[0].dtype == np.int64


def test_fractions_are_exact() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
    x = np.array([[Fraction(1, 3), Fraction(1, 7), 1]], dtype=object)
    w = np.array([[[Fraction(1, 2), 3]]], dtype=object)
    g = np.array([[Fraction(2, 5), Fraction(1, 11)]], dtype=object)
    gi, gw, _ = cp.conv_backward(spec, x, w, g)
    assert gi.tolist() == [[Fraction(1, 5), Fraction(6, 5) + Fraction(1, 22), Fraction(3, 11)]]
    assert gw.tolist() == [[[Fraction(2, 15) + Fraction(1, 77), Fraction(2, 35) + Fraction(1, 11)]]]


def test_float32_kept() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=2, bias=False)
    x = np.ones((1, 3, 3), np.float32)
    gi, gw, _ = cp.conv_backward(spec, x, np.ones((2, 1, 2, 2), np.float32),
                                 np.ones((2, 2, 2), np.float32))  # fmt: skip
    assert gi.dtype == gw.dtype == np.float32


# --------------------------------------------------------------------------------------
# the adjoint identity against the loop reference (tests/reference.py), exactly
# --------------------------------------------------------------------------------------


def _inner(a: Any, b: Any) -> Any:
    return sum((Fraction(u) * Fraction(v) for u, v in zip(np.ravel(a), np.ravel(b))), Fraction(0))


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "pool"])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_adjoint_identity_against_reference(kind: str, data: st.DataObject) -> None:
    ndim = data.draw(st.sampled_from([1, 2]))
    modes = {"padding_modes": cs.PADDING_MODES} if kind == "conv" else {}
    p = data.draw(_problems(kind, ndim, dtype="object", max_extra_size=2, **modes))
    if isinstance(p.spec, cp.PoolSpec) and p.spec.kind == "max":
        return  # not linear: covered by the tie-rule and torch tests
    spec = p.spec
    z = reference(spec, p.x, p.weight, None)  # the loop reference, no bias: linear in x
    gi, gw, _ = _grads(p)
    assert _inner(z, p.grad_output) == _inner(p.x, gi)  # <T x, g> = <x, T^T g>
    if p.weight is not None:  # and linear in the weight: <Z(w), g> = <w, grad_weight>
        assert _inner(z, p.grad_output) == _inner(p.weight, gw)


# --------------------------------------------------------------------------------------
# PyTorch autograd: >= 1000 generated problems
# --------------------------------------------------------------------------------------

_TORCH_EXAMPLES = {"conv": 400, "conv_transpose": 350, "pool": 450}
# problems actually compared (pooling: asymmetric padding is skipped): 1000 in total
_TORCH_COMPARED = {"conv": 380, "conv_transpose": 330, "pool": 290}


@pytest.fixture
def torch1(torch: Any) -> Any:
    """PyTorch on one thread: tiny problems run ~10x faster on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(before)


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "pool"])
def test_agrees_with_torch_autograd(kind: str, torch1: Any) -> None:
    torch = torch1
    ran = [0]
    modes = {"padding_modes": cs.PADDING_MODES} if kind == "conv" else {}

    @settings(max_examples=_TORCH_EXAMPLES[kind], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.sampled_from([1, 2, 3]).flatmap(
        lambda n: _problems(kind, n, max_channels=4, max_extra_size=3, **modes)))  # fmt: skip
    def run(p: cs.BackwardProblem) -> None:
        try:
            want = torch_backward(p.spec, p.x, p.weight, p.bias, p.grad_output)
        except NotImplementedError:  # asymmetric pooling padding: PyTorch cannot say it
            return
        got = _grads(p)
        for name, a, b in zip(("grad_input", "grad_weight", "grad_bias"), got, want):
            assert (a is None) == (b is None), name
            if b is not None:
                assert a.shape == b.shape, name
                np.testing.assert_allclose(_f64(a), b, rtol=1e-12, atol=1e-12, err_msg=name)
        if isinstance(p.spec, cp.PoolSpec) and p.spec.kind == "max":
            _compare_indices(torch, p)
        ran[0] += 1

    run()
    assert ran[0] >= _TORCH_COMPARED[kind]


def _compare_indices(torch: Any, p: cs.BackwardProblem) -> None:
    """``max_pool_indices`` = PyTorch's ``return_indices`` (ties included), and unpooling."""
    spec = p.spec
    n = spec.ndim
    pads = tuple(a for a, _ in spec.resolve_padding(p.input_shape))
    batched = len(p.input_shape) == n + 2
    t = torch.from_numpy(p.x if batched else p.x[None])
    fn = getattr(torch.nn.functional, f"max_pool{n}d")
    y, idx = fn(t, spec.kernel_size, spec.stride, pads, spec.dilation, spec.ceil_mode,
                return_indices=True)  # fmt: skip
    ours = cp.max_pool_indices(spec, p.x)
    ours = ours if batched else ours[None]
    theirs = idx.numpy()
    real = ours >= 0  # PyTorch's index of a window of padding only is out of range
    assert np.array_equal(ours[real], theirs[real])
    if real.all():
        unpool = getattr(torch.nn.functional, f"max_unpool{n}d")
        size = p.input_shape[-n:]
        try:
            want = unpool(y, idx, spec.kernel_size, spec.stride, pads, output_size=size).numpy()
        except ValueError:  # PyTorch only takes sizes near its default (dilation ignored)
            return
        got = cp.max_unpool(spec, y.numpy(), ours, output_size=size)
        np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------------------
# proofs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "pool"])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_prove_backward_proves(kind: str, data: st.DataObject) -> None:
    ndim = data.draw(st.sampled_from([1, 2, 3]))
    modes = {"padding_modes": cs.PADDING_MODES} if kind == "conv" else {}
    p = data.draw(_problems(kind, ndim, max_extra_size=2, **modes))
    r = cp.prove_backward(p.spec, p.input_shape)
    if isinstance(p.spec, cp.PoolSpec) and p.spec.kind == "max":
        assert r.status == "inconclusive" and "not linear" in (r.reason or "")
        return
    grads = 1 + (p.weight is not None) + bool(p.spec.bias)
    plan = [c for c in r.checks if c.method == "coefficient-table"]
    assert len(plan) == grads and all(c.status == "proved" for c in plan), str(r)
    run = [c for c in r.checks if c.method == "symbolic-run"]
    if run:  # small layers: the executed code is proved too
        assert r.status == "proved", str(r)
        assert len(run) == grads and all(c.status == "proved" for c in run)
    else:  # larger ones: only checked at random integers, and said so
        assert r.status == "verified" and "random integers" in (r.reason or "")
        assert r.assumptions and "random integer point" in r.assumptions[0]
        assert [c.method for c in r.checks[grads:]] == ["random-integers"]


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_prove_backward_max_pool_routing_for_a_given_x(data: st.DataObject) -> None:
    ndim = data.draw(st.sampled_from([1, 2]))
    p = data.draw(_problems("pool", ndim, kinds=("max",), max_value=1, batch=False))
    r = cp.prove_backward(p.spec, p.input_shape, x=p.x)  # values in {-1, 0, 1}: many ties
    assert r.status == "proved", str(r)


def _loop_max_backward(bug: str) -> Any:
    def fn(g: Any, x: Any, w: Any, b: Any) -> Any:
        gi = np.zeros(x.shape, dtype=object)
        for a in range(g.shape[-1]):
            win = list(x[0, a : a + 3])
            best = max(win)
            hits = [u for u in range(3) if win[u] == best]
            for u in hits if bug == "every" else hits[-1:] if bug == "last" else hits[:1]:
                gi[0, a + u] += g[0, a]
        return gi

    return fn


@pytest.mark.parametrize(("bug", "status"), [("first", "proved"), ("every", "refuted"),
                                              ("last", "refuted")])  # fmt: skip
def test_prove_backward_max_pool_tie_rule(bug: str, status: str) -> None:
    spec = cp.PoolSpec(kind="max", kernel_size=3, stride=1, ndim=1)
    x = np.array([[1.0, 3, 3, 1, 3]])
    r = cp.prove_backward(spec, (1, 5), x=x, fn=_loop_max_backward(bug))
    assert r.status == status
    if status == "refuted":
        assert r.counterexample.monomial.startswith("g_{0,")


def test_prove_backward_max_pool_needs_x_and_no_nan() -> None:
    spec = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
    assert cp.prove_backward(spec, (1, 4)).status == "inconclusive"
    with pytest.raises(cp.ConvProofError, match="x must not hold NaN"):
        cp.prove_backward(spec, (1, 4), x=np.array([[1.0, np.nan, 0, 0]]))
    with pytest.raises(cp.ConvProofError, match="x must have the shape"):
        cp.prove_backward(spec, (1, 4), x=np.zeros((1, 5)))


def test_prove_backward_large_layer_is_verified_not_proved() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=4, kernel_size=3, stride=2, padding=1)
    r = cp.prove_backward(spec, (2, 2, 40, 40))
    # the plan is proved; the executed code only checked at a random point: verified, with
    # that assumption stated
    assert r.status == "verified" and not r.proved
    assert [c.status for c in r.checks] == ["proved"] * 3 + ["verified"]
    assert "random integers" in r.reason
    assert "random integer point" in r.assumptions[0]
    assert json.loads(json.dumps(r.to_dict()))["status"] == "verified"


def test_prove_backward_refutes_a_wrong_scatter_in_the_plan(monkeypatch: Any) -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2, ndim=1)
    real = backward_plan._plan.__wrapped__

    def stride_ignored(s: Any, sample: tuple) -> Any:
        plan = real(s, sample)
        o = plan.out_shape[1]
        axes = tuple(
            a._replace(taps=tuple(slice(t.start, t.start + o) for t in a.taps)) for a in plan.axes
        )
        return plan._replace(axes=axes)

    monkeypatch.setattr(backward_plan, "_get_plan", stride_ignored)
    r = cp.prove_backward(spec, (1, 4), symbolic=False)
    assert r.status == "refuted"
    cx = r.checks[0].counterexample
    assert r.checks[0].statement.startswith("grad_input")
    assert (cx.output, cx.monomial, cx.expected, cx.found) == ((0, 1), "g_{0,1}*w_{0,0,0}", 0, 1)


def test_prove_backward_refutes_a_broken_execution(monkeypatch: Any) -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, padding=1)
    real = bw._conv_grads

    def off_by_one(*args: Any) -> Any:
        gi, gw = real(*args)
        gw = gw.copy()
        gw[0, 0, 0, 0] += 1
        return gi, gw

    monkeypatch.setattr(bw, "_conv_grads", off_by_one)
    small = cp.prove_backward(spec, (2, 4, 4))
    assert small.status == "refuted"
    assert any(c.method == "symbolic-run" and not c for c in small.checks)
    large = cp.prove_backward(spec, (2, 40, 40))
    assert large.status == "refuted"
    assert large.checks[-1].method == "random-integers"


def _user_spec_fn(spec: Any, bug: str) -> Any:
    def fn(g: Any, x: Any, w: Any, b: Any) -> Any:
        gi, gw, gb = cp.conv_backward(spec, x, w, g, b)
        if bug == "bias_first_sample":
            gb = g[0].sum(axis=tuple(range(1, g.ndim - 1)))
        elif bug == "weight_transposed":
            gw = gw[:, :, ::-1]
        return gi, gw, gb

    return fn


@pytest.mark.parametrize(
    ("bug", "which", "index"),
    [("bias_first_sample", "grad_bias", (0,)), ("weight_transposed", "grad_weight", (0, 0, 0))],
)
def test_prove_backward_refutes_user_functions(bug: str, which: str, index: tuple) -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=True, ndim=1)
    r = cp.prove_backward(spec, (2, 1, 3), fn=_user_spec_fn(spec, bug))
    assert r.status == "refuted"
    bad = [c for c in r.checks if c.status == "refuted"]
    assert bad[0].statement.startswith(which)
    assert bad[0].counterexample.output == index
    good = cp.prove_backward(spec, (2, 1, 3), fn=_user_spec_fn(spec, "none"))
    assert good.status == "proved"


def test_prove_backward_avg_pool_wrong_divisor_refuted() -> None:
    spec = cp.PoolSpec(kind="avg", kernel_size=2, stride=2, padding=1, ceil_mode=True,
                       count_include_pad=True, ndim=1)  # fmt: skip

    def fn(g: Any, x: Any, w: Any, b: Any) -> Any:
        other = cp.PoolSpec(kind="avg", kernel_size=2, stride=2, padding=1, ceil_mode=True,
                            count_include_pad=False, ndim=1)  # fmt: skip
        return cp.pool_backward(other, x, g)

    r = cp.prove_backward(spec, (1, 5), fn=fn)
    assert r.status == "refuted"
    cx = r.counterexample
    assert (cx.output, cx.monomial, cx.expected, cx.found) == ((0, 0), "g_{0,0}", Fraction(1, 2), 1)


def test_prove_backward_user_fn_without_symbols_is_inconclusive() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)

    def floats_only(g: Any, x: Any, w: Any, b: Any) -> Any:
        return cp.conv_backward(spec, x.astype(float), w.astype(float), g.astype(float))

    r = cp.prove_backward(spec, (1, 3), fn=floats_only)
    assert r.status == "inconclusive"


def test_adjoint_check() -> None:
    w = np.array([1, 2, 3])

    def fwd(x: Any) -> Any:
        return np.correlate(x, w, mode="valid")

    def good(g: Any) -> Any:
        return np.convolve(g, w, mode="full")

    def unflipped(g: Any) -> Any:
        return np.correlate(np.pad(g, 2), w, mode="valid")

    ok = cp.adjoint_check(fwd, good, (6,))
    # black boxes read on basis vectors: exact, but resting on linearity (stated)
    assert ok.status == "verified" and "linear" in ok.assumptions[0]
    assert cp.adjoint_check(fwd, good, (6,), basis=False).status == "inconclusive"
    bad = cp.adjoint_check(fwd, unflipped, (6,))
    assert bad.status == "refuted" and bad.counterexample.output == (0,)
    # a flaw the random trials may miss is found by the basis comparison
    sneaky = cp.adjoint_check(fwd, unflipped, (6,), trials=0)
    assert sneaky.status == "refuted" and sneaky.method == "adjoint-basis"


def test_adjoint_check_layer_convproof_does_not_model() -> None:
    # a 2x upsampling by repetition and its adjoint (sum of each pair)
    def up(x: Any) -> Any:
        return np.repeat(x, 2, axis=-1)

    def down_sum(g: Any) -> Any:
        return g.reshape(*g.shape[:-1], -1, 2).sum(axis=-1)

    def down_mean(g: Any) -> Any:
        return g.reshape(*g.shape[:-1], -1, 2).mean(axis=-1)

    assert cp.adjoint_check(up, down_sum, (2, 3)).status == "verified"
    assert cp.adjoint_check(up, down_mean, (2, 3)).status == "refuted"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fn_forward": 3}, "fn_forward must be callable"),
        ({"fn_backward": None}, "fn_backward must be callable"),
        ({"fn_backward": lambda g: g[:1]}, "fn_backward must return an array of shape"),
    ],
)
def test_adjoint_check_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"fn_forward": lambda x: x * 2, "fn_backward": lambda g: g * 2}
    args.update(kwargs)
    with pytest.raises(cp.ConvProofError, match=message):
        cp.adjoint_check(args["fn_forward"], args["fn_backward"], (3,))


# --------------------------------------------------------------------------------------
# checkers and the zoo
# --------------------------------------------------------------------------------------


def _check(layer: str, fn: Any, **kw: Any) -> cp.CheckResult:
    if layer == "conv":
        return cp.check_conv_backward(fn, **kw)
    if layer == "conv_transpose":
        return cp.check_conv_transpose_backward(fn, **kw)
    return cp.check_pool_backward(fn, kind=layer.split("_")[0], **kw)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_member_is_caught_minimally(name: str) -> None:
    layer, fn, minimal = ZOO[name]
    result = _check(layer, fn, max_examples=200, seed=0)
    assert not result
    cx = result.counterexample
    assert isinstance(cx, cp.BackwardCounterexample)
    assert minimal(cx), str(cx)
    # minimal: a handful of elements at most (one axis may end at 7, the smallest of the
    # large sizes the checkers draw now and then, when the bug shows there first)
    assert np.size(cx.x) <= 7 and (cx.weight is None or np.size(cx.weight) <= 4), str(cx)
    text = str(result)
    assert cx.tensor in text and "grad_output =" in text
    if cx.reason == "values differ":
        assert f"{cx.tensor}[" in text and "fed by" in text
    assert json.loads(json.dumps(result.to_dict()))["counterexample"]["tensor"] == cx.tensor


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_numpy_backward_passes(name: str) -> None:
    layer, fn = CORRECT[name]
    result = _check(layer, fn, max_examples=40, seed=1)
    assert result, str(result)


def _loop_user(layer: str) -> Any:
    """The loop reference in the checkers' signatures (built from the call's arguments)."""

    def conv(g: Any, x: Any, w: Any, b: Any = None, **kw: Any) -> Any:
        cls: Any = cp.ConvSpec if layer == "conv" else cp.ConvTransposeSpec
        c_out = w.shape[0] if layer == "conv" else w.shape[1] * kw["groups"]
        k, has_b = w.shape[2:], b is not None
        spec = cls(in_channels=x.shape[1], out_channels=c_out, kernel_size=k, bias=has_b, **kw)
        return loop_backward(spec, x, w, b, g)

    def pool(g: Any, x: Any, **kw: Any) -> Any:
        spec = cp.PoolSpec(kind=layer.split("_")[0], **kw)
        return loop_backward(spec, x, None, None, g)[0]

    return pool if layer.endswith("pool") else conv


@pytest.mark.parametrize("layer", ["conv", "conv_transpose", "max_pool", "avg_pool"])
def test_loop_reference_passes(layer: str) -> None:
    bounds = {"ndim": 1} if layer != "avg_pool" else {}
    assert _check(layer, _loop_user(layer), max_examples=25, seed=2, **bounds)


@pytest.mark.torch
@pytest.mark.parametrize("layer", ["conv", "conv_transpose", "max_pool", "avg_pool"])
def test_torch_autograd_passes(layer: str, torch1: Any) -> None:
    def conv(g: Any, x: Any, w: Any, b: Any = None, **kw: Any) -> Any:
        cls = cp.ConvSpec if layer == "conv" else cp.ConvTransposeSpec
        c_out = w.shape[0] if layer == "conv" else w.shape[1] * kw["groups"]
        spec = cls(in_channels=x.shape[1], out_channels=c_out, kernel_size=w.shape[2:],
                   bias=b is not None, **kw)  # fmt: skip
        return torch_backward(spec, x, w, b, g)

    def pool(g: Any, x: Any, **kw: Any) -> Any:
        spec = cp.PoolSpec(kind=layer.split("_")[0], **kw)
        try:
            return torch_backward(spec, x, None, None, g)[0]
        except NotImplementedError:  # a max-pool window of padding only crashes PyTorch
            return loop_backward(spec, x, None, None, g)[0]  # the independent loop instead

    fn = pool if layer.endswith("pool") else conv
    assert _check(layer, fn, max_examples=60, seed=3)


@pytest.mark.torch
def test_pair_of_torch_grad_functions(torch1: Any) -> None:
    torch = torch1
    from torch.nn import grad as tgrad

    def t(a: Any) -> Any:
        return torch.from_numpy(np.asarray(a, dtype=np.float64))

    def gi(input_size: Any, weight: Any, g: Any, *args: Any) -> Any:
        return tgrad.conv2d_input(input_size, t(weight), t(g), *args).numpy()

    def gw(x: Any, weight_size: Any, g: Any, *args: Any) -> Any:
        return tgrad.conv2d_weight(t(x), weight_size, t(g), *args).numpy()

    assert cp.check_conv_backward((gi, gw), max_examples=30, seed=0)

    def gw_groups_ignored(x: Any, weight_size: Any, g: Any, stride: Any, padding: Any,
                          dilation: Any, groups: int) -> Any:  # fmt: skip
        if groups == 1:
            return gw(x, weight_size, g, stride, padding, dilation, groups)
        return np.zeros(weight_size)

    bad = cp.check_conv_backward((gi, gw_groups_ignored), max_examples=100, seed=0)
    assert not bad and bad.counterexample.tensor == "grad_weight"
    assert bad.counterexample.spec.groups == 2


def test_feeds_name_the_terms() -> None:
    def gi_off(g: Any, x: Any, w: Any, b: Any = None, **kw: Any) -> Any:
        dx, dw, db = numpy_conv_backward(g, x, w, b, **kw)
        dx = dx.copy()
        dx[..., 0, 0] += 1
        return dx, dw, db

    r = cp.check_conv_backward(gi_off, max_examples=50, seed=0)
    cx = r.counterexample
    assert cx.tensor == "grad_input" and cx.index == (0, 0, 0, 0)
    assert cx.feeds == ["grad_output[0, 0, 0, 0] * weight[0, 0, 0, 0]"]


def test_wrong_return_shapes_and_raises() -> None:
    def raises(g: Any, x: Any, w: Any, b: Any = None, **kw: Any) -> Any:
        raise RuntimeError("boom")

    def two(g: Any, x: Any, w: Any, b: Any = None, **kw: Any) -> Any:
        return x, w

    r = cp.check_conv_backward(raises, max_examples=5, seed=0)
    assert r.counterexample.reason == "raised" and "boom" in r.counterexample.error
    r = cp.check_conv_backward(two, max_examples=5, seed=0)
    assert r.counterexample.reason == "raised" and "must return" in r.counterexample.error


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cp.check_conv_backward(3), "fn must be callable"),
        (lambda: cp.check_conv_backward((len,)), "pair"),
        (lambda: cp.check_pool_backward(len, kind="min"), "kind must be 'max', 'avg' or 'lp'"),
        (lambda: cp.assert_backward_matches(len, layer="dense"), "layer must be one of"),
        (lambda: cp.check_conv_backward(len, max_examples=0), "max_examples must be"),
    ],
)
def test_checker_bad_arguments(call: Any, message: str) -> None:
    with pytest.raises(cp.ConvProofError, match=message):
        call()


# --------------------------------------------------------------------------------------
# bad input to the numeric functions
# --------------------------------------------------------------------------------------

_C = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
_M = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cp.conv_backward("spec", [[1, 2]], [[[1, 1]]], [[1]]), "spec must be a"),
        (lambda: cp.conv_backward(_C, [[1, 2]], [[[1, 1]]], [[1, 2]]), "grad_output must have"),
        (lambda: cp.conv_backward(_C, [1, 2], [[[1, 1]]], [[1]]), "x must have shape"),
        (lambda: cp.conv_backward(_C, [[1, 2]], None, [[1]]), "weight is required"),
        (lambda: cp.conv_backward(_C, [[1, 2]], [[1, 1]], [[1]]), "weight must have shape"),
        (lambda: cp.conv_backward(_C, [[1, 2]], [[[1, 1]]], [[1]], [0]), "bias must be None"),
        (lambda: cp.conv_backward(_C, [["a", "b"]], [[[1, 1]]], [[1]]), "x must hold numbers"),
        (lambda: cp.conv_backward(_M, [[1, 2]], [1], [[1]]), "weight and bias must be None"),
        (lambda: cp.pool_backward(_C, [[1, 2]], [[1]]), "spec must be a PoolSpec"),
        (lambda: cp.max_pool_indices(_C, [[1, 2]]), "max-pooling PoolSpec"),
        (lambda: cp.max_unpool(_M, [[1.0]], [[5]]), r"indices must lie in \[0, 2\)"),
        (lambda: cp.max_unpool(_M, [[1.0]], [[0.5]]), "indices must be integers"),
        (lambda: cp.max_unpool(_M, [[1.0]], [[0]], output_size=(0,)), "output_size must"),
        (
            lambda: cp.max_unpool(
                cp.PoolSpec(kind="max", kernel_size=2, padding="SAME_UPPER", ndim=1), [[1.0]], [[0]]
            ),
            "output_size must be given with a named padding",
        ),
    ],
)
def test_bad_input(call: Any, message: str) -> None:
    with pytest.raises(cp.ConvProofError, match=message):
        call()


# --------------------------------------------------------------------------------------
# the strategy
# --------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(cs.conv_backward_problems(kind="conv_transpose", ndim=2))
def test_backward_problems_have_a_gradient_of_the_output_shape(p: cs.BackwardProblem) -> None:
    assert p.grad_output.shape == p.spec.output_shape(p.input_shape)
    assert p.grad_output.dtype == p.x.dtype


def test_backward_problems_shrink_to_minimal() -> None:
    p = find(cs.conv_backward_problems(ndim=2), lambda p: bool(np.any(p.grad_output)))
    assert p.spec.kernel_size == (1, 1) and p.input_shape[-2:] == (1, 1)
    assert p.grad_output.ravel().tolist() == [1.0]


# --------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------


def test_cli_check_backward(capsys: pytest.CaptureFixture[str]) -> None:
    from convproof.presentation.cli import main

    code = main(["check", "--backward", "convproof.examples:assign_conv_backward",
                 "--seed", "0", "-q"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "conv_backward check FAILED" in out and "grad_input[0, 0, 0, " in out
    code = main(["check", "--backward", "convproof.examples:loop_conv_backward", "--seed",
                 "0", "--max-examples", "20", "--json"])  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["passed"] and data["layer"] == "conv_backward"


def test_uint64_with_int64_stays_exact() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
    x = np.array([[2**63, 1, 1]], dtype=np.uint64)
    _, gw, _ = cp.conv_backward(spec, x, np.array([[[1, -1]]]), np.array([[1, 1]]))
    assert gw.tolist() == [[[2**63 + 1, 2]]]  # float64 would round 2**63 + 1


# --------------------------------------------------------------------------------------
# symbolic sizes: backward's own index rule against the definitions
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_backward_index_rule_proved_for_symbolic_sizes(ndim: int) -> None:
    r = cp.prove_backward_general(ndim=ndim)
    assert r.status == "proved", str(r)
    assert [c.status for c in r.checks] == ["proved", "proved"]
    assert "zero padding" in r.conditions and r.scope["sizes"].startswith("symbolic")


_WRONG_TAP_CELLS = {
    "stride and dilation swapped": lambda a, u, *, stride, dilation: a * dilation + u * stride,
    "dilation dropped": lambda a, u, *, stride, dilation: a * stride + u,
    "off by one": lambda a, u, *, stride, dilation: a * stride + u * dilation + 1,
    "kernel flipped": lambda a, u, *, stride, dilation: a * stride - u * dilation,
}
_WRONG_CELL_INDEX = {
    "padding sign flipped": lambda q, *, pad_before: q + pad_before,
    "padding ignored": lambda q, *, pad_before: q,
}


def _backward_refuted_concretely() -> bool:
    """Some small layer's conv_backward now differs from the loop reference (or raises)."""
    specs = [
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2, dilation=3,
                     padding=1, ndim=1), (1, 1, 9)),
        (cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2,
                              dilation=3, padding=1, ndim=1), (1, 1, 4)),
    ]  # fmt: skip
    rng = np.random.default_rng(0)
    for spec, shape in specs:
        x = rng.integers(-3, 4, shape)
        w = rng.integers(1, 4, spec.weight_shape)
        g = rng.integers(-3, 4, (shape[0], *spec.output_shape(shape[1:])))
        try:
            got = cp.conv_backward(spec, x, w, g)[0]
        except Exception:
            return True
        # reference: the adjoint identity with cp.conv (a separate construction)
        lhs = int((cp.conv(spec, x, w).astype(np.int64) * g).sum())
        if got.shape != x.shape or lhs != int((x * got).sum()):
            return True
    return False


@pytest.mark.parametrize("name", sorted(_WRONG_TAP_CELLS) + sorted(_WRONG_CELL_INDEX))
def test_planted_backward_rule_is_refuted_symbolically_and_concretely(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convproof.constructions import backward_plan as _bw

    _bw._plan.cache_clear()
    if name in _WRONG_TAP_CELLS:
        monkeypatch.setattr(_bw, "_tap_cell", _WRONG_TAP_CELLS[name])
    else:
        monkeypatch.setattr(_bw, "_cell_index", _WRONG_CELL_INDEX[name])
    try:
        r = cp.prove_backward_general(ndim=1)
        assert r.status == "refuted", f"{name}: {r.status}"
        assert any(c.status == "refuted" for c in r.checks)
        assert _backward_refuted_concretely(), name  # the rule really drives conv_backward
    finally:
        _bw._plan.cache_clear()


def test_backward_refuses_before_allocating_what_would_not_fit() -> None:
    """The gradients estimate their work arrays first (twice the forward's: the per-tap
    products folded into grad_input and the unfolded input read by grad_weight)."""
    spec = cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3, padding=1)
    x, w = np.ones((2, 3, 16, 16)), np.ones(spec.weight_shape)
    g = np.ones(spec.output_shape(x.shape))
    # by hand: 2 x (padded 2*3*18*18 + im2col 2*3*9*16*16 + output 2*8*16*16) float64 values
    need = 2 * (2 * 3 * 18 * 18 + 2 * 3 * 9 * 256 + 2 * 8 * 256) * 8
    assert cp.conv_backward(spec, x, w, g, max_bytes=need)[0].shape == x.shape
    with pytest.raises(cp.MemoryLimitError, match=f"max_bytes={need - 1} ") as e:
        cp.conv_backward(spec, x, w, g, max_bytes=need - 1)
    assert "pass a larger max_bytes=" in str(e.value)
    pool = cp.PoolSpec(kind="max", kernel_size=2)
    with pytest.raises(cp.MemoryLimitError, match="backward pass"):
        cp.pool_backward(pool, x, np.ones(pool.output_shape(x.shape)), max_bytes=1000)
    with cp.memory_limit(1000), pytest.raises(cp.MemoryLimitError):
        cp.conv_backward(spec, x, w, g)
    # the default limit refuses a huge layer at once (broadcast arrays: no memory behind them)
    big = cp.ConvSpec(in_channels=512, out_channels=512, kernel_size=3, padding=1)
    xb = np.broadcast_to(np.float32(0), (4, 512, 256, 256))
    gb = np.broadcast_to(np.float32(0), big.output_shape(xb.shape))
    with pytest.raises(cp.MemoryLimitError, match="GiB of work arrays"):
        cp.conv_backward(big, xb, np.broadcast_to(np.float32(0), big.weight_shape), gb)
