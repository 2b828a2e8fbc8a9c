"""Per-axis integer formulas (private; the bottom of the arithmetic stack).

Everything here works on one spatial axis and never validates user input: callers
(``spec``, ``formulas.inverse``) check arguments first.  This is the one output-size rule:
the specs, the network shapes (where sizes may be SymPy symbols: ``conv_out``,
``transposed_out``, ``pool_ceil_count`` and ``ceil_drops_last`` use only ``+ - * //`` and
comparisons, so they also take SymPy expressions) and the text reports compute from it.
``formulas.derived`` derives its SymPy formulas independently, by counting windows, and
proves them equal to these (its formula theorems).
Notation: input ``i``, kernel ``k``, stride ``s``, dilation ``d``, padding before/after
``pl``/``pr``, output padding ``op``; the effective kernel is ``k_eff = d(k-1) + 1``.
"""

from __future__ import annotations

__all__ = [
    "ceil_drops_last",
    "conv_out",
    "effective_kernel",
    "pool_ceil_count",
    "pool_out",
    "same_total",
    "split_total",
    "transposed_out",
]


def effective_kernel(k: int, d: int) -> int:
    """Span of a dilated kernel: ``d(k - 1) + 1``."""
    return d * (k - 1) + 1


def conv_out(i: int, k: int, s: int, d: int, pl: int, pr: int) -> int:
    """Forward conv output length ``floor((i + pl + pr - k_eff) / s) + 1`` (may be <= 0)."""
    return (i + pl + pr - effective_kernel(k, d)) // s + 1


def transposed_out(i: int, k: int, s: int, d: int, pl: int, pr: int, op: int) -> int:
    """Transposed conv output length ``(i - 1)s - pl - pr + d(k - 1) + op + 1``."""
    return (i - 1) * s - pl - pr + d * (k - 1) + op + 1


def pool_out(i: int, k: int, s: int, d: int, pl: int, pr: int, ceil_mode: bool) -> int:
    """Pooling output length, PyTorch rules (ceil mode drops a window starting in the right pad).

    With ``ceil_mode`` the count is ``floor((i + pl + pr - k_eff + s - 1)/s) + 1`` and then,
    if the last window would start at or after ``i + pl`` (entirely in the right padding or
    beyond), one less.
    """
    if not ceil_mode:
        return conv_out(i, k, s, d, pl, pr)
    o = pool_ceil_count(i, k, s, d, pl, pr)
    if o > 0 and ceil_drops_last(o, s, i, pl):
        o -= 1
    return o


def pool_ceil_count(i: int, k: int, s: int, d: int, pl: int, pr: int) -> int:
    """Ceil-mode window count before PyTorch's correction: ``ceil((i + pl + pr - k_eff)/s) + 1``."""
    return (i + pl + pr - effective_kernel(k, d) + s - 1) // s + 1


def ceil_drops_last(o: int, s: int, i: int, pl: int) -> bool:
    """Whether ceil mode drops window ``o - 1``: it starts at ``(o-1)s >= i + pl`` (right pad)."""
    return (o - 1) * s >= i + pl


def same_total(i: int, k: int, s: int, d: int) -> int:
    """Total padding of TF/JAX ``SAME`` (ONNX ``SAME_UPPER``/``SAME_LOWER``).

    The output is ``ceil(i / s)`` and the total padding ``max(0, (o - 1)s + k_eff - i)``.
    """
    o = -(-i // s)
    return max(0, (o - 1) * s + effective_kernel(k, d) - i)


def split_total(total: int, extra_at_end: bool = True) -> tuple[int, int]:
    """Split a total padding into ``(before, after)``; an odd extra goes to the end or start."""
    small = total // 2
    return (small, total - small) if extra_at_end else (total - small, small)
