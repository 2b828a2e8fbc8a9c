"""Port a layer to another framework, with the input sizes on which the port is exact.

``cp.port(spec, to="jax")`` says which call computes ``spec`` in the target framework
(``.function``, ``.params``), how to move arrays into and out of it (``.transform_input``,
``.transform_weight``, ``.transform_output``: layout permutations, explicit pre-padding,
kernel flips and in/out swaps, crops) and on which input sizes the result equals the source
layer (``.agrees_for``, from :func:`convproof.agreement`).  ``.code`` is a self-contained
snippet defining ``layer(x, weight, bias=None)`` (NumPy in, NumPy out, convproof's layout:
``(N, C, *spatial)`` input, PyTorch weight layout); ``.run`` executes exactly that snippet.
The transforms are compiled from the same lines as the snippet, so what is tested is what is
printed.

=============  ========================================  ===============  ===========
``to``         call                                      input / weight   padding
=============  ========================================  ===============  ===========
``pytorch``    ``torch.nn.functional.conv{n}d`` etc.     NCHW / OIHW      symmetric ints (else
                                                                          pre-pad or crop)
``jax``        ``jax.lax.conv_general_dilated``,         NHWC / HWIO      pairs (negative
               ``jax.lax.reduce_window``                 (Flax's)         too), ``SAME``,
                                                                          ``SAME_LOWER``
``onnx``       ``Conv``, ``ConvTranspose``, ``MaxPool``, NCHW / OIHW      ``pads``, ``auto_pad``
               ``AveragePool``, ``LpPool`` (opset 19)
``tensorflow`` ``tf.nn.convolution``,                    NHWC / HWIO      ``SAME`` (else
               ``tf.nn.conv_transpose``, ``tf.nn.pool``                   pre-pad or crop)
=============  ========================================  ===============  ===========

TensorFlow's specifics (zeros written into dilated kernels, block-diagonal grouped
transposed kernels, stride-1 pooling kept every s-th output) are in
:mod:`convproof.frameworks.tensorflow_port`.

Padding modes other than ``zeros`` are an explicit pre-pad (``np.pad`` with ``reflect``,
``edge`` or ``wrap``) everywhere.  Negative padding (a crop, under ``legality="onnx"`` or
``"jax"``) is passed through where the target takes it (JAX's ``padding`` pairs, ONNX's
``pads``: both crop); PyTorch and TensorFlow get the pre-pad with the negative amounts as a
slice of the padded input (``x = x[:, :, 1:, ...]``, printed in ``.code``).

Lp pooling (``kind="lp"``) is ``F.lp_pool{n}d`` on PyTorch (given ``|x|``, pre-padded, for
an ONNX-profile layer, ceil mode as zeros; its dilation is refused there), ONNX ``LpPool``
for an ONNX-profile layer with an integer ``p``, and otherwise the target's sum of
``v**p`` (JAX's ``reduce_window`` add; an ``AveragePool`` / ``tf.nn.pool`` average times
``prod(k)``) with the power and the ``p``-th root as NumPy steps: ``v = x`` under the
PyTorch profile (``nan`` for a negative ``x`` with a non-integer ``p``, and for a negative
sum's root) and ``|x|`` under ONNX's. Ceil mode on JAX and TensorFlow (which have none) is
zeros added at the end per input, and PyTorch's ``prod(k) / taps inside`` scaling a
channel of ones pooled alongside. These are exact for every input (up to float rounding);
the refusals say why.

Max and average pools a target cannot name (``SAME``, asymmetric or wide padding on PyTorch,
ceil mode on JAX and TensorFlow, averages excluding their padding) are pre-padded with
``-inf`` or zeros, a mask channel giving the divisor: :mod:`convproof.frameworks.port_pools`.

A size-dependent padding (``SAME_UPPER``/``SAME_LOWER``) that the target cannot name is
resolved from ``input_shape`` when it is given (the port is then exact only on the sizes
``.agrees_for`` states, e.g. the odd sizes for a 7x7 stride-2 stem) and otherwise computed
from each input's shape by the pre-pad.

Examples
--------
>>> import convproof as cp
>>> stem = cp.ConvSpec(in_channels=3, out_channels=64, kernel_size=7, stride=2,
...                    padding="SAME_UPPER")
>>> p = cp.port(stem, to="pytorch", input_shape=(3, 224, 224))
>>> p.function, p.params["padding"], p.pre_pad
('torch.nn.functional.conv2d', 0, ((2, 3), (2, 3)))
>>> print(p.agrees_for[0]), p.agrees_for.smallest_failing
n >= 1, n ≡ 0 (mod 2)
(None, (1, 1))
>>> j = cp.port(stem, to="jax")
>>> j.function, j.params["padding"], j.params["dimension_numbers"]
('jax.lax.conv_general_dilated', 'SAME', ('NHWC', 'HWIO', 'NHWC'))
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.frameworks.agreement import Agreement, agreement
from convproof.frameworks.port_pools import needs_pre_pad, pool_pre_pad_steps
from convproof.layers.legality import allows
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec, spec_from_dict

__all__ = ["FRAMEWORKS", "Port", "port"]

FRAMEWORKS = ("pytorch", "jax", "onnx", "tensorflow")
_NP_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
_ONNX_OPSET = 19

Spec = ConvSpec | ConvTransposeSpec | PoolSpec
Pairs = tuple[tuple[int, int], ...]


@dataclass(frozen=True, eq=False)
class Port:
    """A layer ported to another framework (see :func:`port`).

    Attributes
    ----------
    source : Spec
        The layer being ported (convproof/PyTorch semantics).
    to : str
        Target framework.
    function : str
        Dotted name of the target call (ONNX: ``onnx.<OpType>``).
    params : dict
        Keyword arguments (ONNX: node attributes) of the target call.
    pre_pad : tuple of (int, int), str or None
        Explicit padding applied to the input first: per-side pairs (negative amounts crop,
        after the padding), ``"per input"`` when it is computed from each input's shape, or
        None.
    target : Spec
        What the target computes, as a convproof spec (the source with paddings fixed to
        what the port passes).
    agrees_for : Agreement
        Per spatial axis, the input sizes on which the port equals the source, proved
        (:func:`convproof.agreement` of ``source`` and ``target``).
    code : str
        A runnable snippet defining ``layer(x, weight, bias=None)``.
    seconds : float
    """

    source: Spec
    to: str
    function: str
    params: dict[str, Any]
    pre_pad: Pairs | str | None
    target: Spec
    agrees_for: Agreement
    code: str
    input_steps: tuple[str, ...]
    weight_steps: tuple[str, ...]
    output_steps: tuple[str, ...]
    seconds: float

    def _compiled(self, var: str, steps: tuple[str, ...]) -> Callable[[Any], Any]:
        src = "def f(" + var + "):\n" + "".join(f"    {s}\n" for s in steps)
        src += f"    return {var}\n"
        scope: dict[str, Any] = {"np": np, **{name: _HELPER_SCOPE[name] for name in _HELPERS}}
        exec(compile(src, f"<port {self.to} transform>", "exec"), scope)
        fn: Callable[[Any], Any] = scope["f"]
        return fn

    def transform_input(self, x: Any) -> np.ndarray:
        """Input ``(N, C, *spatial)`` -> the target's input (pre-padded, permuted)."""
        return self._compiled("x", self.input_steps)(np.asarray(x))

    def transform_weight(self, weight: Any) -> np.ndarray:
        """PyTorch-layout weight -> the target's weight (permuted, flipped, regrouped)."""
        return self._compiled("w", self.weight_steps)(np.asarray(weight))

    def transform_output(self, y: Any) -> np.ndarray:
        """The target's output -> ``(N, C_out, *spatial)`` (permuted, cropped)."""
        return self._compiled("y", self.output_steps)(np.asarray(y))

    def run(self, x: Any, weight: Any = None, bias: Any = None) -> np.ndarray:
        """Execute :attr:`code` (imports the target framework) on batched NumPy input."""
        scope: dict[str, Any] = {}
        exec(compile(self.code, f"<port {self.to}>", "exec"), scope)
        if isinstance(self.source, PoolSpec):
            return np.asarray(scope["layer"](np.asarray(x)))
        return np.asarray(scope["layer"](np.asarray(x), np.asarray(weight), bias))


#: Helpers the printed snippets define when their steps call them (one source: printed and
#: executed): TF/JAX ``SAME`` pads for one axis, and ceil mode as zeros added at the end
#: (``span``: the padded size minus the window's span; a last window starting in the end
#: padding is dropped, as in :func:`convproof.layers.sizes.pool_out`, so the end padding
#: shrinks when that window lies in it alone: ceil mode then has fewer windows than floor).
_HELPERS = {
    "_same_pads": (
        "def _same_pads(n, k, s, d, upper):\n"
        "    total = max(0, (-(-n // s) - 1) * s + d * (k - 1) + 1 - n)\n"
        "    small = total // 2\n"
        "    return (small, total - small) if upper else (total - small, small)\n"
    ),
    "_ceil_pads": (
        "def _ceil_pads(n, k, s, d, pl, pr):\n"
        "    span = n + pl + pr - d * (k - 1) - 1\n"
        "    o = -(-span // s) + 1\n"
        "    o -= (o - 1) * s >= n + pl\n"
        "    return (pl, max(0, pr + (o - 1) * s - span))\n"
    ),
}
_HELPER_SCOPE: dict[str, Any] = {}
for _source in _HELPERS.values():
    exec(_source, _HELPER_SCOPE)


def _negative(spec: Spec) -> bool:
    """Whether ``spec`` has a negative explicit padding amount (a crop)."""
    return isinstance(spec.padding, tuple) and min(min(pair) for pair in spec.padding) < 0


def _pre_pad_steps(pads: Pairs | str, spec: Spec, mode: str, fill: str = "0") -> list[str]:
    """The input lines of a pre-pad: ``np.pad``, then a crop (slicing) for negative amounts.

    ``"per input"``: TF/JAX ``SAME`` pads computed from each input's shape.  ``fill``: the
    constant ``np.pad`` writes (``"-np.inf"`` for max pooling).
    """
    n = spec.ndim
    extra = f", constant_values={fill}" if fill != "0" else ""
    if isinstance(pads, str):  # "per input"
        ks, ss, ds = spec.kernel_size, spec.stride, spec.dilation
        upper = spec.padding == "SAME_UPPER"
        return [
            f"x = np.pad(x, [(0, 0), (0, 0)] + [_same_pads(x.shape[2 + j], {ks}[j], {ss}[j], "
            f"{ds}[j], {upper}) for j in range({n})], mode={_NP_MODES[mode]!r}{extra})"
        ]
    steps = []
    rest = tuple((max(0, pl), max(0, pr)) for pl, pr in pads)
    if any(map(any, rest)):
        steps.append(f"x = np.pad(x, {[(0, 0), (0, 0), *rest]!r}, mode={_NP_MODES[mode]!r}{extra})")
    if min(min(pair) for pair in pads) < 0:  # after the pad: a crop may reach into it
        cuts = [
            f"{max(0, -pl)}:" + (f"x.shape[{j + 2}] - {-pr}" if pr < 0 else "")
            for j, (pl, pr) in enumerate(pads)
        ]
        steps.append(f"x = x[:, :, {', '.join(cuts)}]  # negative padding: a crop")
    return steps


def _lp_input_steps(spec: Spec) -> list[str]:
    """Lp pooling built from a sum: raise ``v`` to ``p`` first (``v = x`` or ``|x|``).

    PyTorch's ``x.pow(p)`` is ``nan`` for a negative ``x`` and a non-integer ``p``; written
    with ``np.where`` so NumPy warns about nothing.
    """
    assert isinstance(spec, PoolSpec) and spec.norm_type is not None
    p = spec.norm_type
    if spec.legality == "onnx":
        return [f"x = np.abs(x) ** {p!r}"]
    if isinstance(p, int):
        return [f"x = x ** {p!r}"]
    return [f"x = np.where(x < 0, np.nan, np.abs(x) ** {p!r})"]


def _lp_ceil_steps(spec: PoolSpec, pads: Pairs) -> list[str]:
    """Ceil mode as zeros at the end (per input), for a target without ceil mode.

    PyTorch's Lp scales an overhanging window by ``prod(k) / taps inside``: a channel of
    ones, pooled alongside, counts the taps (:func:`_lp_output_steps` divides by it).
    """
    k, s, d = spec.kernel_size, spec.stride, spec.dilation
    steps = []
    if spec.legality == "pytorch":
        steps.append("x = np.concatenate([x, np.ones_like(x[:, :1])], axis=1)  # taps inside")
    steps.append(
        f"x = np.pad(x, [(0, 0), (0, 0)] + [_ceil_pads(x.shape[2 + j], {k}[j], {s}[j], {d}[j], "
        f"*{pads}[j]) for j in range({spec.ndim})])  # ceil mode"
    )
    return steps


def _lp_output_steps(spec: Spec, scale: int, ceil_pads: bool = False) -> list[str]:
    """The sum (``scale`` times the target's average) to the ``p``-th root: ``nan`` below 0.

    ``ceil_pads``: the input went through :func:`_lp_ceil_steps`; a PyTorch-profile Lp,
    pooled with a channel of ones, is scaled by ``prod(k) / taps inside`` (that channel).
    """
    assert isinstance(spec, PoolSpec) and spec.norm_type is not None
    steps = [f"y = y * {scale}"] if scale != 1 else []
    if ceil_pads and spec.ceil_mode and spec.legality == "pytorch":
        steps.append(f"y = y[:, :-1] * {math.prod(spec.kernel_size)} / y[:, -1:]")
    if spec.norm_type != 1:
        steps.append(f"y = np.where(y < 0, np.nan, np.abs(y) ** (1 / {spec.norm_type!r}))")
    return steps


def _helpers_source(input_steps: Sequence[str]) -> list[str]:
    """The :data:`_HELPERS` a snippet's steps call, as printed lines (else nothing)."""
    lines = []
    for name, source in _HELPERS.items():
        if any(name in step for step in input_steps):
            lines += ["", "", *source.splitlines()]
    return lines


def _with_padding(spec: Spec, padding: Any) -> Spec:
    data = spec.to_dict()
    data["padding"] = [list(p) for p in padding] if not isinstance(padding, str) else padding
    return spec_from_dict(data)


def _constant_pads(spec: Spec) -> Pairs | None:
    """The resolved padding when it does not depend on the input size, else None."""
    if not isinstance(spec.padding, str):
        return spec.padding
    if isinstance(spec, ConvTransposeSpec) or spec.padding in ("valid", "same", "full"):
        big = tuple(10 * e + 10 for e in spec.effective_kernel_size)
        return spec._resolve_named(spec.padding, big)
    return None


def _fn_name(spec: Spec, to: str) -> str:
    n = spec.ndim
    if to == "pytorch":
        if isinstance(spec, ConvSpec):
            return f"torch.nn.functional.conv{n}d"
        if isinstance(spec, ConvTransposeSpec):
            return f"torch.nn.functional.conv_transpose{n}d"
        return f"torch.nn.functional.{spec.kind}_pool{n}d"
    if to == "jax":
        return (
            "jax.lax.reduce_window"
            if isinstance(spec, PoolSpec)
            else ("jax.lax.conv_general_dilated")
        )
    if isinstance(spec, PoolSpec) and spec.kind == "lp":
        return "onnx.LpPool" if _native_onnx_lp(spec) else "onnx.AveragePool"
    if isinstance(spec, PoolSpec):
        return "onnx.MaxPool" if spec.kind == "max" else "onnx.AveragePool"
    return "onnx.ConvTranspose" if isinstance(spec, ConvTransposeSpec) else "onnx.Conv"


def _ort_negative_same(spec: Spec) -> bool:
    """Max pooling with a stride above its window: onnxruntime's SAME total goes negative."""
    return (
        isinstance(spec, PoolSpec)
        and spec.kind == "max"
        and any(s > e for s, e in zip(spec.stride, spec.effective_kernel_size))
    )


def _native_onnx_lp(spec: PoolSpec) -> bool:
    """ONNX ``LpPool`` computes ``spec`` itself: ``|x|`` (the ONNX profile) and an integer ``p``."""
    return spec.legality == "onnx" and isinstance(spec.norm_type, int)


def _refuse_lp(spec: PoolSpec, to: str) -> None:
    """The Lp pooling a target cannot compute (not here: ceil mode on JAX and TensorFlow)."""
    if to == "pytorch" and spec.legality == "onnx":
        if max(spec.dilation) > 1:
            raise _refuse(spec, to, "PyTorch's lp_pool has no dilation")
        if spec.ceil_mode and isinstance(spec.padding, str):
            raise _refuse(spec, to, "PyTorch's lp_pool scales a ceil-mode window overhanging "
                          "the input, ONNX's LpPool does not (explicit padding is ported "
                          "with the overhang as zeros; SAME with ceil mode is not)")  # fmt: skip
    if to == "onnx" and spec.legality == "onnx" and not _native_onnx_lp(spec) and spec.ceil_mode:
        raise _refuse(spec, to, "LpPool's p is an integer; the AveragePool form of a "
                      "non-integer p divides a ceil-mode overhang by its taps")  # fmt: skip


def _refuse(spec: Spec, to: str, why: str) -> ConvProofError:
    return ConvProofError(f"spec cannot be ported to to={to!r} yet: {why}, got spec={spec!r}")


def _within_target_rules(spec: Spec, to: str) -> Spec:
    """``spec``, or its PyTorch-rules twin when ``to`` refuses what ``spec``'s profile admits.

    Port works around the call rules of :mod:`convproof.layers.legality`, not the spec rules
    a target refuses: a spec whose profile (``"jax"``) admits empty outputs is ported as its
    ``legality="pytorch"`` twin (``"onnx"`` for a crop: same values wherever that is valid,
    so ``agrees_for`` leaves out the empty sizes; ``"onnx"`` for a max/average pool whose
    padding exceeds PyTorch's ``kernel_size // 2``: it is pre-padded).
    """
    if allows("empty_output", spec.legality) and not allows("empty_output", to):
        # a crop needs a profile admitting negative padding (the twin only states sizes)
        twin = "onnx" if _negative(spec) else "pytorch"
        try:
            return spec_from_dict({**spec.to_dict(), "legality": twin})
        except ConvProofError as exc:
            if not (isinstance(spec, PoolSpec) and spec.kind in ("max", "avg")):
                raise _refuse(spec, to, f"outside PyTorch's rules: {exc}") from None
        try:  # max/avg padding above kernel_size // 2 is pre-padded: the ONNX twin's sizes
            return spec_from_dict({**spec.to_dict(), "legality": "onnx"})
        except ConvProofError as exc:
            raise _refuse(spec, to, f"outside PyTorch's and ONNX's rules: {exc}") from None
    return spec


def port(spec: Spec, to: str, input_shape: Sequence[int] | None = None) -> Port:
    """Port a layer to ``to``, with the input sizes on which the port is exact.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    to : {"pytorch", "jax", "onnx", "tensorflow"}
    input_shape : tuple of int, optional
        ``(C, *spatial)`` or ``(N, C, *spatial)``.  When given, a size-dependent padding the
        target cannot name is fixed for this shape (and ``.agrees_for`` says where that is
        right); when omitted, the pre-pad computes it from each input.

    Returns
    -------
    Port

    Raises
    ------
    ConvProofError
        For an unknown framework or a layer the target cannot compute yet (stated).

    Examples
    --------
    >>> import convproof as cp
    >>> t = cp.ConvTransposeSpec(in_channels=4, out_channels=2, kernel_size=3, stride=2,
    ...                          padding=1, output_padding=1)
    >>> p = cp.port(t, to="jax")
    >>> p.params["lhs_dilation"], p.params["padding"]
    ((2, 2), ((1, 2), (1, 2)))
    >>> p.transform_weight(__import__("numpy").zeros((4, 2, 3, 3))).shape
    (3, 3, 4, 2)
    >>> print(p.agrees_for)
    axis 0: n >= 1; axis 1: n >= 1
    """
    t0 = time.perf_counter()
    if to not in FRAMEWORKS:
        raise ConvProofError(f"to must be one of {', '.join(map(repr, FRAMEWORKS))}, got to={to!r}")
    if not isinstance(spec, (ConvSpec, ConvTransposeSpec, PoolSpec)):
        raise ConvProofError(
            f"spec must be a ConvSpec, ConvTransposeSpec or PoolSpec, got {spec!r}"
        )
    if _negative(spec) and not isinstance(spec, ConvSpec):
        raise _refuse(spec, to, "negative padding (a crop) is ported for convolutions only")
    spec = _within_target_rules(spec, to)
    lp_spec = spec if isinstance(spec, PoolSpec) and spec.kind == "lp" else None
    lp = lp_spec is not None
    if lp_spec is not None:
        _refuse_lp(lp_spec, to)
    if input_shape is not None:
        spec.split_input_shape(input_shape)
    if to == "tensorflow":
        from convproof.frameworks.tensorflow_port import tensorflow_port

        return tensorflow_port(spec, input_shape, t0)
    n = spec.ndim
    mode = spec.padding_mode
    const = _constant_pads(spec)
    named = spec.padding if isinstance(spec.padding, str) else None
    size_dependent = const is None
    # -- the padding the target is given, and any explicit pre-pad ------------------------
    native: Any = None  # what the target's own padding argument says (None: zeros)
    pre_pad: Pairs | str | None = None
    target: Spec = spec
    # ceil mode as zeros at the end: JAX has none, PyTorch's lp_pool scales the overhang
    lp_ceil = (
        lp_spec is not None
        and lp_spec.ceil_mode
        and not size_dependent
        and (to == "jax" or (to == "pytorch" and lp_spec.legality == "onnx"))
    )
    # max/avg pooling the target cannot name: pre-padded (-inf / zeros, a mask channel)
    pool_pre = isinstance(spec, PoolSpec) and needs_pre_pad(spec, to, const)
    pool_in_steps: list[str] = []
    pool_out_steps: list[str] = []
    if isinstance(spec, PoolSpec) and to == "jax" and spec.ceil_mode and not (lp_ceil or pool_pre):
        raise _refuse(spec, to, "ceil_mode pooling has no reduce_window form (size-dependent pad)")
    if pool_pre:
        assert isinstance(spec, PoolSpec)
        pool_in_steps, pool_out_steps, pre_pad, target = pool_pre_pad_steps(
            spec, const, input_shape
        )
        native = 0
    elif lp_ceil:
        pre_pad, native = "per input", 0  # the explicit padding and ceil mode's end zeros
    elif mode != "zeros" or (
        to == "pytorch"
        and not isinstance(spec, ConvTransposeSpec)
        and (not isinstance(spec, PoolSpec) or lp)
        and (
            size_dependent
            or any(pl != pr or (lp and pl) or pl < 0 for pl, pr in (const or ()))  # crop: slice
        )
    ):
        if size_dependent and input_shape is not None:
            fixed = spec.resolve_padding(input_shape)
            target = _with_padding(spec, fixed)
            if mode == "zeros" and all(pl == pr for pl, pr in fixed) and not lp:
                native = fixed  # PyTorch's own symmetric padding, fixed for this shape
            else:
                pre_pad = fixed
        elif size_dependent:
            pre_pad = "per input"
        else:
            pre_pad = const
        if pre_pad is not None:
            native = 0
    elif size_dependent and to == "onnx" and (max(spec.dilation) > 1 or _ort_negative_same(spec)):
        # onnxruntime refuses auto_pad SAME with dilation for Conv, and for pooling leaves the
        # dilation out of the SAME total; its MaxPool takes a negative SAME total when the
        # stride exceeds the window (all found by tests/test_port.py): fix the padding for
        # the given shape, or refuse
        if input_shape is None:
            why = (
                "onnxruntime's auto_pad SAME ignores dilation; give input_shape to fix it"
                if max(spec.dilation) > 1
                else "onnxruntime's MaxPool refuses auto_pad SAME with a stride above the "
                "window on some sizes; give input_shape to fix it"
            )
            raise _refuse(spec, to, why)
        native = spec.resolve_padding(input_shape)
        target = _with_padding(spec, native)
    elif size_dependent:
        native = named  # jax / onnx name SAME themselves
    else:
        native = const
    if (
        isinstance(spec, PoolSpec)
        and to == "pytorch"
        and spec.kind == "avg"
        and any(d != 1 for d in spec.dilation)
    ):
        raise _refuse(spec, to, "PyTorch average pooling has no dilation")
    # -- steps ---------------------------------------------------------------------------
    input_steps: list[str] = []
    if pool_pre:
        input_steps += pool_in_steps
    elif pre_pad is not None and not lp_ceil:
        input_steps += _pre_pad_steps(pre_pad, spec, mode)
    if (
        lp_spec is not None
        and (to != "pytorch" or spec.legality == "onnx")
        and not (to == "onnx" and _native_onnx_lp(lp_spec))
    ):
        # the target sums (or averages) v**p: PyTorch's lp_pool raises x itself, so an ONNX
        # profile Lp (|x|) is given |x|
        input_steps += ["x = np.abs(x)"] if to == "pytorch" else _lp_input_steps(spec)
    if lp_spec is not None and lp_ceil:
        assert const is not None
        input_steps += _lp_ceil_steps(lp_spec, const)
    channels_last = to == "jax"
    to_last = (0, *range(2, n + 2), 1)
    to_first = (0, n + 1, *range(1, n + 1))
    if channels_last:
        input_steps.append(f"x = np.transpose(x, {to_last})")
    weight_steps: list[str] = []
    output_steps: list[str] = []
    params: dict[str, Any] = {}
    k, s, d = spec.kernel_size, spec.stride, spec.dilation
    if isinstance(spec, ConvTransposeSpec):
        pads = const
        assert pads is not None
        op = spec.output_padding
        if to == "jax":
            g, cin, cout = spec.groups, spec.in_channels, spec.out_channels
            weight_steps += [
                f"w = w.reshape(({g}, {cin // g}, {cout // g}) + w.shape[2:])",
                "w = np.swapaxes(w, 1, 2)",
                f"w = w.reshape(({cout}, {cin // g}) + w.shape[3:])",
                f"w = np.flip(w, axis={tuple(range(2, n + 2))})",
                f"w = np.transpose(w, {(*range(2, n + 2), 1, 0)})",
            ]
            params = dict(
                window_strides=(1,) * n,
                padding=tuple(
                    (dd * (kk - 1) - pl, dd * (kk - 1) - pr + o)
                    for kk, dd, (pl, pr), o in zip(k, d, pads, op)
                ),
                lhs_dilation=s,
                rhs_dilation=d,
                dimension_numbers=_dims(n),
                feature_group_count=spec.groups,
            )
        elif to == "onnx":
            # onnxruntime needs output_padding < stride (PyTorch: < stride or < dilation);
            # a larger one is the same layer with that much less padding at the end
            ends, ops = [], []
            for (_, pr), extra, step in zip(pads, op, s):
                if extra >= step and pr < extra:
                    why = (
                        f"output_padding {extra} >= stride {step} exceeds the end padding {pr} "
                        "(onnxruntime needs output_padding < stride)"
                    )
                    raise _refuse(spec, to, why)
                ends.append(pr - extra if extra >= step else pr)
                ops.append(0 if extra >= step else extra)
            params = dict(
                kernel_shape=list(k), strides=list(s), dilations=list(d), group=spec.groups,
                pads=[p[0] for p in pads] + ends, output_padding=ops,
            )  # fmt: skip
        else:
            sym = all(pl == pr for pl, pr in pads)
            params = dict(
                stride=s, padding=tuple(pl for pl, _ in pads) if sym else 0,
                output_padding=op, groups=spec.groups, dilation=d,
            )  # fmt: skip
            if not sym:
                crop = ", ".join(f"{pl}:y.shape[{j + 2}] - {pr}" for j, (pl, pr) in enumerate(pads))
                output_steps.append(f"y = y[:, :, {crop}]")
    elif isinstance(spec, ConvSpec):
        if to == "jax":
            weight_steps.append(f"w = np.transpose(w, {(*range(2, n + 2), 1, 0)})")
            params = dict(
                window_strides=s,
                padding=_jax_padding(native, n),
                rhs_dilation=d,
                dimension_numbers=_dims(n),
                feature_group_count=spec.groups,
            )
        elif to == "onnx":
            params = dict(kernel_shape=list(k), strides=list(s), dilations=list(d),
                          group=spec.groups, **_onnx_padding(native, n))  # fmt: skip
        else:
            params = dict(stride=s, padding=_torch_padding(native), dilation=d, groups=spec.groups)
    elif lp:
        assert isinstance(spec, PoolSpec)
        params, steps = _lp_pool_call(spec, to, native)
        output_steps += steps
    else:
        if to == "jax":
            params = dict(
                init_value="-inf" if spec.kind == "max" else 0.0,
                computation="jax.lax.max" if spec.kind == "max" else "jax.lax.add",
                window_dimensions=(1, *k, 1),
                window_strides=(1, *s, 1),
                padding=_jax_padding(native, n, pool=True),
                window_dilation=(1, *d, 1),
            )
            if spec.kind == "avg":
                output_steps.append(f"y = y / {math.prod(k)}")
        elif to == "onnx":
            params = dict(kernel_shape=list(k), strides=list(s), dilations=list(d),
                          ceil_mode=int(spec.ceil_mode and not pool_pre),
                          **_onnx_padding(native, n))  # fmt: skip
            if spec.kind == "avg":
                params["count_include_pad"] = int(spec.count_include_pad)
            else:
                # onnxruntime fills a window lying entirely in the padding with the lowest
                # float, PyTorch and convproof with -inf (found by tests/test_port.py)
                output_steps.append("y = np.where(y == np.finfo(y.dtype).min, -np.inf, y)")
        else:
            params = dict(kernel_size=k, stride=s, padding=_torch_padding(native),
                          ceil_mode=spec.ceil_mode and not pool_pre)  # fmt: skip
            if spec.kind == "max":
                params["dilation"] = d
            else:
                params["count_include_pad"] = spec.count_include_pad
    if channels_last:
        output_steps.insert(0, f"y = np.transpose(y, {to_first})")
    output_steps += pool_out_steps
    code = _render(spec, to, _fn_name(spec, to), params, input_steps, weight_steps, output_steps)
    return Port(
        source=spec,
        to=to,
        function=_fn_name(spec, to),
        params=params,
        pre_pad=pre_pad,
        target=target,
        agrees_for=agreement(spec, target),
        code=code,
        input_steps=tuple(input_steps),
        weight_steps=tuple(weight_steps),
        output_steps=tuple(output_steps),
        seconds=time.perf_counter() - t0,
    )


def _lp_pool_call(spec: PoolSpec, to: str, native: Any) -> tuple[dict[str, Any], list[str]]:
    """The target call's parameters for Lp pooling, and the output steps after it.

    PyTorch: ``lp_pool`` (itself, or on ``|x|`` pre-padded for an ONNX-profile Lp).  ONNX:
    ``LpPool`` for the ONNX profile with an integer ``p``, else ``AveragePool`` of ``v**p``
    (without padding in the divisor: PyTorch's ``prod(k) / taps inside`` scaling of a
    ceil-mode overhang) times ``prod(k)``.  JAX: ``reduce_window`` sum of ``v**p``.  Then
    the ``p``-th root.
    """
    n, p = spec.ndim, spec.norm_type
    k, s, d = spec.kernel_size, spec.stride, spec.dilation
    if to == "pytorch":  # lp_pool1d multiplies by kernel_size itself: an int there
        one = n == 1
        kw = dict(kernel_size=k[0] if one else k, stride=s[0] if one else s)
        ceil = spec.ceil_mode and spec.legality == "pytorch"  # ONNX's: zeros pre-padded
        return dict(norm_type=p, **kw, ceil_mode=ceil), []
    if to == "jax":
        params = dict(
            init_value=0.0, computation="jax.lax.add", window_dimensions=(1, *k, 1),
            window_strides=(1, *s, 1), padding=_jax_padding(native, n, pool=True),
            window_dilation=(1, *d, 1),
        )  # fmt: skip
        return params, _lp_output_steps(spec, 1, ceil_pads=True)
    params = dict(kernel_shape=list(k), strides=list(s), dilations=list(d),
                  ceil_mode=int(spec.ceil_mode), **_onnx_padding(native, n))  # fmt: skip
    if _native_onnx_lp(spec):
        return {**params, "p": p}, []
    params["count_include_pad"] = int(spec.legality == "onnx")
    return params, _lp_output_steps(spec, math.prod(k))


def _dims(n: int) -> tuple[str, str, str]:
    sp = "DHW"[3 - n :]
    return (f"N{sp}C", f"{sp}IO", f"N{sp}C")


def _jax_padding(native: Any, n: int, pool: bool = False) -> Any:
    if isinstance(native, str):
        name = {"valid": "VALID", "SAME_UPPER": "SAME", "SAME_LOWER": "SAME_LOWER"}[native]
        return name
    pairs = ((0, 0),) * n if native == 0 else native
    return (((0, 0), *pairs, (0, 0))) if pool else tuple(pairs)


def _onnx_padding(native: Any, n: int) -> dict[str, Any]:
    if isinstance(native, str):
        return {"auto_pad": {"valid": "VALID"}.get(native, native)}
    pairs = ((0, 0),) * n if native == 0 else native
    return {"pads": [p[0] for p in pairs] + [p[1] for p in pairs]}


def _torch_padding(native: Any) -> Any:
    if isinstance(native, str):
        return native  # "valid" (PyTorch's own name)
    if native == 0:
        return 0
    return tuple(pl for pl, _ in native)


def _render(
    spec: Spec,
    to: str,
    fn: str,
    params: dict[str, Any],
    input_steps: list[str],
    weight_steps: list[str],
    output_steps: list[str],
) -> str:
    pool = isinstance(spec, PoolSpec)
    lines = ["import numpy as np"]
    if to == "pytorch":
        lines.append("import torch")
    elif to == "jax":
        lines += ["import jax", "import jax.numpy as jnp"]
    else:
        lines += ["import onnx", "import onnxruntime", "from onnx import TensorProto, helper"]
    lines += _helpers_source(input_steps)
    sig = "x" if pool else "x, weight, bias=None"
    lines += [
        "",
        "",
        f"def layer({sig}):",
        f'    """{spec!r}: (N, C, *spatial) in and out."""',
    ]
    lines += [f"    {s}" for s in input_steps]
    if not pool:
        lines.append("    w = weight")
        lines += [f"    {s}" for s in weight_steps]
    if to == "pytorch":
        args = "torch.from_numpy(np.ascontiguousarray(x))"
        if not pool:
            args += ", torch.from_numpy(np.ascontiguousarray(w))"
            args += ", None if bias is None else torch.from_numpy(np.asarray(bias))"
        kw = ", ".join(f"{key}={v!r}" for key, v in params.items())
        lines.append(f"    y = {fn}({args}, {kw}).numpy()")
    elif to == "jax":
        if pool:
            kw = ", ".join(
                f"{key}={v}" if key == "computation" else f"{key}={v!r}"
                for key, v in params.items()
                if key != "init_value"
            )
            init = "-jnp.inf" if params["init_value"] == "-inf" else "0.0"
            lines.append(f"    y = np.asarray({fn}(jnp.asarray(x), {init}, {kw}))")
        else:
            kw = ", ".join(f"{key}={v!r}" for key, v in params.items())
            lines.append(f"    y = np.asarray({fn}(jnp.asarray(x), jnp.asarray(w), {kw}))")
            lines.append("    if bias is not None:")
            lines.append("        y = y + np.asarray(bias)")
    else:
        op = fn.split(".")[1]
        kw = ", ".join(f"{key}={v!r}" for key, v in params.items())
        inputs = '["x"]' if pool else '["x", "w"] + ([] if bias is None else ["b"])'
        lines += [
            f"    node = helper.make_node({op!r}, {inputs}, ['y'], {kw})",
            "    feeds = {'x': np.asarray(x, dtype=np.float32)}",
        ]
        if not pool:
            lines += [
                "    feeds['w'] = np.asarray(w, dtype=np.float32)",
                "    if bias is not None:",
                "        feeds['b'] = np.asarray(bias, dtype=np.float32)",
            ]
        lines += [
            "    graph = helper.make_graph(",
            "        [node], 'port',",
            "        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None)",
            "         for name in feeds],",
            "        [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)])",
            "    model = helper.make_model(",
            f"        graph, opset_imports=[helper.make_opsetid('', {_ONNX_OPSET})])",
            "    session = onnxruntime.InferenceSession(",
            "        model.SerializeToString(), providers=['CPUExecutionProvider'])",
            "    y = session.run(None, feeds)[0]",
        ]
    lines += [f"    {s}" for s in output_steps]
    lines.append("    return y")
    return "\n".join(lines) + "\n"
