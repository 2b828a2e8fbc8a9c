"""convproof.presentation.render: element sums against the loop reference, shape reports, tables.

The pictures are tested in tests/test_figures.py.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import convproof as cp
from convproof.presentation.render import (
    element_sum,
    format_table,
    shape_report,
    to_json,
)

try:
    from reference import reference
except ImportError:  # pragma: no cover - run from another rootdir
    from tests.reference import reference

PNG = b"\x89PNG\r\n\x1a\n"


def _plots():
    return pytest.importorskip("matplotlib", reason="matplotlib is the optional 'plots' extra")


# --------------------------------------------------------------------------------------
# element sums = the loop reference, for every layer kind
# --------------------------------------------------------------------------------------


def _check_element_sums(problem, data) -> None:
    spec, shape = problem.spec, problem.input_shape
    x = problem.x[0] if len(shape) == spec.ndim + 2 else problem.x
    unbatched = x.shape
    to_obj = np.vectorize(Fraction, otypes=[object])
    xo = to_obj(x.astype(np.int64))
    wo = None if problem.weight is None else to_obj(problem.weight.astype(np.int64))
    bo = None if problem.bias is None else to_obj(problem.bias.astype(np.int64))
    expected = reference(spec, xo, wo, bo)
    at = tuple(
        data.draw(st.integers(0, n - 1), label=f"at{k}") for k, n in enumerate(expected.shape)
    )
    e = element_sum(spec, unbatched, at)
    got = e.evaluate(xo, wo, bo)
    if spec.layer == "pool" and spec.kind == "max" and not e.terms:
        assert expected[at] == -math.inf  # pragma: no cover - PyTorch forbids empty windows
    else:
        assert got == expected[at], (spec, at, e.text())


@given(problem=cp.strategies.conv_problems(kind="conv", dtype="int64"), data=st.data())
def test_element_sum_conv_matches_reference(problem, data) -> None:
    _check_element_sums(problem, data)


@given(problem=cp.strategies.conv_problems(kind="conv_transpose", dtype="int64"), data=st.data())
def test_element_sum_transposed_matches_reference(problem, data) -> None:
    _check_element_sums(problem, data)


@given(problem=cp.strategies.conv_problems(kind="pool", dtype="int64"), data=st.data())
def test_element_sum_pool_matches_reference(problem, data) -> None:
    _check_element_sums(problem, data)


def test_element_sum_counts_seed() -> None:
    """Seed 000/002: one output of a 3-channel layer is 3 x k x k products plus one bias."""
    spec = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5)
    e = element_sum(spec, (3, 32, 32), (0, 10, 10))
    assert len(e.terms) == 75 and e.bias == (0,)
    assert [c for c, _ in e.channels] == [0, 1, 2]
    d = e.to_dict()
    assert d["products"] == 75 and d["skipped"] == []


def test_element_sum_groups_reads_only_its_group() -> None:
    spec = cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=1, groups=2)
    e = element_sum(spec, (4, 3, 3), (5, 1, 1))  # output 5 is in group 1: inputs 2, 3
    assert [c for c, _ in e.channels] == [2, 3]
    assert [t.weight for t in e.terms] == [(5, 0, 0, 0), (5, 1, 0, 0)]


def test_element_sum_batched_index_and_padding_modes() -> None:
    spec = cp.ConvSpec(
        in_channels=1, out_channels=1, kernel_size=3, padding=1, padding_mode="replicate", ndim=1
    )
    e = element_sum(spec, (2, 1, 4), (1, 0, 0))  # batch index dropped
    assert e.at == (0, 0)
    assert [t.input for t in e.terms] == [(0, 0), (0, 0), (0, 1)]
    assert [t.note for t in e.terms] == ["replicate", None, None]
    assert "replicate padding remaps 1 tap: (0) reads (-1) -> (0)" in e.text()


def test_element_sum_transposed_output_padding_region() -> None:
    spec = cp.ConvTransposeSpec(
        in_channels=2, out_channels=1, kernel_size=1, stride=2, output_padding=1, ndim=1
    )
    e = element_sum(spec, (2, 2), (0, 3))  # inputs sit at 0 and 2; 3 is output padding
    assert e.terms == () and [r for _, _, r in e.skipped] == ["outside the input"]
    assert e.text().splitlines()[:2] == [
        "Z[0,3] = b[0]",
        "0 products (2 input channels x 0 taps), plus the bias b[0]",
    ]


def test_element_sum_transposed_skips_inserted_zeros() -> None:
    spec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, ndim=1)
    e = element_sum(spec, (1, 3), (0, 3))
    # 3 = i*2 + u: (i=1, u=1); u=0 and u=2 fall between inputs
    assert [(t.input, t.tap) for t in e.terms] == [((0, 1), (1,))]
    assert [r for _, _, r in e.skipped] == ["a zero inserted by the stride"] * 2


@pytest.mark.parametrize(
    ("at", "match"),
    [
        ((1, 0, 0), "at must be an index"),
        ((0, 5, 0), "at must be an index"),
        ((0, 0), "at must be an index"),
        ((0, -1, 0), "at must be an index"),
        ((3, 0, 0, 0), "at must be an index of the output shape"),
    ],
)
def test_element_sum_bad_index(at, match) -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2)
    with pytest.raises(cp.ConvProofError, match=match):
        element_sum(spec, (2, 1, 3, 3) if len(at) == 4 else (1, 3, 3), at)


def test_element_sum_bad_spec() -> None:
    with pytest.raises(cp.ConvProofError, match="spec must be"):
        element_sum("conv", (1, 3, 3), (0, 0, 0))  # type: ignore[arg-type]


def _wrong_rule(a, u, *, stride, dilation, pad_before):  # planted: taps read backwards
    return a * stride - u * dilation - pad_before


@pytest.mark.parametrize(
    ("rule", "spec", "at", "right", "wrong"),
    [
        (
            "tap_source",
            cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1),
            (0, 1),
            [(0, 1), (0, 2)],
            [(0, 1), (0, 0)],
        ),
        (
            "scatter_target",
            cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1),
            (0, 2),
            [(0, 2), (0, 1)],
            [(0, 2), (0, 3)],
        ),
    ],
)
def test_element_sum_renders_the_index_rule(monkeypatch, rule, spec, at, right, wrong) -> None:
    """Presentation computes no index of its own: a planted wrong rule shows in its sums."""
    assert [t.input for t in element_sum(spec, (1, 4), at).terms] == right  # by hand
    monkeypatch.setattr(f"convproof.constructions.index.{rule}", _wrong_rule)
    assert [t.input for t in element_sum(spec, (1, 4), at).terms] == wrong


def test_latex_forms() -> None:
    pool = cp.PoolSpec(kind="avg", kernel_size=2, ndim=1)
    assert element_sum(pool, (1, 4), (0, 1)).latex() == (
        r"Z_{0,1} = \frac{1}{2}\left(X_{0,2} + X_{0,3}\right)"
    )
    mx = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
    assert element_sum(mx, (1, 4), (0, 0)).latex() == r"Z_{0,0} = \max\left(X_{0,0}, X_{0,1}\right)"


# --------------------------------------------------------------------------------------
# tables and JSON
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "shape", "out", "params", "macs"),
    [
        (
            cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same"),
            (3, 25, 25),
            [5, 25, 25],
            140,
            5 * 25 * 25 * 27,
        ),
        (
            cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5),
            (3, 32, 32),
            [1, 28, 28],
            76,
            28 * 28 * 75,
        ),
        (cp.PoolSpec(kind="max", kernel_size=2), (3, 8, 8), [3, 4, 4], 0, 0),
    ],
)
def test_shape_report_known(spec, shape, out, params, macs) -> None:
    r = shape_report(spec, shape)
    assert (r["output_shape"], r["params"], r["macs"]) == (out, params, macs)


def test_shape_report_formulas() -> None:
    t = cp.ConvTransposeSpec(
        in_channels=1, out_channels=1, kernel_size=3, stride=2, padding=1, output_padding=1, ndim=1
    )
    assert shape_report(t, (1, 8))["formulas"] == ["(8 - 1)*2 - 1 - 1 + 1*(3 - 1) + 1 + 1 = 16"]
    p = cp.PoolSpec(kind="max", kernel_size=2, ceil_mode=True, ndim=1)
    assert shape_report(p, (1, 5))["formulas"] == ["ceil((5 + 0 + 0 - 2) / 2) + 1 = 3 (ceil mode)"]
    d = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, dilation=2, ndim=1)
    assert shape_report(d, (1, 9))["formulas"] == [
        "floor((9 + 0 + 0 - (2*(3 - 1) + 1)) / 1) + 1 = 5"
    ]


def _evaluate_lhs(lhs: str) -> Fraction:
    """Evaluate a printed left side exactly: integers, + - * /, parentheses, floor, ceil."""
    import ast
    import operator

    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}

    def ev(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return Fraction(node.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return ev(node.left) / ev(node.right)
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            return ops[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1:
            rounding = {"floor": math.floor, "ceil": math.ceil}[node.func.id]
            return Fraction(rounding(ev(node.args[0])))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "max":
            return max(ev(a) for a in node.args)
        raise AssertionError(f"unexpected syntax in {lhs!r}: {ast.dump(node)}")

    return ev(ast.parse(lhs, mode="eval").body)


def _torch_output_size(kind, i, k, s, d, pl, pr, op, ceil) -> int:
    """PyTorch's output size per axis, written out here from SEMANTICS.md (not convproof's)."""
    keff = d * (k - 1) + 1
    if kind == "conv_transpose":
        return (i - 1) * s - pl - pr + d * (k - 1) + op + 1
    if not ceil:
        return math.floor(Fraction(i + pl + pr - keff, s)) + 1
    o = math.ceil(Fraction(i + pl + pr - keff, s)) + 1
    if (o - 1) * s >= i + pl:  # the last window must start inside the input or left padding
        o -= 1
    return o


@given(
    kind=st.sampled_from(["conv", "conv_transpose", "max", "avg"]),
    ceil=st.booleans(),
    i=st.integers(1, 40),
    k=st.integers(1, 7),
    s=st.integers(1, 5),
    d=st.integers(1, 3),
    pl=st.integers(-3, 4),
    pr=st.integers(-3, 4),
    op=st.integers(0, 4),
    legality=st.sampled_from(["pytorch", "jax"]),
)
def test_shape_report_equation_is_true(kind, ceil, i, k, s, d, pl, pr, op, legality) -> None:
    """`shape --in 1x5 --pool max --kernel 2 --padding 1 --ceil-mode` printed
    `ceil((5 + 1 + 1 - 2) / 2) + 1 = 3`, whose left side is 4.  Crops (negative padding,
    admitted under "jax") print as subtractions and the equation stays true."""
    try:
        if kind == "conv":
            spec = cp.ConvSpec(
                in_channels=1, out_channels=1, kernel_size=k, stride=s, dilation=d,
                padding=((pl, pr),), ndim=1, legality=legality,
            )  # fmt: skip
        elif kind == "conv_transpose":
            spec = cp.ConvTransposeSpec(
                in_channels=1, out_channels=1, kernel_size=k, stride=s, dilation=d,
                padding=((pl, pr),), output_padding=op, ndim=1, legality=legality,
            )  # fmt: skip
        else:
            spec = cp.PoolSpec(
                kind=kind, kernel_size=k, stride=s, dilation=1 if kind == "avg" else d,
                padding=((pl, pr),), ceil_mode=ceil, ndim=1, legality=legality,
            )  # fmt: skip
        (text,) = shape_report(spec, (1, i))["formulas"]
    except cp.ConvProofError:
        assume(False)
        return
    lhs, rest = text.split(" = ", 1)
    rhs = int(rest.split()[0])
    out = spec.output_shape((1, i))[-1]
    assert _evaluate_lhs(lhs) == rhs == out, text
    assert "+ -" not in text and "- -" not in text, text
    d_used = spec.dilation[0]
    is_ceil = kind in ("max", "avg") and ceil
    expected = _torch_output_size(spec.layer, i, k, s, d_used, pl, pr, op, is_ceil)
    if legality == "jax":  # XLA admits an empty output: the size is clamped at 0
        expected = max(0, expected)
    assert out == expected, text
    assert ("empty output" in text) <= (out == 0), text
    assert ("ceil mode" in text) == is_ceil


@pytest.mark.parametrize(
    ("spec", "i", "formula"),
    [
        (
            cp.PoolSpec(kind="max", kernel_size=2, padding=1, ceil_mode=True, ndim=1),
            5,
            "ceil((5 + 1 + 1 - 2) / 2) + 1 - 1 = 3 (ceil mode; the last window would start at "
            "(4 - 1)*2 - 1 = 5, past the input's last index 4, so it is dropped)",
        ),
        # SEMANTICS: k=1, s=2, i=32, ceil -> 16, not 17
        (
            cp.PoolSpec(kind="avg", kernel_size=1, stride=2, ceil_mode=True, ndim=1),
            32,
            "ceil((32 + 0 + 0 - 1) / 2) + 1 - 1 = 16 (ceil mode; the last window would start "
            "at (17 - 1)*2 - 0 = 32, past the input's last index 31, so it is dropped)",
        ),
    ],
)
def test_shape_report_ceil_mode_correction(spec, i, formula) -> None:
    assert shape_report(spec, (1, i))["formulas"] == [formula]


def test_format_table_and_json() -> None:
    text = format_table(["a", "shape"], [[1, (2, 3)], [1000, None]])
    assert text.splitlines() == ["    a  shape", "-----  ------", "    1  (2, 3)", "1,000"]
    assert to_json({"t": (1, 2), "s": {3}}) == '{"t": [1, 2], "s": [3]}'


def test_element_sum_and_summary_display_themselves() -> None:
    formatters = pytest.importorskip(
        "IPython.core.formatters", reason="IPython displays objects (the 'notebooks' extra)"
    )
    format_display_data = formatters.format_display_data
    spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=1)
    e = element_sum(spec, (2, 1, 1), (0, 0, 0))
    data, _ = format_display_data(e)
    assert data["text/latex"] == "$$" + e.latex() + "$$"
    assert data["text/plain"] == e.text()
    wide = cp.ConvSpec(in_channels=8, out_channels=1, kernel_size=3)
    big = element_sum(wide, (8, 3, 3), (0, 0, 0))
    assert "text/latex" not in format_display_data(big)[0]  # 72 products: text only
    s = cp.summary(cp.load_network("vgg16"), (3, 224, 224))
    data, _ = format_display_data(s)
    assert data["text/markdown"] == s.to_markdown()
    assert data["text/plain"] == s.to_text()
