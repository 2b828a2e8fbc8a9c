"""PyTorch modules in and out: :func:`spec_from_torch`, :func:`torch_module` and
:func:`weights_from_torch`.

convproof's specs use PyTorch's semantics, so a spec and the ``torch.nn`` module it names
compute the same function; ``tests/test_torch_modules.py`` checks both directions (the
round trip over generated specs, and the built module's forward against
:func:`convproof.conv` on generated problems).  torch is imported only when a module is
built or read.

=========================================  ===============================================
``torch.nn``                               convproof
=========================================  ===============================================
``Conv{1,2,3}d``                           :class:`ConvSpec` (every ``padding_mode``;
                                           ``padding`` ints, tuples, ``"same"``, ``"valid"``)
``ConvTranspose{1,2,3}d``                  :class:`ConvTransposeSpec` (``output_padding``,
                                           groups, dilation)
``MaxPool{1,2,3}d``                        :class:`PoolSpec` ``kind="max"`` (dilation,
                                           ceil mode; ``return_indices=True``: the spec is
                                           the values output, the indices are
                                           :func:`convproof.max_pool_indices`)
``AvgPool{1,2,3}d``                        :class:`PoolSpec` ``kind="avg"``
                                           (``count_include_pad``, ceil mode; a
                                           ``divisor_override`` only where it is the
                                           divisor anyway, else refused)
``LPPool{1,2,3}d``                         :class:`PoolSpec` ``kind="lp"``, ``norm_type``
=========================================  ===============================================

Building a module (:func:`torch_module`) refuses what one module cannot say: per-side
(asymmetric) padding and a size-dependent ``"SAME_UPPER"``/``"SAME_LOWER"``
(:func:`convproof.port` with ``to="pytorch"`` pre-pads or crops instead), and specs of
another legality profile that break PyTorch's rules or mean something else there (ONNX's
Lp pooling).  Named paddings that do not depend on the input size are passed as the amounts
they stand for (``"full"``, a transposed conv's ``"SAME_UPPER"``) or as PyTorch's
``"same"`` when they equal it, so the module read back has the explicit padding.

Examples
--------
>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3, padding=1,
...                    padding_mode="reflect")
>>> import pytest; torch = pytest.importorskip("torch")
>>> module = cp.torch_module(spec)
>>> module
Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), padding_mode=reflect)
>>> cp.spec_from_torch(module) == spec
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec, spec_from_dict

__all__ = ["TORCH_MODULES", "spec_from_torch", "torch_module", "weights_from_torch"]

Spec = ConvSpec | ConvTransposeSpec | PoolSpec
Pairs = tuple[tuple[int, int], ...]

#: The ``torch.nn`` class names :func:`spec_from_torch` reads (and :func:`torch_module` builds).
TORCH_MODULES = tuple(
    f"{family}{n}d"
    for family in ("Conv", "ConvTranspose", "MaxPool", "AvgPool", "LPPool")
    for n in (1, 2, 3)
)
_POOLS = {"MaxPool": "max", "AvgPool": "avg", "LPPool": "lp"}


# --------------------------------------------------------------------------------------
# module -> spec
# --------------------------------------------------------------------------------------


def _torch_family(module: Any) -> tuple[str, int, type] | None:
    """``(family, ndim, torch base class)`` of a module of a class in :data:`TORCH_MODULES`
    or a subclass of one (None: none of them)."""
    for cls in type(module).__mro__:
        if cls.__module__.startswith("torch.nn.modules.") and cls.__name__ in TORCH_MODULES:
            return cls.__name__[:-2], int(cls.__name__[-2]), cls
    return None


def _ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def module_spec(module: Any, *, strict: bool = True) -> Spec | None:
    """The spec of a conv, transposed-conv or pooling module; None for other modules.

    ``strict=False`` is the network importer's reading (shapes only): subclasses that
    replace ``forward`` and a pool's ``divisor_override`` are accepted as their torch base
    class.  :func:`spec_from_torch` is the strict reading.
    """
    found = _torch_family(module)
    if found is None:
        return None
    family, ndim, base = found
    name = type(module).__name__
    if strict and type(module) is not base:
        for method in ("forward", "_conv_forward"):
            if getattr(type(module), method, None) is not getattr(base, method, None):
                raise ConvProofError(
                    f"module must compute what torch.nn.{base.__name__} computes, got a "
                    f"subclass {name} that overrides {method}() (its values may differ from "
                    f"the spec's)"
                )
    if family in ("Conv", "ConvTranspose") and (
        module.in_channels == 0
        or any(p.__class__.__name__ == "UninitializedParameter" for p in module.parameters())
    ):
        raise ConvProofError(
            f"module must have its parameters initialised, got a lazy {name} whose in_channels "
            f"is not known yet (run one forward pass first)"
        )
    hooks = [h for h in ("_forward_hooks", "_forward_pre_hooks") if getattr(module, h, None)]
    if strict and hooks:
        raise ConvProofError(
            f"module must have no forward hooks (they may change its values), got {name} with "
            f"{' and '.join(hooks)}"
        )
    if family in ("Conv", "ConvTranspose"):
        return _conv_spec(module, family, ndim, name)
    return _pool_spec(module, _POOLS[family], ndim, name, strict)


def _conv_spec(mod: Any, family: str, ndim: int, name: str) -> Spec:
    fields: dict[str, Any] = dict(
        in_channels=mod.in_channels,
        out_channels=mod.out_channels,
        kernel_size=_ints(mod.kernel_size),
        stride=_ints(mod.stride),
        dilation=_ints(mod.dilation),
        groups=mod.groups,
        bias=mod.bias is not None,
        ndim=ndim,
    )
    padding = mod.padding
    if family == "ConvTranspose":
        if isinstance(padding, str) or not all(isinstance(p, int) for p in padding):
            raise ConvProofError(
                f"padding of {name} must be integers (PyTorch's transposed convs have no "
                f"padding names), got padding={padding!r}"
            )
        return ConvTransposeSpec(
            **fields, padding=_ints(padding), output_padding=_ints(mod.output_padding)
        )
    return ConvSpec(
        **fields,
        padding=padding if isinstance(padding, str) else _ints(padding),
        padding_mode=mod.padding_mode,
    )


def _pool_spec(mod: Any, kind: str, ndim: int, name: str, strict: bool) -> PoolSpec:
    stride = mod.stride if mod.stride not in (None, (), []) else None
    if kind == "lp":
        return PoolSpec(
            kind="lp",
            norm_type=mod.norm_type,
            kernel_size=mod.kernel_size,
            stride=stride,
            ceil_mode=bool(mod.ceil_mode),
            ndim=ndim,
        )
    extra: dict[str, Any] = (
        {"dilation": mod.dilation}
        if kind == "max"
        else {"count_include_pad": bool(mod.count_include_pad)}
    )
    spec = PoolSpec(
        kind=kind,
        kernel_size=mod.kernel_size,
        stride=stride,
        padding=mod.padding,
        ceil_mode=bool(mod.ceil_mode),
        ndim=ndim,
        **extra,
    )
    divisor = getattr(mod, "divisor_override", None)
    if strict and divisor is not None and divisor != _fixed_divisor(spec):
        raise ConvProofError(
            f"divisor_override must be None for a PoolSpec (an average divides by the taps it "
            f"counts), got divisor_override={divisor!r} for {spec!r}; it is only accepted "
            f"where every window divides by prod(kernel_size) anyway (ceil_mode=False and "
            f"count_include_pad=True or no padding)"
        )
    return spec


def _fixed_divisor(spec: PoolSpec) -> int | None:
    """``prod(kernel_size)`` when every window of the average divides by it, else None."""
    no_padding = all(p == (0, 0) for p in spec.padding)
    if not spec.ceil_mode and (spec.count_include_pad or no_padding):
        return math.prod(spec.kernel_size)
    return None


def spec_from_torch(module: Any) -> Spec:
    """The convproof spec of a ``torch.nn`` convolution or pooling module.

    Parameters
    ----------
    module : torch.nn.Module
        One of :data:`TORCH_MODULES` (``Conv{1,2,3}d``, ``ConvTranspose{1,2,3}d``,
        ``MaxPool{1,2,3}d``, ``AvgPool{1,2,3}d``, ``LPPool{1,2,3}d``), or a subclass that
        keeps its ``forward``.  ``torch.nn.functional`` calls are not modules: describe them
        with the spec constructors.

    Returns
    -------
    ConvSpec, ConvTransposeSpec or PoolSpec
        Under ``legality="pytorch"``; ``spec.output_shape`` and :func:`convproof.conv` give
        what the module gives.  A ``MaxPool`` with ``return_indices=True`` returns
        ``(values, indices)``: the spec is the values, :func:`convproof.max_pool_indices`
        the indices.

    Raises
    ------
    ConvProofError
        For any other module (its type is named), a subclass that overrides ``forward``, a
        module with forward hooks, a lazy module not yet initialised, an ``AvgPool`` whose
        ``divisor_override`` differs from the divisor a spec uses, or parameters outside
        convproof's specs.

    See Also
    --------
    torch_module : the other direction.
    weights_from_torch : the module's weight and bias as NumPy arrays.

    Examples
    --------
    >>> import convproof as cp
    >>> import pytest; torch = pytest.importorskip("torch")
    >>> conv = cp.spec_from_torch(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1))
    >>> conv.stride, conv.padding, conv.weight_shape
    ((2, 2), ((1, 1), (1, 1)), (8, 3, 3, 3))
    >>> pool = cp.spec_from_torch(torch.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True))
    >>> pool.kind, pool.ceil_mode, pool.output_shape((8, 6, 6))
    ('max', True, (8, 4, 4))
    >>> cp.spec_from_torch(torch.nn.LPPool1d(2, 3)).norm_type
    2
    >>> cp.spec_from_torch(torch.nn.Linear(3, 4))
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: module must be a torch.nn module of one of ...
    """
    spec = module_spec(module, strict=True)
    if spec is None:
        raise ConvProofError(
            f"module must be a torch.nn module of one of {', '.join(TORCH_MODULES)}, got "
            f"module of type {type(module).__module__}.{type(module).__name__}"
        )
    return spec


def weights_from_torch(module: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(weight, bias)`` of a module :func:`spec_from_torch` reads, as NumPy copies.

    The layouts are PyTorch's, which are convproof's: ``(C_out, C_in / groups, *kernel)``
    for a conv, ``(C_in, C_out / groups, *kernel)`` for a transposed conv; the dtype is the
    parameter's.  ``bias`` is None for a module without one; both are None for pooling.
    So ``cp.conv(spec_from_torch(m), x, *weights_from_torch(m))`` is ``m(x)``.

    Raises
    ------
    ConvProofError
        For a module :func:`spec_from_torch` refuses.

    Examples
    --------
    >>> import convproof as cp
    >>> import pytest; torch = pytest.importorskip("torch")
    >>> w, b = cp.weights_from_torch(torch.nn.ConvTranspose1d(4, 6, 3, groups=2))
    >>> w.shape, b.shape
    ((4, 3, 3), (6,))
    >>> cp.weights_from_torch(torch.nn.AvgPool2d(2))
    (None, None)
    """
    spec = spec_from_torch(module)
    if isinstance(spec, PoolSpec):
        return None, None

    def array(p: Any) -> np.ndarray | None:
        return None if p is None else p.detach().cpu().numpy().copy()

    return array(module.weight), array(module.bias)


# --------------------------------------------------------------------------------------
# spec -> module
# --------------------------------------------------------------------------------------


def _torch() -> Any:
    """``torch``, imported on first use (a ConvProofError saying how to install it if absent)."""
    try:
        import torch
    except ImportError:
        raise ConvProofError(
            "torch_module needs PyTorch, got no importable torch (pip install torch)"
        ) from None
    return torch


def _refuse(spec: Spec, why: str) -> ConvProofError:
    return ConvProofError(f"spec cannot be one torch.nn module: {why}, got spec={spec!r}")


def _pytorch_twin(spec: Spec) -> Spec:
    """``spec`` under ``legality="pytorch"`` (the same layer), or a refusal saying why not."""
    if spec.legality == "pytorch":
        return spec
    if isinstance(spec, PoolSpec) and spec.kind == "lp":
        raise _refuse(
            spec,
            f"Lp pooling under legality={spec.legality!r} takes |x| and pads, PyTorch's "
            f"LPPool takes x (a different function)",
        )
    try:
        return spec_from_dict({**spec.to_dict(), "legality": "pytorch"})
    except ConvProofError as exc:
        raise _refuse(spec, f"it is outside PyTorch's rules ({exc})") from None


def _padding_argument(spec: Spec) -> Any:
    """What the module's ``padding`` argument is: per-axis ints, or ``"same"``."""
    if isinstance(spec, ConvSpec) and spec.padding == "same":
        return spec.padding
    pairs = spec.padding
    if isinstance(spec, PoolSpec):  # port writes the padding into the input
        instead = (
            "cp.port(spec, to='pytorch') pre-pads (-inf for max pooling; a pooled mask of "
            "ones for an average's divisor)"
        )
    else:
        instead = "cp.port(spec, to='pytorch') pre-pads (or crops a transposed conv's output)"
    if isinstance(pairs, str):  # a name: fixed amounts unless they follow the input size
        # past the kernel's extent a named padding depends only on the size modulo the
        # stride (SAME's total is keff - (n mod s or s), clamped at 0): try every residue
        channels = getattr(spec, "in_channels", 1)
        big = [
            (channels, *(10 * e + 10 + j for e in spec.effective_kernel_size))
            for j in range(max(spec.stride))
        ]
        first, *others = (spec.resolve_padding(shape) for shape in big)
        if any(other != first for other in others):
            raise _refuse(
                spec, f"padding={pairs!r} depends on the input size with this stride; {instead}"
            )
        pairs = first
    if any(lo != hi for lo, hi in pairs):
        if _is_torch_same(spec, pairs):
            return "same"  # PyTorch's own asymmetric "same" (even kernels)
        raise _refuse(
            spec,
            f"PyTorch modules pad both sides of an axis alike, padding={pairs} does not; {instead}",
        )
    return tuple(lo for lo, _ in pairs)


def _is_torch_same(spec: Spec, pairs: Pairs) -> bool:
    """Whether ``pairs`` are what PyTorch's ``padding="same"`` pads for ``spec``."""
    if not isinstance(spec, ConvSpec) or any(s != 1 for s in spec.stride):
        return False
    return pairs == spec._resolve_named("same", ())  # d(k - 1) in all, the odd one at the end


def _torch_dtype(torch: Any, dtype: Any, weight: Any) -> Any:
    if dtype is None:
        if weight is not None and np.asarray(weight).dtype.kind == "f":
            dtype = np.asarray(weight).dtype
        else:
            return torch.get_default_dtype()
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        np_dtype = np.dtype(dtype)
    except TypeError:
        raise ConvProofError(
            f"dtype must be a floating NumPy or torch dtype, got dtype={dtype!r}"
        ) from None
    if np_dtype.kind != "f":
        raise ConvProofError(f"dtype must be a floating NumPy or torch dtype, got dtype={dtype!r}")
    return torch.from_numpy(np.zeros(0, np_dtype)).dtype


def _load(torch: Any, param: Any, value: Any, name: str, shape: tuple[int, ...]) -> None:
    array = np.asarray(value)
    if array.shape != shape:
        raise ConvProofError(
            f"{name} must have shape {shape} (PyTorch's layout for this spec), got "
            f"{name}.shape={array.shape}"
        )
    with torch.no_grad():
        param.copy_(torch.as_tensor(array, dtype=param.dtype))


def torch_module(spec: Spec, weight: Any = None, bias: Any = None, *, dtype: Any = None) -> Any:
    """The ``torch.nn`` module computing ``spec``, with ``weight`` and ``bias`` loaded.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    weight : array_like, optional
        In PyTorch's layout, as the module stores it: ``spec.weight_shape``, i.e.
        ``(C_out, C_in / groups, *kernel)`` (OIHW) for a conv and
        ``(C_in, C_out / groups, *kernel)`` (IOHW) for a transposed conv.  Parameters not
        given keep PyTorch's random initialisation.
    bias : array_like, optional
        ``(C_out,)``; only for a spec with ``bias=True``.
    dtype : NumPy or torch floating dtype, optional
        The parameters' dtype; default the weight's (when it is floating), else torch's
        default dtype.

    Returns
    -------
    torch.nn.Module
        ``Conv{n}d``, ``ConvTranspose{n}d``, ``MaxPool{n}d``, ``AvgPool{n}d`` or
        ``LPPool{n}d``; :func:`spec_from_torch` reads it back as ``spec`` (with a named
        padding that does not depend on the input size written out as its amounts, or as
        ``"same"`` when it equals PyTorch's, and ``legality="pytorch"``).

    Raises
    ------
    ConvProofError
        When one module cannot compute ``spec`` (per-side padding, a SAME padding that
        depends on the input size, pooling padding over half the kernel, a spec of another
        legality profile outside PyTorch's rules or with ONNX's Lp pooling; the message
        says which, and points to :func:`convproof.port` where it can), for a
        weight/bias of the wrong shape or for a layer without one, or when PyTorch cannot
        be imported.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> import pytest; torch = pytest.importorskip("torch")
    >>> up = cp.ConvTransposeSpec(in_channels=2, out_channels=2, kernel_size=3, stride=2,
    ...                           padding=1, output_padding=1, groups=2, ndim=1)
    >>> w = np.arange(6.0).reshape(up.weight_shape)
    >>> m = cp.torch_module(up, w, np.zeros(2))
    >>> m
    ConvTranspose1d(2, 2, kernel_size=(3,), stride=(2,), padding=(1,), output_padding=(1,),
                    groups=2)
    >>> m.weight.dtype
    torch.float64
    >>> x = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    >>> np.array_equal(m(torch.from_numpy(x)).detach().numpy(), cp.conv(up, x, w, np.zeros(2)))
    True
    >>> cp.torch_module(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2,
    ...                             padding=((1, 0),)))
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: spec cannot be one torch.nn module: PyTorch modules pad ...
    """
    if not isinstance(spec, (ConvSpec, ConvTransposeSpec, PoolSpec)):
        raise ConvProofError(
            f"spec must be a ConvSpec, ConvTransposeSpec or PoolSpec, got spec={spec!r}"
        )
    spec = _pytorch_twin(spec)
    padding = _padding_argument(spec)
    if isinstance(spec, PoolSpec):
        if weight is not None or bias is not None:
            raise ConvProofError(
                f"weight and bias must be None for a pooling spec, got "
                f"weight={'an array' if weight is not None else None}, "
                f"bias={'an array' if bias is not None else None}"
            )
        return _pool_module(spec, padding)
    if bias is not None and not spec.bias:
        raise ConvProofError(
            f"bias must be None for a spec with bias=False, got bias of shape {np.shape(bias)}"
        )
    torch = _torch()

    n = spec.ndim
    common = dict(
        stride=spec.stride,
        padding=padding,
        dilation=spec.dilation,
        groups=spec.groups,
        bias=spec.bias,
        dtype=_torch_dtype(torch, dtype, weight),
    )
    args = (spec.in_channels, spec.out_channels, spec.kernel_size)
    if isinstance(spec, ConvTransposeSpec):
        cls = getattr(torch.nn, f"ConvTranspose{n}d")
        module = cls(*args, output_padding=spec.output_padding, **common)
    else:
        cls = getattr(torch.nn, f"Conv{n}d")
        module = cls(*args, padding_mode=spec.padding_mode, **common)
    if weight is not None:
        _load(torch, module.weight, weight, "weight", spec.weight_shape)
    if bias is not None:
        _load(torch, module.bias, bias, "bias", (spec.out_channels,))
    return module


def _pool_module(spec: PoolSpec, padding: tuple[int, ...]) -> Any:
    torch = _torch()

    n = spec.ndim
    if spec.kind == "lp":
        cls = getattr(torch.nn, f"LPPool{n}d")
        # F.lp_pool1d multiplies by kernel_size itself: it needs ints, not 1-tuples
        k, s = (spec.kernel_size[0], spec.stride[0]) if n == 1 else (spec.kernel_size, spec.stride)
        return cls(spec.norm_type, k, s, ceil_mode=spec.ceil_mode)
    over = [p for p, k in zip(padding, spec.kernel_size) if p > k // 2]
    if over:
        raise _refuse(
            spec,
            f"PyTorch pooling padding is at most kernel_size // 2, the padding resolves to "
            f"{padding}",
        )
    if spec.kind == "max":
        cls = getattr(torch.nn, f"MaxPool{n}d")
        return cls(spec.kernel_size, spec.stride, padding, spec.dilation, ceil_mode=spec.ceil_mode)
    cls = getattr(torch.nn, f"AvgPool{n}d")
    return cls(
        spec.kernel_size,
        spec.stride,
        padding,
        ceil_mode=spec.ceil_mode,
        count_include_pad=spec.count_include_pad,
    )
