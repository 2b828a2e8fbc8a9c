"""Derived SymPy formulas: they agree with the integer arithmetic (exhaustive grids and
Hypothesis), with brute-force counts of window positions, with the references' worked
examples; the proofs prove true claims and refute false ones."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

import convproof as cp

S = cp.SYMBOLS
i, k, s, d, p, p_l, p_r, op = (S[n] for n in ("i", "k", "s", "d", "p", "p_l", "p_r", "op"))


def _one_axis(spec_cls: Any, **kw: Any) -> Any:
    if spec_cls is cp.PoolSpec:
        return cp.PoolSpec(ndim=1, **kw)
    return spec_cls(in_channels=1, out_channels=1, ndim=1, **kw)


def _spec_out(spec: Any, size: int) -> int | None:
    try:
        return spec.output_spatial((size,))[0]
    except cp.ConvProofError:
        return None


# --------------------------------------------------------------------------------------
# the derivation
# --------------------------------------------------------------------------------------


def test_conv_formula_is_derived_and_matches_the_documented_shape() -> None:
    f = cp.output_size_formula("conv")
    documented = sympy.floor((i + p_l + p_r - d * (k - 1) - 1) / s) + 1
    assert sympy.expand(f.expr - documented) == 0
    assert any("Sum(1" in step for step in f.derivation)
    assert f.domain == (sympy.Ge(i + p_l + p_r, d * (k - 1) + 1),)
    assert set(f.free_symbols) == {i, k, s, d, p_l, p_r}


def test_transposed_formula() -> None:
    f = cp.output_size_formula("conv_transpose")
    assert sympy.expand(f.expr - ((i - 1) * s - p_l - p_r + d * (k - 1) + op + 1)) == 0


def _brute_conv(i_: int, k_: int, s_: int, d_: int, pl: int, pr: int) -> int:
    """Count window starts a with a*s + k_eff <= i + pl + pr (independent of convproof)."""
    k_eff = d_ * (k_ - 1) + 1
    return sum(1 for a in range(i_ + pl + pr + 1) if a * s_ + k_eff <= i_ + pl + pr)


def _brute_pool_ceil(i_: int, k_: int, s_: int, d_: int, pl: int, pr: int) -> int:
    """Windows that start inside the input or the left padding and overhang the padded end
    by less than a stride (PyTorch's ceil-mode rule, from its docs)."""
    k_eff = d_ * (k_ - 1) + 1
    return sum(
        1
        for a in range(i_ + pl + pr + s_)
        if a * s_ <= i_ + pl - 1 and a * s_ + k_eff <= i_ + pl + pr + s_ - 1
    )


def test_conv_formula_on_an_exhaustive_grid() -> None:
    f = cp.output_size_formula("conv")
    for i_, k_, s_, d_, pl, pr in itertools.product(
        range(1, 9), range(1, 5), range(1, 4), range(1, 3), range(0, 3), range(0, 3)
    ):
        brute = _brute_conv(i_, k_, s_, d_, pl, pr)
        spec = _one_axis(cp.ConvSpec, kernel_size=k_, stride=s_, dilation=d_, padding=((pl, pr),))
        if brute == 0:
            assert _spec_out(spec, i_) is None
            with pytest.raises(cp.ConvProofError, match="outside the formula's domain"):
                f.value(i=i_, k=k_, s=s_, d=d_, p_l=pl, p_r=pr)
            continue
        assert f.value(i=i_, k=k_, s=s_, d=d_, p_l=pl, p_r=pr) == brute == _spec_out(spec, i_)


def test_pool_formulas_on_an_exhaustive_grid() -> None:
    floor_f = cp.output_size_formula("pool")
    ceil_f = cp.output_size_formula("pool", ceil_mode=True)
    checked = 0
    for i_, k_, s_, d_, pl, pr in itertools.product(
        range(1, 9), range(1, 5), range(1, 4), range(1, 3), range(0, 3), range(0, 3)
    ):
        if max(pl, pr) > k_ // 2:  # PyTorch's pooling rule
            continue
        for ceil_mode, f, brute_fn in (
            (False, floor_f, _brute_conv),
            (True, ceil_f, _brute_pool_ceil),
        ):
            spec = _one_axis(
                cp.PoolSpec,
                kind="max",
                kernel_size=k_,
                stride=s_,
                dilation=d_,
                padding=((pl, pr),),
                ceil_mode=ceil_mode,
            )
            brute = brute_fn(i_, k_, s_, d_, pl, pr)
            got = _spec_out(spec, i_)
            assert got == (brute or None), (i_, k_, s_, d_, pl, pr, ceil_mode)
            if brute:
                assert f.value(i=i_, k=k_, s=s_, d=d_, p_l=pl, p_r=pr) == brute
                checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    ("padding", "spec_padding"),
    [
        ("valid", "valid"),
        ("full", "full"),
        ("same", "same"),
        ("SAME_UPPER", "SAME_UPPER"),
        ("SAME_LOWER", "SAME_LOWER"),
    ],
)
def test_named_padding_formulas_match_the_specs(padding: str, spec_padding: str) -> None:
    f = cp.output_size_formula("conv", padding=padding)
    strides = [1] if padding == "same" else [1, 2, 3]
    for i_, k_, s_, d_ in itertools.product(range(1, 10), range(1, 5), strides, range(1, 3)):
        spec = _one_axis(cp.ConvSpec, kernel_size=k_, stride=s_, dilation=d_, padding=spec_padding)
        expected = _spec_out(spec, i_)
        if expected is None:
            continue
        assert f.value(i=i_, k=k_, s=s_, d=d_) == expected


def test_pool_same_formula() -> None:
    f = cp.output_size_formula("pool", padding="SAME_UPPER")
    for i_, k_, s_ in itertools.product(range(1, 10), range(1, 5), range(1, 4)):
        assert f.value(i=i_, k=k_, s=s_, d=1) == -(-i_ // s_)  # TF: ceil(i / s)


@st.composite
def axis_values(draw: st.DrawFn) -> dict[str, int]:
    return {
        "i": draw(st.integers(1, 60)),
        "k": draw(st.integers(1, 7)),
        "s": draw(st.integers(1, 6)),
        "d": draw(st.integers(1, 4)),
        "p_l": draw(st.integers(0, 6)),
        "p_r": draw(st.integers(0, 6)),
        "op": draw(st.integers(0, 5)),
    }


@given(axis_values())
def test_formulas_equal_the_integer_arithmetic(v: dict[str, int]) -> None:
    pads = ((v["p_l"], v["p_r"]),)
    conv = _one_axis(cp.ConvSpec, kernel_size=v["k"], stride=v["s"], dilation=v["d"], padding=pads)
    got = _spec_out(conv, v["i"])
    values = {n: v[n] for n in ("i", "k", "s", "d", "p_l", "p_r")}
    if got is not None:
        assert cp.output_size_formula("conv").value(**values) == got
    if v["op"] < v["s"] or v["op"] < v["d"]:
        t = _one_axis(
            cp.ConvTransposeSpec,
            kernel_size=v["k"],
            stride=v["s"],
            dilation=v["d"],
            padding=pads,
            output_padding=v["op"],
        )
        got_t = _spec_out(t, v["i"])
        if got_t is not None:
            assert cp.output_size_formula("conv_transpose").value(**values, op=v["op"]) == got_t
    if max(pads[0]) <= v["k"] // 2:
        for ceil_mode in (False, True):
            pool = _one_axis(
                cp.PoolSpec,
                kind="max",
                kernel_size=v["k"],
                stride=v["s"],
                dilation=v["d"],
                padding=pads,
                ceil_mode=ceil_mode,
            )
            got_p = _spec_out(pool, v["i"])
            if got_p is not None:
                f = cp.output_size_formula("pool", ceil_mode=ceil_mode)
                assert f.value(**values) == got_p


# --------------------------------------------------------------------------------------
# counts
# --------------------------------------------------------------------------------------


@st.composite
def counted_specs(draw: st.DrawFn) -> tuple[Any, tuple[int, ...]]:
    ndim = draw(st.integers(1, 3))
    g = draw(st.integers(1, 3))
    c_in, c_out = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    kernel = draw(st.tuples(*[st.integers(1, 3)] * ndim))
    stride = draw(st.tuples(*[st.integers(1, 2)] * ndim))
    bias = draw(st.booleans())
    cls = draw(st.sampled_from([cp.ConvSpec, cp.ConvTransposeSpec]))
    spec = cls(
        in_channels=c_in,
        out_channels=c_out,
        kernel_size=kernel,
        stride=stride,
        groups=g,
        bias=bias,
    )
    shape = (c_in, *draw(st.tuples(*[st.integers(1, 6)] * ndim)))
    try:
        spec.output_shape(shape)
    except cp.ConvProofError:
        assume(False)
    return spec, shape


@given(counted_specs())
def test_count_formulas_equal_the_integer_arithmetic(case: tuple[Any, tuple[int, ...]]) -> None:
    spec, shape = case
    ndim = spec.ndim
    values: dict[str, int] = {
        "C_in": spec.in_channels,
        "C_out": spec.out_channels,
        "g": spec.groups,
    }
    values.update({f"k_{j + 1}": spec.kernel_size[j] for j in range(ndim)})
    params = cp.params_formula(spec.layer, ndim, bias=spec.bias)
    assert params.value(**values) == spec.num_params
    macs = cp.macs_formula(spec.layer, ndim)
    if spec.layer == "conv":
        out = spec.output_shape(shape)[1:]
        values.update({f"o_{j + 1}": out[j] for j in range(ndim)})
        expanded = cp.macs_formula("conv", ndim, expand_output=True)
        axis_values = {}
        for j in range(ndim):
            axis_values.update(
                {
                    f"i_{j + 1}": shape[1 + j],
                    f"s_{j + 1}": spec.stride[j],
                    f"d_{j + 1}": 1,
                    f"p_l_{j + 1}": 0,
                    f"p_r_{j + 1}": 0,
                }
            )
        full = {n: v for n, v in values.items() if not n.startswith("o_")} | axis_values
        assert expanded.value(**full) == spec.macs(shape)
    else:
        values.update({f"i_{j + 1}": shape[1 + j] for j in range(ndim)})
    assert macs.value(**values) == spec.macs(shape)


def test_count_formulas_known_values() -> None:
    # seed: five 3x3x3 kernels -> 140; one 5x5x3 kernel -> 76
    f = cp.params_formula("conv", 2)
    assert f.value(C_in=3, C_out=5, g=1, k_1=3, k_2=3) == 140
    assert f.value(C_in=3, C_out=1, g=1, k_1=5, k_2=5) == 76
    assert cp.params_formula("conv", 2, bias=False).value(C_in=3, C_out=1, g=1, k_1=5, k_2=5) == 75
    assert cp.params_formula("pool", 3).expr == 0
    assert cp.macs_formula("pool", 2).expr == 0
    t = cp.params_formula("conv_transpose", 1)
    assert t.value(C_in=4, C_out=6, g=2, k_1=3) == 4 * 3 * 3 + 6


# --------------------------------------------------------------------------------------
# proofs
# --------------------------------------------------------------------------------------


def test_all_relationships_are_proved() -> None:
    rels = cp.relationships()
    assert [r.number for r in rels] == list(range(1, 16))
    for r in rels:
        assert r.status == "proved", (r.number, [(t, c.status) for t, c in r.claims])
        assert all(proof.grid_points > 0 for _, proof in r.claims)
    # the transposed relationships make three claims each
    assert all(len(cp.relationship(n).claims) == 3 for n in range(8, 15))


@pytest.mark.parametrize(
    ("number", "values", "expected"),
    [
        # the paper's figure examples
        (2, {"i": 5, "k": 4, "p": 2}, 6),
        (3, {"i": 5}, 5),
        (4, {"i": 5, "k": 3}, 7),
        (5, {"i": 5, "k": 3, "s": 2}, 2),
        (6, {"i": 5, "k": 3, "s": 2, "p": 1}, 3),
        (6, {"i": 6, "k": 3, "s": 2, "p": 1}, 3),
        (15, {"i": 7, "k": 3, "s": 1, "p": 0, "d": 2}, 3),
        (8, {"i_t": 2, "k": 3}, 4),
        (13, {"i_t": 3, "k": 3, "s": 2, "p": 1}, 5),
        (14, {"i_t": 3, "k": 3, "s": 2, "p": 1, "a": 1}, 6),
    ],
)
def test_relationship_formulas_at_the_papers_examples(
    number: int, values: dict[str, int], expected: int
) -> None:
    expr = cp.relationship(number).formula
    subs = {sym: values[sym.name] for sym in expr.free_symbols}
    assert expr.subs(subs) == expected


def test_framework_formulas_are_proved() -> None:
    proofs = cp.framework_formula_proofs()
    assert set(proofs) >= {
        "pytorch_conv",
        "pytorch_conv_transpose",
        "pytorch_conv_transpose_inverts_conv",
        "pytorch_pool_ceil",
        "tf_same",
        "tf_valid",
    }
    for name, proof in proofs.items():
        assert proof, (name, proof.status, proof.counterexample)
    assert proofs["pytorch_conv"].method == "sympy"
    assert proofs["tf_valid"].method == "sympy with lemmas"
    # issue 11 item 7: tf_same and pytorch_pool_ceil were "proved" by a written argument
    # plus a grid; now both are proved by an exhaustive case split
    for name in ("tf_same", "pytorch_pool_ceil"):
        proof = proofs[name]
        assert proof.status == "proved" and proof.proved, name
        assert proof.method == "sympy, case split" and proof.cases >= 2, name
        assert proof.lemmas[0].startswith("division with remainder"), name
    for name, proof in proofs.items():
        assert proof.status == "proved", name
        assert proof.assumptions == () and "domain" in proof.scope, name
    # every theorem states its conditions: the domain and the symbols' signs
    assert proofs["pytorch_conv"].conditions == (
        "i + 2*p >= d*(k - 1) + 1",
        "d, i, k, s integers >= 1",
        "p integer >= 0",
    )
    assert proofs["pytorch_pool_ceil"].conditions[0] == "p <= k/2 (PyTorch)"
    assert "2*p <= k" in proofs["pytorch_pool_ceil"].conditions


def test_argument_and_grid_is_only_verified() -> None:
    """A true claim neither SymPy nor the case split proves, with a written argument."""
    even = cp.prove_formula_equal(
        2 * sympy.floor(i * (i + 1) / 2), i * (i + 1), argument="one of i, i + 1 is even"
    )
    assert even.status == "verified" and bool(even) and not even.proved
    assert even.method == "argument + exhaustive grid"
    assert even.assumptions == (
        "the written argument (not machine-checked)",
        "checked exactly at the 9 grid points of the domain only",
    )
    assert even.scope == {"grid": {"i": "1..9"}, "points": 9}
    wide = cp.prove_formula_equal(
        2 * sympy.floor(i * (i + 1) / 2),
        i * (i + 1),
        argument="one of i, i + 1 is even",
        grid={"i": range(1, 51)},
    )
    assert wide.status == "verified" and wide.scope == {"grid": {"i": "1..50"}, "points": 50}


def test_wrong_formulas_are_refuted() -> None:
    conv = cp.output_size_formula("conv", padding="symmetric")
    wrong = sympy.ceiling((i + 2 * p - d * (k - 1) - 1) / s) + 1  # ceil instead of floor
    r = cp.prove_formula_equal(conv.expr, wrong, domain=conv.domain)
    assert r.status == "refuted" and not r
    cex = r.counterexample
    assert cex is not None
    env = {S[n]: v for n, v in cex.items()}
    assert conv.expr.subs(env) != wrong.subs(env)
    # a relationship with p instead of 2p
    r2 = cp.prove_formula_equal(conv.expr, sympy.floor((i + p - k) / s) + 1, substitutions={d: 1})
    assert r2.status == "refuted"


def test_inconclusive_without_argument() -> None:
    """A true claim neither SymPy nor the case split proves: only the grid agreed."""
    r = cp.prove_formula_equal(2 * sympy.floor(i * (i + 1) / 2), i * (i + 1))
    assert r.status == "inconclusive" and r.method == "grid only" and r.grid_points == 9
    assert not r and r.assumptions == () and r.scope["points"] == r.grid_points


def test_case_split_proves_tf_same_without_the_argument() -> None:
    same = cp.output_size_formula("conv", padding="SAME_UPPER")
    r = cp.prove_formula_equal(same.expr, sympy.ceiling(i / s), domain=same.domain)
    assert r.status == "proved" and r.method == "sympy, case split" and r.cases >= 2
    assert r.argument is None and r.lemmas[0].startswith("division with remainder")


def test_relationship_status_takes_the_weakest_claim() -> None:
    def claim(status: str) -> tuple[str, cp.FormulaProof]:
        return (status, cp.FormulaProof(status, "x", 0, 0))

    def rel(*statuses: str) -> cp.Relationship:
        return cp.Relationship(1, "t", "c", 0, tuple(claim(st) for st in statuses))

    assert rel("proved", "proved").status == "proved"
    assert rel("proved", "verified").status == "verified" and rel("proved", "verified")
    assert rel("verified", "inconclusive").status == "inconclusive"
    assert rel("inconclusive", "refuted", "proved").status == "refuted"
    assert not rel("proved", "refuted") and not rel("inconclusive")
    assert rel().status == "inconclusive"


def test_a_fact_not_provable_from_the_domain_is_only_assumed() -> None:
    """floor(op/s) = 0 used as a fact with a domain too weak to prove it by cases, but
    with a grid where it holds: the symbolic step rests on it, so only verified."""
    r = cp.prove_formula_equal(
        sympy.floor(op / s) + i,
        i,
        facts={sympy.floor(op / s): 0},
        grid={"op": range(0, 1)},
    )
    assert r.status == "verified" and r.method == "sympy with lemmas"
    points = r.grid_points
    assert r.assumptions == (f"lemma floor(op/s) = 0: checked at the {points} grid points only",)


def test_facts_are_checked_on_the_grid() -> None:
    # floor(op/s) = 0 is only true for op < s: without that domain the fact is refuted
    r = cp.prove_formula_equal(sympy.floor(op / s), 0, facts={sympy.floor(op / s): 0})
    assert r.status == "refuted"
    r = cp.prove_formula_equal(
        sympy.floor(op / s), 0, facts={sympy.floor(op / s): 0}, domain=[op < s]
    )
    assert r.status == "proved" and r.method == "sympy with lemmas"


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: cp.output_size_formula("dense"), r"layer must be one of 'conv'"),
        (
            lambda: cp.output_size_formula("conv_transpose", padding="same"),
            r"padding must be one of 'explicit', 'symmetric' for layer='conv_transpose'",
        ),
        (lambda: cp.output_size_formula("conv", ceil_mode=True), r"ceil_mode must be False"),
        (lambda: cp.relationship(0), r"number must be an integer from 1 to 15, got number=0"),
        (lambda: cp.relationship(True), r"number must be an integer from 1 to 15"),
        (lambda: cp.relationship([1]), r"number must be an integer from 1 to 15, got number=\[1\]"),
        (lambda: cp.params_formula("conv", [2]), r"ndim must be an integer >= 1"),
        (lambda: cp.output_size_formula(["conv"]), r"layer must be one of"),
        (lambda: cp.params_formula("conv", 0), r"ndim must be an integer >= 1, got ndim=0"),
        (lambda: cp.params_formula("linear"), r"layer must be one of"),
        (lambda: cp.params_formula("conv", bias=1), r"bias must be True or False"),
        (lambda: cp.macs_formula("conv", 2, expand_output="yes"), r"expand_output must be"),
        (lambda: cp.framework_formula("keras"), r"name must be one of 'pytorch_conv'"),
        (lambda: cp.output_size_formula("conv").value(i=5), r"values must give every symbol"),
        (
            lambda: cp.output_size_formula("conv").value(i=5.0, k=3, s=1, d=1, p_l=0, p_r=0),
            r"i must be an integer, got i=5\.0",
        ),
        (
            lambda: cp.output_size_formula("conv").value(i=1, k=3, s=1, d=1, p_l=0, p_r=0),
            r"outside the formula's domain",
        ),
        (
            lambda: cp.prove_formula_equal(
                i, i, grid={"i": range(3)}, domain=[i > 5], substitutions={i: 1}
            ),
            r"domain is empty",
        ),
    ],
)
def test_formula_bad_inputs(call: Any, pattern: str) -> None:
    with pytest.raises(cp.ConvProofError, match=pattern):
        call()


def test_the_stated_ceiling_lemma_is_proved_by_cases() -> None:
    """The lemma "sympy with lemmas" results rely on is itself machine-checked here."""
    from convproof.formulas.decide import prove_by_cases

    a = sympy.Symbol("a", integer=True)
    b = sympy.Symbol("b", integer=True, positive=True)
    assert prove_by_cases(sympy.ceiling(a / b) - sympy.floor((a + b - 1) / b)) is not None
    assert prove_by_cases(sympy.ceiling(a / b) - sympy.floor((a + b) / b)) is None  # false


def test_relationship_claims_state_their_domain_and_count_no_cases() -> None:
    """The forward relationships are proved under i + 2p >= k_eff (stated), without a split."""
    proof = cp.relationship(2).claims[0][1]
    assert proof.status == "proved" and proof.cases == 0
    assert "i + 2*p >= k" in proof.conditions
    plain = cp.prove_formula_equal(sympy.Symbol("a") + 1, 1 + sympy.Symbol("a"))
    assert plain.status == "proved" and plain.cases == 0


def test_framework_formula_proofs_returns_a_fresh_dict() -> None:
    first = cp.framework_formula_proofs()
    names = set(first)
    first.clear()  # one caller emptying its dict ...
    second = cp.framework_formula_proofs()
    assert set(second) == names and second is not first  # ... empties nobody else's
    assert second["tf_valid"] is cp.framework_formula_proofs()["tf_valid"]  # proofs cached
