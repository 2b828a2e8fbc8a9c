"""The formula theorems: framework formulas and Dumoulin & Visin's relationships, proved.

The framework formulas (PyTorch's docs, TF's ``SAME`` / ``VALID``) and each of Dumoulin &
Visin's relationships 1-15 (arXiv:1603.07285) are *proved* equal to the formulas
:mod:`convproof.formulas.derived` derives by counting (the independent side), with
:func:`~convproof.formulas.equality.prove_formula_equal`.

Examples
--------
>>> import convproof as cp
>>> r = cp.relationship(14)
>>> r.status, r.method
('proved', 'sympy with lemmas')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy import ceiling, floor

from convproof.errors import ConvProofError
from convproof.formulas.derived import (
    Formula,
    _a,
    _cache,
    _i_t,
    _m,
    _n,
    _q,
    d,
    i,
    k,
    k_eff,
    op,
    output_size_formula,
    p,
    p_l,
    p_r,
    s,
)
from convproof.formulas.equality import FormulaProof, prove_formula_equal

__all__ = [
    "Relationship",
    "framework_formula",
    "framework_formula_proofs",
    "relationship",
    "relationships",
]

# --------------------------------------------------------------------------------------
# framework formulas
# --------------------------------------------------------------------------------------

_FRAMEWORK: dict[str, tuple[str, Any]] = {
    "pytorch_conv": (
        "PyTorch Conv docs: floor((i + 2p - d(k-1) - 1)/s) + 1",
        floor((i + 2 * p - d * (k - 1) - 1) / s) + 1,
    ),
    "pytorch_conv_transpose": (
        "PyTorch ConvTranspose docs: (i-1)s - 2p + d(k-1) + op + 1",
        (i - 1) * s - 2 * p + d * (k - 1) + op + 1,
    ),
    "pytorch_pool_ceil": (
        "PyTorch MaxPool docs with ceil_mode: ceil((i + 2p - d(k-1) - 1)/s) + 1, minus 1 "
        "when the last window would start in the right padding",
        sympy.Piecewise(
            (
                ceiling((i + 2 * p - d * (k - 1) - 1) / s),
                ceiling((i + 2 * p - d * (k - 1) - 1) / s) * s >= i + p,
            ),
            (ceiling((i + 2 * p - d * (k - 1) - 1) / s) + 1, True),
        ),
    ),
    "tf_same": ("TensorFlow 'SAME': ceil(i/s)", ceiling(i / s)),
    "tf_valid": ("TensorFlow 'VALID': ceil((i - k_eff + 1)/s)", ceiling((i - k_eff + 1) / s)),
}


def framework_formula(name: str) -> Formula:
    """A framework's documented output-size formula, as written there (one axis).

    Parameters
    ----------
    name : {"pytorch_conv", "pytorch_conv_transpose", "pytorch_pool_ceil", "tf_same", \
"tf_valid"}

    Returns
    -------
    Formula

    Examples
    --------
    >>> import convproof as cp
    >>> cp.framework_formula("tf_same").expr
    ceiling(i/s)
    """
    if name not in _FRAMEWORK:
        raise ConvProofError(
            f"name must be one of {', '.join(map(repr, _FRAMEWORK))}, got name={name!r}"
        )
    text, expr = _FRAMEWORK[name]
    return Formula(name, expr, (), (text,))


_ARG_SAME = (
    "Let c = ceil(i/s), so (c-1)s < i <= cs, and T = max(0, (c-1)s + k_eff - i).  If T > 0 "
    "the output is floor(((c-1)s)/s) + 1 = c.  If T = 0 then (c-1)s <= i - k_eff <= cs - 1 "
    "(k_eff >= 1), so floor((i - k_eff)/s) = c - 1 and the output is c again."
)
_ARG_POOL_CEIL = (
    "Let A = i + p_l + p_r - k_eff + s - 1 and B = i + p_l - 1 (B >= 0).  PyTorch computes "
    "o = floor(A/s) + 1 and subtracts 1 once when (o-1)s >= i + p_l, i.e. when "
    "floor(A/s) > floor(B/s) (as (o-1)s <= A).  Subtracting once suffices because "
    "A - s <= B iff p_r <= k_eff, so floor(A/s) - 1 <= floor(B/s).  Hence o = "
    "floor(min(A, B)/s) + 1, the derived count."
)
_ARG_TRANSPOSED_INVERSE = "floor(((i-1)s + op)/s) = i - 1 + floor(op/s) = i - 1 because 0 <= op < s"


def framework_formula_proofs() -> dict[str, FormulaProof]:
    """Proofs that each framework formula equals the derived one (one axis).

    ======================  ========================================================
    key                     claim
    ======================  ========================================================
    pytorch_conv            derived conv size, ``p_l = p_r = p``
    pytorch_conv_transpose  derived transposed size, ``p_l = p_r = p``
    pytorch_conv_transpose  the derived transposed size inverts the forward size when
    _inverts_conv           ``op = (i + p_l + p_r - k_eff) mod s``
    pytorch_pool_ceil       derived ceil-mode count (PyTorch's ``p <= k/2``;
                            proved by a case split)
    pool_floor_is_conv      pooling without ceil mode = the conv formula
    tf_same                 conv with ``SAME_UPPER`` / ``SAME_LOWER`` padding
                            (proved by a case split; both splits must be proved)
    tf_valid                conv with no padding
    ======================  ========================================================

    Returns
    -------
    dict of str to FormulaProof

    Examples
    --------
    >>> import convproof as cp
    >>> proofs = cp.framework_formula_proofs()
    >>> proofs["tf_valid"].status, proofs["tf_valid"].method
    ('proved', 'sympy with lemmas')
    >>> proofs["tf_same"].status, proofs["tf_same"].method
    ('proved', 'sympy, case split')
    >>> ceil = proofs["pytorch_pool_ceil"]
    >>> ceil.status, ceil.method, ceil.cases
    ('proved', 'sympy, case split', 6)
    """
    # a new dict every call over the cached (frozen) proofs: a caller that edits or
    # empties its dict changes nobody else's
    return dict(_all_framework_proofs())


@_cache
def _all_framework_proofs() -> tuple[tuple[str, FormulaProof], ...]:
    return tuple((name, _framework_proof(name)) for name in _FRAMEWORK_PROOFS)


_FRAMEWORK_PROOFS = (
    "pytorch_conv",
    "pytorch_conv_transpose",
    "pytorch_conv_transpose_inverts_conv",
    "pytorch_pool_ceil",
    "pool_floor_is_conv",
    "tf_same",
    "tf_valid",
)


def _framework_proof(name: str) -> FormulaProof:
    """One entry of :func:`framework_formula_proofs` (uncached)."""
    conv = output_size_formula("conv", padding="symmetric")
    if name == "pytorch_conv":
        return prove_formula_equal(
            conv.expr, framework_formula("pytorch_conv").expr, domain=conv.domain
        )
    if name == "pytorch_conv_transpose":
        tr = output_size_formula("conv_transpose", padding="symmetric")
        return prove_formula_equal(
            tr.expr, framework_formula("pytorch_conv_transpose").expr, domain=tr.domain
        )
    if name == "pytorch_conv_transpose_inverts_conv":
        # the transposed conv maps the forward output size back: forward(i) = q + 1 with
        # i + p_l + p_r - k_eff = q s + op, 0 <= op < s
        fwd = output_size_formula("conv")
        i_of = _q * s + op + k_eff - p_l - p_r
        back = output_size_formula("conv_transpose").expr.subs(i, fwd.expr.subs(i, i_of))
        return prove_formula_equal(
            back,
            i_of,
            domain=[sympy.Lt(op, s), sympy.Ge(i_of, 1)],
            facts={floor(op / s): 0},
            argument=_ARG_TRANSPOSED_INVERSE,
            conditions=("i + p_l + p_r - k_eff = q*s + op, 0 <= op < s",),
        )
    if name == "pytorch_pool_ceil":
        ceil_f = output_size_formula("pool", padding="symmetric", ceil_mode=True)
        return prove_formula_equal(
            ceil_f.expr,
            framework_formula("pytorch_pool_ceil").expr,
            domain=(*ceil_f.domain, sympy.Le(2 * p, k)),
            argument=_ARG_POOL_CEIL,
            conditions=("p <= k/2 (PyTorch)",),
        )
    if name == "pool_floor_is_conv":
        pool = output_size_formula("pool", padding="symmetric")
        return prove_formula_equal(pool.expr, conv.expr, domain=conv.domain)
    if name == "tf_same":
        # both ways of splitting the total padding; the weaker result is reported
        weakness = ("proved", "verified", "inconclusive", "refuted")
        same_proofs = [
            prove_formula_equal(
                same.expr, framework_formula("tf_same").expr, domain=same.domain, argument=_ARG_SAME
            )
            for same in (
                output_size_formula("conv", padding=n) for n in ("SAME_UPPER", "SAME_LOWER")
            )
        ]
        return max(same_proofs, key=lambda pr: weakness.index(pr.status))
    valid = output_size_formula("conv", padding="valid")
    return prove_formula_equal(valid.expr, framework_formula("tf_valid").expr, domain=valid.domain)


# --------------------------------------------------------------------------------------
# Dumoulin & Visin's relationships
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relationship:
    """One of Dumoulin & Visin's relationships 1-15, with its proof(s).

    Truthy iff every claim is proved or verified (``status`` says which).

    Attributes
    ----------
    number : int
    title : str
    conditions : str
        As stated in the paper.
    formula : sympy.Expr
        The stated output size (``o`` or ``o'``), with ``i_t`` for the transposed conv's
        input size ``i'`` where it appears.
    claims : tuple of (str, FormulaProof)
        What was proved: equality with the derived formula, and for relationships 8-14
        also the equivalent direct convolution and the inversion of the forward size.

    Examples
    --------
    >>> import convproof as cp
    >>> r = cp.relationship(6)
    >>> r.title, r.conditions, r.formula
    ('zero padding, non-unit strides', 'any i, k, p, s', floor((i - k + 2*p)/s) + 1)
    >>> [(text, proof.status) for text, proof in r.claims]
    [('stated o equals the derived count of window positions', 'proved')]
    """

    number: int
    title: str
    conditions: str
    formula: Any
    claims: tuple[tuple[str, FormulaProof], ...] = field(default=())

    @property
    def status(self) -> str:
        """The weakest claim's status: ``"refuted"`` if one is, else ``"inconclusive"`` if
        one is, else ``"verified"`` if one is, else ``"proved"``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.relationship(12).status
        'proved'
        """
        statuses = {proof.status for _, proof in self.claims}
        for status in ("refuted", "inconclusive", "verified"):
            if status in statuses:
                return status
        return "proved" if statuses else "inconclusive"

    @property
    def method(self) -> str:
        """The weakest method used by the claims (``sympy`` < ``sympy with lemmas`` < ...).

        Examples
        --------
        >>> import convproof as cp
        >>> cp.relationship(1).method, cp.relationship(14).method
        ('sympy', 'sympy with lemmas')
        """
        order = [
            "sympy",
            "sympy with lemmas",
            "sympy, case split",
            "argument + exhaustive grid",
            "grid only",
            "grid",
        ]
        return max((proof.method for _, proof in self.claims), key=order.index)

    def __bool__(self) -> bool:
        return self.status in ("proved", "verified")


def _conv(i_: Any, k_: Any, s_: Any, p_: Any, d_: Any = 1, extra_end: Any = 0) -> Any:
    """The derived conv size with substitutions (symmetric ``p_`` plus ``extra_end``)."""
    f = output_size_formula("conv")
    return f.expr.subs(
        {i: i_, k: k_, s: s_, d: d_, p_l: p_, p_r: p_ + extra_end}, simultaneous=True
    )


def _transposed(i_: Any, k_: Any, s_: Any, p_: Any, op_: Any = 0) -> Any:
    f = output_size_formula("conv_transpose")
    return f.expr.subs({i: i_, k: k_, s: s_, d: 1, p_l: p_, p_r: p_, op: op_}, simultaneous=True)


def _forward_claims(stated: Any, subs: Mapping[Any, Any], conditions: str) -> tuple[Any, ...]:
    derived = _conv(i, k, s, p, d)
    proof = prove_formula_equal(
        derived,
        stated,
        substitutions=subs,
        domain=[sympy.Ge(i + 2 * p, k_eff)],
        conditions=(conditions,),
    )
    return (("stated o equals the derived count of window positions", proof),)


def _transposed_claims(
    number: int,
    stated: Any,
    subs: Mapping[Any, Any],
    p_prime: Any,
    a: Any,
    forward_input: Any,
    conditions: str,
    facts: Mapping[Any, Any] | None = None,
    extra_domain: Sequence[Any] = (),
) -> tuple[Any, ...]:
    """Claims of relationships 8-14 (``i_t`` = i' = the forward output size)."""
    s_val = sympy.sympify(subs.get(s, s))
    p_val = sympy.sympify(subs.get(p, p))
    k_val = sympy.sympify(subs.get(k, k))
    stated_s = sympy.sympify(stated).subs(subs, simultaneous=True)
    dom = [sympy.Ge(stated_s, 1)]
    # (a) the transposed conv (k, s, p, op = a) on input i' has the stated size
    a_claim = prove_formula_equal(
        _transposed(_i_t, k_val, s_val, p_val, a),
        stated_s,
        domain=dom,
        conditions=(conditions,),
    )
    # (b) the equivalent direct conv: stretched input i' + (i'-1)(s-1), stride 1,
    # padding p' each side plus a at the end, kernel k
    stretched = _i_t + (_i_t - 1) * (s_val - 1)
    b_claim = prove_formula_equal(
        _conv(stretched, k_val, 1, p_prime, 1, a),
        stated_s,
        domain=dom,
        conditions=(conditions,),
    )
    # (c) it undoes the forward conv's shape: with i' = forward output, o' = i
    fwd = _conv(forward_input, k_val, s_val, p_val)
    c_claim = prove_formula_equal(
        stated_s.subs(_i_t, fwd),
        forward_input,
        domain=[
            sympy.Ge(forward_input + 2 * p_val, k_val),
            sympy.Ge(forward_input, 1),
            *extra_domain,
        ],
        facts=facts,
        conditions=(conditions,),
    )
    return (
        (f"o' = the derived transposed-conv size (k, s, p, output_padding {a})", a_claim),
        (
            f"o' = the derived conv size on the stretched input, stride 1, p' = {p_prime}"
            + (f" plus {a} at the end" if a != 0 else ""),
            b_claim,
        ),
        ("with i' = the forward output size, o' = the forward input size i", c_claim),
    )


_REL_TEXT: dict[int, tuple[str, str]] = {
    1: ("no zero padding, unit strides", "s = 1, p = 0"),
    2: ("zero padding, unit strides", "s = 1"),
    3: ("half (same) padding", "k = 2n + 1, s = 1, p = floor(k/2) = n"),
    4: ("full padding", "p = k - 1, s = 1"),
    5: ("no zero padding, non-unit strides", "p = 0"),
    6: ("zero padding, non-unit strides", "any i, k, p, s"),
    7: ("pooling", "any i, k, s (no padding)"),
    8: ("transposed: no zero padding, unit strides", "s = 1, p = 0; k' = k, s' = s, p' = k - 1"),
    9: ("transposed: zero padding, unit strides", "s = 1; k' = k, s' = s, p' = k - p - 1"),
    10: ("transposed: half padding", "k = 2n + 1, s = 1, p = n; k' = k, s' = s, p' = p"),
    11: ("transposed: full padding", "s = 1, p = k - 1; k' = k, s' = s, p' = 0"),
    12: (
        "transposed: no zero padding, non-unit strides",
        "p = 0, i - k a multiple of s (i = k + m s); stretched input, k' = k, s' = 1, p' = k - 1",
    ),
    13: (
        "transposed: zero padding, non-unit strides",
        "i + 2p - k a multiple of s (i = m s + k - 2p); stretched input, k' = k, s' = 1, "
        "p' = k - p - 1",
    ),
    14: (
        "transposed: zero padding, non-unit strides, any input size",
        "a = (i + 2p - k) mod s (i = q s + a + k - 2p, 0 <= a < s); stretched input, "
        "k' = k, s' = 1, p' = k - p - 1, a zeros added at the end",
    ),
    15: ("dilated convolution", "any i, k, p, s and dilation d"),
}


@_cache
def relationship(number: int) -> Relationship:
    """Dumoulin & Visin's relationship ``number`` (1-15), proved against the derivation.

    Relationships 1-7 and 15 state a forward output size ``o`` under conditions; each is
    proved equal to the derived count (:func:`output_size_formula`) under them.
    Relationships 8-14 state the transposed convolution's output size ``o'`` (``i_t`` is
    its input size ``i'``); three claims are proved: ``o'`` equals the derived transposed
    conv size, it equals the derived size of the paper's equivalent direct convolution
    (stretched input, stride 1, ``p'``), and with ``i'`` the forward output size ``o'``
    gives back the forward input size ``i``.

    Parameters
    ----------
    number : int
        1 to 15.

    Returns
    -------
    Relationship

    Examples
    --------
    >>> import convproof as cp
    >>> r = cp.relationship(3)
    >>> r.formula, r.status, r.method
    (i, 'proved', 'sympy')
    >>> cp.relationship(13).formula
    k - 2*p + s*(i_t - 1)
    """
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 15:
        raise ConvProofError(f"number must be an integer from 1 to 15, got number={number!r}")
    title, cond = _REL_TEXT[number]
    one = {d: 1}
    stated: Any
    claims: tuple[Any, ...]
    if number <= 7 or number == 15:
        table: dict[int, tuple[Any, dict[Any, Any]]] = {
            1: ((i - k) + 1, {s: 1, p: 0, **one}),
            2: ((i - k) + 2 * p + 1, {s: 1, **one}),
            3: (i, {k: 2 * _n + 1, s: 1, p: floor((2 * _n + 1) / 2), **one}),
            4: (i + (k - 1), {p: k - 1, s: 1, **one}),
            5: (floor((i - k) / s) + 1, {p: 0, **one}),
            6: (floor((i + 2 * p - k) / s) + 1, one),
            7: (floor((i - k) / s) + 1, {p: 0, **one}),
            15: (floor((i + 2 * p - k - (k - 1) * (d - 1)) / s) + 1, {}),
        }
        stated, subs = table[number]
        claims = _forward_claims(stated, subs, cond)
        if number == 7:
            pool = output_size_formula("pool", padding="symmetric").expr
            claims += (
                (
                    "pooling's derived size (no ceil mode) equals the stated o",
                    prove_formula_equal(
                        pool,
                        stated,
                        substitutions=subs,
                        domain=[sympy.Ge(i, k)],
                        conditions=(cond,),
                    ),
                ),
            )
        return Relationship(number, title, cond, stated, claims)
    it = _i_t
    if number == 8:
        stated = it + (k - 1)
        claims = _transposed_claims(8, stated, {s: 1, p: 0}, k - 1, 0, i, cond)
    elif number == 9:
        stated = it + (k - 1) - 2 * p
        claims = _transposed_claims(9, stated, {s: 1}, k - p - 1, 0, i, cond)
    elif number == 10:
        stated = it + (k - 1) - 2 * p
        subs = {k: 2 * _n + 1, s: 1, p: _n}
        claims = _transposed_claims(10, stated, subs, _n, 0, i, cond)
        stated = it
    elif number == 11:
        stated = it + (k - 1) - 2 * p
        claims = _transposed_claims(11, stated, {s: 1, p: k - 1}, 0, 0, i, cond)
        stated = it - (k - 1)
    elif number == 12:
        stated = s * (it - 1) + k
        claims = _transposed_claims(12, stated, {p: 0}, k - 1, 0, k + _m * s, cond)
    elif number == 13:
        stated = s * (it - 1) + k - 2 * p
        claims = _transposed_claims(13, stated, {}, k - p - 1, 0, _m * s + k - 2 * p, cond)
    else:
        stated = s * (it - 1) + _a + k - 2 * p
        # i = q s + a + k - 2p with 0 <= a < s: floor(a/s) = 0
        claims = _transposed_claims(
            14,
            stated,
            {},
            k - p - 1,
            _a,
            _q * s + _a + k - 2 * p,
            cond,
            facts={floor(_a / s): 0},
            extra_domain=[sympy.Lt(_a, s)],
        )
    return Relationship(number, title, cond, stated, claims)


def relationships() -> tuple[Relationship, ...]:
    """All fifteen of Dumoulin & Visin's relationships, proved.

    Examples
    --------
    >>> import convproof as cp
    >>> all(cp.relationships())
    True
    """
    return tuple(relationship(n) for n in range(1, 16))
