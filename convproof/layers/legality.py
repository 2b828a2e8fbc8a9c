"""The legality profiles: the one table of where frameworks' rules differ (data only).

A spec's ``legality=`` names a profile (``"pytorch"``, the default, ``"onnx"``, ``"jax"``,
``"tensorflow"``); the spec then admits what that framework admits.  Each :class:`Rule` is
one question with each framework's answer, as observed by running a witness call on the
framework (``tests/test_legality.py`` re-runs them; :mod:`convproof.frameworks.legality`
reads this same table).  ``None`` means "not checked here" or "no such argument".

Two sorts of rule:

* **spec rules** (``spec_rule=True``) say what a layer *is allowed to be* under the
  profile — negative padding, empty outputs, large pooling padding, dilated average pooling,
  a large transposed ``output_padding``.  The specs enforce them: under a profile whose
  answer is ``None`` (not checked, or no such argument) PyTorch's answer applies.
* **call rules** say what the framework's *call* cannot spell (a size-dependent ``SAME``
  with stride, a padding mode).  Every profile admits such a layer (it is computable);
  :func:`convproof.frameworks.legality.breaks` reports them and a port works around them.

Examples
--------
>>> from convproof.layers.legality import RULES, allows
>>> allows("negative_padding", "pytorch"), allows("negative_padding", "jax")
(False, True)
>>> for r in RULES:
...     if r.spec_rule and allows(r.name, "onnx"):
...         print(r.name)
negative_padding
transposed_negative_padding
pool_padding_over_half_kernel
avg_pool_dilation
"""

from __future__ import annotations

from dataclasses import dataclass

from convproof.errors import ConvProofError

__all__ = [
    "LEGALITY_PROFILES",
    "RULES",
    "Rule",
    "allows",
    "check_legality",
    "not_allowed",
    "refusal",
]

#: The profile names, PyTorch (the default) first.
LEGALITY_PROFILES = ("pytorch", "onnx", "jax", "tensorflow")


@dataclass(frozen=True)
class Rule:
    """One legality question and each framework's answer (``True``: accepted).

    ``spec_rule``: whether the specs enforce it per profile (else a call rule, see above).
    """

    name: str
    question: str
    accepted: dict[str, bool | None]
    spec_rule: bool = False


#: name, question, the answers of pytorch, onnx, jax and tensorflow, and whether the specs
#: enforce it
_TABLE = (
    ("negative_padding", "conv padding below 0 (a crop)", False, True, True, False, True),
    ("transposed_negative_padding",
     "transposed conv padding below 0 (zeros around the full output)",
     False, True, True, False, True),
    ("pool_negative_padding", "pooling padding below 0 (a crop)",
     False, False, True, False, True),
    ("empty_output", "a conv whose output size is 0", False, False, True, False, True),
    ("pool_padding_over_half_kernel", "pooling padding above kernel_size // 2",
     False, True, True, True, True),
    ("pool_padding_at_least_kernel", "pooling padding >= kernel_size",
     False, False, True, False, True),
    ("avg_pool_dilation", "average pooling with dilation > 1", False, True, True, True, True),
    ("same_with_stride", "size-dependent SAME padding with stride > 1",
     False, True, True, True, False),
    ("same_with_dilation", "SAME padding named in the call with dilation > 1",
     True, False, True, True, False),
    ("output_padding_at_least_stride", "transposed output_padding >= stride (< dilation)",
     True, False, None, False, True),
    ("padding_modes_in_the_call", "reflect / replicate / circular padding in the conv call",
     True, False, False, False, False),
)  # fmt: skip

RULES: tuple[Rule, ...] = tuple(
    Rule(name, question, {"pytorch": pt, "onnx": ox, "jax": jx, "tensorflow": tf}, spec_rule)
    for name, question, pt, ox, jx, tf, spec_rule in _TABLE
)
_BY_NAME = {r.name: r for r in RULES}


def check_legality(value: object) -> str:
    """``value`` if it names a profile, else a ConvProofError naming the parameter."""
    if value not in LEGALITY_PROFILES:
        raise ConvProofError(
            f"legality must be one of {', '.join(map(repr, LEGALITY_PROFILES))}, "
            f"got legality={value!r}"
        )
    return str(value)


def allows(rule: str, profile: str) -> bool:
    """Whether the specs admit what ``rule`` asks about under ``profile``.

    An unchecked answer (``None``) falls back to PyTorch's.
    """
    answer = _BY_NAME[rule].accepted[profile]
    return _BY_NAME[rule].accepted["pytorch"] is True if answer is None else answer


def refusal(rule: str, profile: str, detail: str) -> ConvProofError:
    """The error for a spec breaking ``rule`` under ``profile``: names it and who allows it.

    Examples
    --------
    >>> from convproof.layers.legality import refusal
    >>> print(refusal("avg_pool_dilation", "pytorch", "got dilation=2"))
    average pooling with dilation > 1 is not allowed under legality='pytorch' (allowed under 'onnx', 'jax', 'tensorflow'): got dilation=2
    """  # noqa: E501
    return ConvProofError(f"{not_allowed(rule, profile)}: {detail}")


def not_allowed(rule: str, profile: str) -> str:
    """``"<question> is not allowed under legality=<profile> (allowed under ...)"``."""
    ok = [p for p in LEGALITY_PROFILES if p != profile and _BY_NAME[rule].accepted[p]]
    where = f" (allowed under {', '.join(map(repr, ok))})" if ok else ""
    return f"{_BY_NAME[rule].question} is not allowed under legality={profile!r}{where}"
