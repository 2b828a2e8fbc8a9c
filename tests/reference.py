"""Tiny, obviously-correct loop implementations: the tests' reference for every spec kind.

Written straight from the definitions, one output element (or one input element, for the
transposed conv's scatter form) at a time, with Python loops and no cleverness.  They are
slow and only meant for small shapes.  They accept float arrays and object arrays (ints,
``Fraction``, SymPy expressions) and keep exact arithmetic for the latter.

Only the *shape* bookkeeping comes from convproof (``resolve_padding`` / ``output_shape``,
which have their own tests against PyTorch); every value is computed here.

Independent on purpose: this module repeats what convproof's constructions compute (padding
modes, windows, scatters) without importing them, so a bug there cannot hide here.  Near-copies
of convproof code in this file are deliberate; do not replace them with imports from
convproof.  Other test helpers may import from here (``source_index``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

import convproof as cp


def source_index(pos: int, n: int, mode: str) -> int | None:
    """Input index read at padded position ``pos`` on an axis of length ``n`` (None = zero)."""
    if 0 <= pos < n:
        return pos
    if mode == "zeros":
        return None
    if mode == "circular":
        return pos % n
    if mode == "replicate":
        return 0 if pos < 0 else n - 1
    if mode == "reflect":  # edge not repeated; padding < n so one reflection suffices
        return -pos if pos < 0 else 2 * (n - 1) - pos
    raise AssertionError(mode)


def _batched(fn: Any, spec: Any, x: np.ndarray, *args: Any) -> np.ndarray:
    if x.ndim == spec.ndim + 2:
        return np.stack([fn(spec, sample, *args) for sample in x])
    return fn(spec, x, *args)


def _zeros(shape: tuple[int, ...], *arrays: Any) -> np.ndarray:
    dtype = np.result_type(*[a for a in arrays if a is not None])
    return np.zeros(shape, dtype=object if dtype.kind == "O" else np.float64)


def _ref_conv_one(spec: cp.ConvSpec, x: np.ndarray, w: np.ndarray, b: Any) -> np.ndarray:
    pads = spec.resolve_padding(x.shape)
    out_shape = spec.output_shape(x.shape)
    out = _zeros(out_shape, x, w, b)
    cin_g = spec.in_channels // spec.groups
    cout_g = spec.out_channels // spec.groups
    for co in range(spec.out_channels):
        group = co // cout_g
        for a in itertools.product(*(range(o) for o in out_shape[1:])):
            acc: Any = b[co] if b is not None else 0
            for ci in range(cin_g):
                c = group * cin_g + ci
                for u in itertools.product(*(range(k) for k in spec.kernel_size)):
                    idx = []
                    for ax in range(spec.ndim):
                        pos = a[ax] * spec.stride[ax] + u[ax] * spec.dilation[ax] - pads[ax][0]
                        idx.append(source_index(pos, x.shape[1 + ax], spec.padding_mode))
                    if None in idx:
                        continue
                    acc = acc + x[(c, *idx)] * w[(co, ci, *u)]
            out[(co, *a)] = acc
    return out


def ref_conv(spec: cp.ConvSpec, x: Any, weight: Any, bias: Any = None) -> np.ndarray:
    """Forward convolution by its definition (cross-correlation, PyTorch weight layout)."""
    x, w = np.asarray(x), np.asarray(weight)
    b = None if bias is None else np.asarray(bias)
    return _batched(_ref_conv_one, spec, x, w, b)


def _ref_conv_transpose_one(
    spec: cp.ConvTransposeSpec, x: np.ndarray, w: np.ndarray, b: Any
) -> np.ndarray:
    pads = spec.resolve_padding(x.shape)
    out_shape = spec.output_shape(x.shape)
    out = _zeros(out_shape, x, w, b)
    if b is not None:
        for co in range(spec.out_channels):
            out[co] = out[co] + b[co]
    cin_g = spec.in_channels // spec.groups
    cout_g = spec.out_channels // spec.groups
    # scatter: input element (c, i) times tap u lands on output position i*s + u*d - p_before
    for c in range(spec.in_channels):
        group = c // cin_g
        for i in itertools.product(*(range(n) for n in x.shape[1:])):
            for u in itertools.product(*(range(k) for k in spec.kernel_size)):
                pos = tuple(
                    i[ax] * spec.stride[ax] + u[ax] * spec.dilation[ax] - pads[ax][0]
                    for ax in range(spec.ndim)
                )
                if not all(0 <= p < o for p, o in zip(pos, out_shape[1:])):
                    continue
                for co in range(cout_g):
                    target = (group * cout_g + co, *pos)
                    out[target] = out[target] + x[(c, *i)] * w[(c, co, *u)]
    return out


def ref_conv_transpose(
    spec: cp.ConvTransposeSpec, x: Any, weight: Any, bias: Any = None
) -> np.ndarray:
    """Transposed convolution by its scatter definition (weight ``(C_in, C_out/g, *k)``)."""
    x, w = np.asarray(x), np.asarray(weight)
    b = None if bias is None else np.asarray(bias)
    return _batched(_ref_conv_transpose_one, spec, x, w, b)


def _exact_div(total: Any, divisor: int) -> Any:
    if isinstance(total, sympy.Basic):
        return total / sympy.Integer(divisor)
    return Fraction(total) / divisor


def _ref_pool_one(spec: cp.PoolSpec, x: np.ndarray) -> np.ndarray:
    pads = spec.resolve_padding(x.shape)
    out_shape = spec.output_shape(x.shape)
    out = _zeros(out_shape, x)
    exact = x.dtype == object
    for c in range(x.shape[0]):
        for a in itertools.product(*(range(o) for o in out_shape[1:])):
            real, in_padded_extent = [], 0
            for u in itertools.product(*(range(k) for k in spec.kernel_size)):
                pos = tuple(
                    a[ax] * spec.stride[ax] + u[ax] * spec.dilation[ax] - pads[ax][0]
                    for ax in range(spec.ndim)
                )
                n = x.shape[1:]
                if all(-pads[ax][0] <= pos[ax] < n[ax] + pads[ax][1] for ax in range(spec.ndim)):
                    in_padded_extent += 1  # explicit padding counts, ceil overhang does not
                if all(0 <= pos[ax] < n[ax] for ax in range(spec.ndim)):
                    real.append(x[(c, *pos)])
            if spec.kind == "max":
                if not real:
                    out[(c, *a)] = -np.inf
                elif any(isinstance(v, sympy.Basic) for v in real):
                    out[(c, *a)] = sympy.Max(*real)
                else:
                    out[(c, *a)] = max(real)
            else:
                divisor = in_padded_extent if spec.count_include_pad else len(real)
                total = sum(real, start=0)
                out[(c, *a)] = _exact_div(total, divisor) if exact else total / divisor
    return out


def ref_pool(spec: cp.PoolSpec, x: Any) -> np.ndarray:
    """Max or average pooling by its definition (PyTorch divisor rules)."""
    return _batched(_ref_pool_one, spec, np.asarray(x))


def reference(spec: Any, x: Any, weight: Any = None, bias: Any = None) -> np.ndarray:
    """Dispatch on the spec kind."""
    if isinstance(spec, cp.ConvSpec):
        return ref_conv(spec, x, weight, bias)
    if isinstance(spec, cp.ConvTransposeSpec):
        return ref_conv_transpose(spec, x, weight, bias)
    return ref_pool(spec, x)
