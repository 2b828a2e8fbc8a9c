"""The call boundary of the checkers: how the user's function is called and what it may be.

The problem's arrays are passed in one of :data:`LAYOUTS` (fresh copies), with PyTorch's
functional keyword arguments (:func:`_call_kwargs`).  Every call is first bound to the
function's signature, so a call it cannot take is an error, never a counterexample; a PyTorch
function (or code computing with tensors) gets torch tensors and its tensors come back as
NumPy arrays (:class:`_Boundary`).

Examples
--------
>>> from convproof.testing.calling import LAYOUTS
>>> LAYOUTS
('C', 'F', 'strided')
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.testing.strategies import ConvProblem

__all__ = ["LAYOUTS"]

#: Memory layouts the arrays are passed in: C-contiguous, Fortran-ordered, or a
#: non-contiguous view (every other element of a buffer twice as long on the last axis).
LAYOUTS = ("C", "F", "strided")
_LAYOUT_TEXT = {
    "C": "C-contiguous arrays",
    "F": "Fortran-ordered x and weight",
    "strided": "non-contiguous strided views (every other element of a larger buffer)",
}


# --------------------------------------------------------------------------------------
# the signature, and PyTorch callables
# --------------------------------------------------------------------------------------


class _SignatureError(ConvProofError):
    """The user's function cannot be called the way the checker calls it (not a result)."""


def _is_torch_callable(fn: Any) -> bool:
    """Whether ``fn`` is a PyTorch function or module (defined in ``torch``; never imports it)."""
    if "torch" not in sys.modules:
        return False
    for obj in (fn, type(fn)):
        module = getattr(obj, "__module__", None)
        if isinstance(module, str) and (module == "torch" or module.startswith("torch.")):
            return True
    return False


def _is_torch_value(v: Any) -> bool:
    module = type(v).__module__
    return module == "torch" or module.startswith("torch.")


def _to_torch(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """NumPy arrays as torch tensors (sharing memory; the checkers pass fresh copies)."""
    import torch

    return tuple(torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args)


def _from_torch(out: Any) -> Any:
    """Torch tensors in a result (alone, or in a tuple or list) as NumPy arrays."""
    if isinstance(out, tuple | list):
        return type(out)(_from_torch(v) for v in out)
    if _is_torch_value(out) and hasattr(out, "detach"):
        return out.detach().cpu().numpy()
    return out


def _signature(fn: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # builtins (PyTorch's C functions) have none
        return None


def _call_text(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    def text(a: Any) -> str:
        if isinstance(a, np.ndarray):
            return f"<array {tuple(a.shape)}>"
        return repr(a)

    return f"fn({', '.join([*map(text, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"


class _Boundary:
    """The user's function as the checkers call it.

    Every call is first bound to ``fn``'s signature: a call it cannot take is a
    :class:`_SignatureError`, never a counterexample.  A PyTorch callable gets torch
    tensors: ``fn`` defined in ``torch`` at once; any other after its NumPy call raised a
    ``TypeError`` or ``AttributeError`` and the same call with tensors worked (decided once,
    by the call before the run).  Torch results become NumPy arrays.
    """

    _convproof_boundary = True

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.signature = _signature(fn)
        self.torch: bool | None = True if _is_torch_callable(fn) else None
        self.probing = False

    def set_probing(self, probing: bool) -> None:
        self.probing = probing
        if not probing and self.torch is None:
            self.torch = False  # NumPy or PyTorch is decided by the call before the run

    def _refuse(self, args: tuple[Any, ...], kwargs: dict[str, Any], exc: BaseException) -> Any:
        name = getattr(self.fn, "__name__", None) or type(self.fn).__name__
        sig = ""
        if self.signature is not None:  # parameters and defaults, without annotations
            empty = inspect.Parameter.empty
            plain = [p.replace(annotation=empty) for p in self.signature.parameters.values()]
            sig = str(self.signature.replace(parameters=plain, return_annotation=empty))
        raise _SignatureError(
            f"fn must accept the checker's call {_call_text(args, kwargs)}, got fn={name}{sig} "
            f"({type(exc).__name__}: {exc})"
        ) from None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.signature is not None:
            try:
                self.signature.bind(*args, **kwargs)
            except TypeError as exc:
                self._refuse(args, kwargs, exc)
        if self.torch:
            try:
                return _from_torch(self.fn(*_to_torch(args), **kwargs))
            except TypeError as exc:
                if self.probing and exc.__traceback__ and exc.__traceback__.tb_next is None:
                    self._refuse(args, kwargs, exc)  # refused at the call itself
                raise
        try:
            out = self.fn(*args, **kwargs)
        except (TypeError, AttributeError) as exc:
            if self.torch is False or "torch" not in sys.modules:
                raise  # torch not imported: the function cannot be a PyTorch one
            try:
                out = self.fn(*_to_torch(args), **kwargs)
            except Exception:
                raise exc from None
            self.torch = True
            return _from_torch(out)
        self.torch = False
        return _from_torch(out)


def _probe_problem(
    kind: str, ndim: int, dtype: str, pool: str = "max", spec: Any = None, rules: str = "pytorch"
) -> ConvProblem:
    """A small problem, all ones: ``spec`` (a layer the user listed) on the smallest input
    its kernel fits, else a 1-tap layer of ``kind`` (``pool``: the pooling kind; ``rules``: its
    legality profile, which the call's keywords depend on) on a 1x1x2x..x2 input."""
    dt = np.dtype(dtype)
    if spec is None:
        kernel = (1,) * ndim
        if kind == "conv":
            spec = ConvSpec(in_channels=1, out_channels=1, kernel_size=kernel, ndim=ndim)
        elif kind == "conv_transpose":
            spec = ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=kernel, ndim=ndim)
        else:
            norm = 1 if pool == "lp" else None  # some Lp pool (p = 1 also has a backward)
            spec = PoolSpec(
                kind=pool, kernel_size=kernel, ndim=ndim, norm_type=norm, legality=rules
            )
        sizes: tuple[int, ...] = (2,) * ndim
    else:
        sizes = tuple(d * (k - 1) + 1 for k, d in zip(spec.kernel_size, spec.dilation))
    channels = 1 if isinstance(spec, PoolSpec) else spec.in_channels
    shape = (1, channels, *sizes)
    x = np.ones(shape, dtype=dt)
    if isinstance(spec, PoolSpec):
        return ConvProblem(spec, shape, x, None, None)
    bias = np.ones(spec.out_channels, dtype=dt) if spec.bias else None
    return ConvProblem(spec, shape, x, np.ones(spec.weight_shape, dtype=dt), bias)


# --------------------------------------------------------------------------------------
# the arguments of a call
# --------------------------------------------------------------------------------------


def _scalar(value: Any) -> Any:
    """One int for a per-axis tuple whose entries are all equal (else the value itself)."""
    if isinstance(value, tuple) and value and all(v == value[0] for v in value):
        return value[0]
    return value


def _padding_arg(spec: Any, input_shape: tuple[int, ...], scalar_args: bool = False) -> Any:
    if scalar_args and spec.padding in ("valid", "same"):
        return spec.padding
    pads = spec.resolve_padding(input_shape)
    if all(a == b for a, b in pads) and not isinstance(spec.padding, str):
        per_axis = tuple(a for a, _ in pads)
        return _scalar(per_axis) if scalar_args else per_axis
    return pads


def _call_kwargs(problem: ConvProblem, scalar_args: bool) -> dict[str, Any]:
    spec = problem.spec
    pad = _padding_arg(spec, problem.input_shape, scalar_args)
    if isinstance(spec, ConvSpec):
        kw: dict[str, Any] = {
            "stride": spec.stride,
            "padding": pad,
            "dilation": spec.dilation,
            "groups": spec.groups,
        }
        if spec.padding_mode != "zeros":
            kw["padding_mode"] = spec.padding_mode
    elif isinstance(spec, ConvTransposeSpec):
        kw = {
            "stride": spec.stride,
            "padding": pad,
            "output_padding": spec.output_padding,
            "groups": spec.groups,
            "dilation": spec.dilation,
        }
    else:
        kw = {"kernel_size": spec.kernel_size, "stride": spec.stride, "padding": pad}
        if spec.kind == "lp":  # F.lp_pool2d(x, norm_type, kernel_size, stride, ceil_mode)
            kw = {"norm_type": spec.norm_type, "kernel_size": spec.kernel_size,
                  "stride": spec.stride, "ceil_mode": spec.ceil_mode}  # fmt: skip
            if spec.legality != "pytorch":  # ONNX LpPool: pads and dilations too
                kw.update(padding=pad, dilation=spec.dilation)
        elif spec.kind == "max":
            kw["dilation"] = spec.dilation
            kw["ceil_mode"] = spec.ceil_mode
        else:
            kw["ceil_mode"] = spec.ceil_mode
            kw["count_include_pad"] = spec.count_include_pad
    if scalar_args:
        kw = {k: v if k == "padding" else _scalar(v) for k, v in kw.items()}
    return kw


def _laid_out(a: np.ndarray | None, layout: str) -> np.ndarray | None:
    """A fresh copy of ``a`` in ``layout`` (the function may not change the problem)."""
    if a is None:
        return None
    if layout == "F":
        return np.asfortranarray(a.copy())
    if layout == "strided":
        base = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), dtype=a.dtype)
        base[..., ::2] = a
        return base[..., ::2]
    return a.copy()


def _call_args(problem: ConvProblem, layout: str = "C") -> tuple[Any, ...]:
    if isinstance(problem.spec, PoolSpec):
        return (_laid_out(problem.x, layout),)
    return (
        _laid_out(problem.x, layout),
        _laid_out(problem.weight, layout),
        _laid_out(problem.bias, layout),
    )
