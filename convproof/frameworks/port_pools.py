"""Max and average pooling a target cannot name, ported as an explicit pre-pad.

PyTorch pooling has symmetric padding of at most ``kernel_size // 2`` and no ``SAME``; JAX
and TensorFlow have no ceil mode, and an average that leaves explicit padding out of its
divisor has no JAX (nor, but for TF's own ``SAME``, TensorFlow) form; onnxruntime's such
average is 0, not ``nan``, on a window without input taps (dilated, or padding >= kernel).
Each is ported the same way: the padding (the spec's pairs, ``SAME`` computed per input by
``_same_pads``, or fixed for a given ``input_shape``) and ceil mode's overhang
(``_ceil_pads``: the windows PyTorch's rule keeps, the last one starting inside the input or
the left padding) are written into the input by ``np.pad``, and the target pools with
padding 0 and no ceil mode:

- max pooling pads with ``-inf``: exact for every input (a window lying in the padding alone
  is ``-inf`` in the source too);
- an average counting its explicit padding pads with zeros; without ceil mode the target's
  divisor ``prod(kernel_size)`` is the source's;
- otherwise (ceil mode's overhang, which no average counts, or ``count_include_pad=False``) a
  channel of ones pooled alongside (ones where the divisor counts a tap, zeros elsewhere)
  gives the divisor: ``y[:, :-1] / y[:, -1:]``, the sum pool of the zero-padded input
  over the sum pool of the mask.  Exact up to float rounding (one more division); ``nan``
  where the source divides by no tap (a window lying in the excluded padding alone).
"""

from __future__ import annotations

from collections.abc import Sequence

from convproof.layers.spec import PoolSpec, spec_from_dict

__all__: list[str] = []

#: The average over the mask's average (nan, without a warning, where no tap is counted)
_DIVIDE = (
    "y = np.divide(y[:, :-1], y[:, -1:], out=np.full_like(y[:, :-1], np.nan), "
    "where=y[:, -1:] > 0)  # the divisor: the mask's pool"
)

Pairs = tuple[tuple[int, int], ...]


def needs_pre_pad(spec: PoolSpec, to: str, pads: Pairs | None, native_same: bool = False) -> bool:
    """Whether max/avg pooling ``spec`` goes to ``to`` through :func:`pool_pre_pad_steps`.

    ``pads``: the resolved constant padding (None: size-dependent).  ``native_same``: the
    target names ``spec``'s ``SAME`` itself (TensorFlow's excluding average).
    """
    excluded = spec.kind == "avg" and not spec.count_include_pad
    if spec.kind not in ("max", "avg"):
        return False
    if to == "onnx":  # onnxruntime's excluding average is 0 on a window without input taps
        padded = pads is None or any(map(any, pads)) or spec.ceil_mode
        big = pads is not None and any(max(p) >= kk for p, kk in zip(pads, spec.kernel_size))
        return excluded and padded and (max(spec.dilation) > 1 or big)
    if to == "pytorch":
        return pads is None or any(
            pl != pr or pl > kk // 2 for (pl, pr), kk in zip(pads, spec.kernel_size)
        )
    if spec.ceil_mode:
        return True
    return excluded and (any(map(any, pads)) if pads is not None else not native_same)


def pool_pre_pad_steps(
    spec: PoolSpec, pads: Pairs | None, input_shape: Sequence[int] | None
) -> tuple[list[str], list[str], Pairs | str, PoolSpec]:
    """Input steps, output steps, ``pre_pad`` and target spec of the explicit-padding port.

    After the input steps the target pools with padding 0, without ceil mode (an average
    dividing by ``prod(kernel_size)``); the output steps (after moving back to channels
    first) divide by the mask channel when there is one.  A size-dependent padding is fixed
    for ``input_shape`` when given (the target spec then says so, and ``agrees_for`` where
    it is right), else computed per input.
    """
    n, k, s, d = spec.ndim, spec.kernel_size, spec.stride, spec.dilation
    target = spec
    if pads is None and input_shape is not None:
        pads = spec.resolve_padding(input_shape)
        data = spec.to_dict()
        data["padding"] = [list(p) for p in pads]
        fixed = spec_from_dict(data)
        assert isinstance(fixed, PoolSpec)
        target = fixed
    if pads is None:
        upper = spec.padding == "SAME_UPPER"
        e = f"[_same_pads(x.shape[2 + j], {k}[j], {s}[j], {d}[j], {upper}) for j in range({n})]"
    else:
        e = repr([tuple(p) for p in pads])
    steps = [f"e = {e}  # the padding"]
    pre_pad: Pairs | str = "per input" if pads is None or spec.ceil_mode else pads
    if spec.ceil_mode:
        steps.append(
            f"c = [_ceil_pads(x.shape[2 + j], {k}[j], {s}[j], {d}[j], *e[j]) "
            f"for j in range({n})]  # and ceil mode's overhang"
        )
    else:
        steps.append("c = e")
    mask = spec.kind == "avg" and (spec.ceil_mode or not spec.count_include_pad)
    if mask:
        counted = int(spec.count_include_pad)
        steps.append(
            "m = np.pad(np.ones_like(x[:, :1]), [(0, 0), (0, 0)] + e, "
            f"constant_values={counted})  # the taps the divisor counts"
        )
    if mask and spec.ceil_mode:  # the overhang: never counted (end padding a dropped window
        steps.append(  # lies in alone: cut below, with the input's)
            "m = np.pad(m, [(0, 0), (0, 0)] + [(0, max(0, b - a)) for (_, a), (_, b) in zip(e, c)])"
        )
    fill = "-np.inf" if spec.kind == "max" else "0"
    steps.append(f"x = np.pad(x, [(0, 0), (0, 0)] + c, constant_values={fill})")
    if mask:
        cut = "m[(..., *(slice(0, v) for v in x.shape[2:]))]" if spec.ceil_mode else "m"
        steps.append(f"x = np.concatenate([x, {cut}], axis=1)")
    output_steps = [_DIVIDE] if mask else []
    return steps, output_steps, pre_pad, target
