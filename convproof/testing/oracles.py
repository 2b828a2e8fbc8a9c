"""Optional framework oracles: the same layer computed by PyTorch (imported lazily).

convproof's own results must agree with an implementation it did not write.  These adapters
translate a spec into ``torch.nn.functional`` calls, including what PyTorch cannot say in one
call: per-side and named paddings and non-zero padding modes go through ``F.pad`` first;
per-side transposed-conv padding crops the ``padding=0`` result.

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> from convproof.testing.oracles import torch_reference
>>> import pytest; torch = pytest.importorskip("torch")
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
>>> torch_reference(spec, np.array([[1.0, 2.0, 3.0]]), np.array([[[1.0, 10.0]]]))
array([[21., 32.]])
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.padding import padding_mode
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

__all__ = ["torch_available", "torch_reference"]


def torch_available() -> bool:
    """Whether PyTorch can be imported (without importing it).

    Examples
    --------
    >>> from convproof.testing.oracles import torch_available
    >>> isinstance(torch_available(), bool)
    True
    """
    return importlib.util.find_spec("torch") is not None


def _flat_pad(pads: tuple[tuple[int, int], ...]) -> list[int]:
    """``F.pad`` order: last dimension first, (before, after) each."""
    out: list[int] = []
    for before, after in reversed(pads):
        out += [before, after]
    return out


def torch_reference(
    spec: ConvSpec | ConvTransposeSpec | PoolSpec,
    x: Any,
    weight: Any = None,
    bias: Any = None,
) -> np.ndarray:
    """Compute the layer with ``torch.nn.functional`` in float64.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    x : array_like
        ``(C, *spatial)`` or ``(N, C, *spatial)``.
    weight, bias : array_like, optional
        PyTorch layouts (``spec.weight_shape``, ``(C_out,)``); not used for pooling.

    Returns
    -------
    numpy.ndarray
        float64, batched exactly when ``x`` is.

    Raises
    ------
    ImportError
        If PyTorch is not installed.
    NotImplementedError
        For layers PyTorch cannot express: more than 3 spatial dims, asymmetric pooling
        padding, dilated average pooling.
    ConvProofError
        For shapes the layer does not accept.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> from convproof.testing.oracles import torch_reference
    >>> import pytest; torch = pytest.importorskip("torch")
    >>> pool = cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1)
    >>> torch_reference(pool, np.array([[1.0, 2, 3, 4, 5]]))
    array([[1.5, 3.5, 5. ]])
    """
    import torch
    import torch.nn.functional as F

    xa = np.asarray(x, dtype=np.float64)
    batched = xa.ndim == spec.ndim + 2
    spec.output_shape(xa.shape)  # validates the shape
    n = spec.ndim
    if n > 3:
        raise NotImplementedError(f"PyTorch has no {n}-D convolution or pooling")
    pads = spec.resolve_padding(xa.shape)
    t = torch.from_numpy(xa if batched else xa[None])
    if isinstance(spec, PoolSpec):
        if any(pl != pr for pl, pr in pads):
            raise NotImplementedError(f"PyTorch pooling pads symmetrically, got {pads}")
        sym = tuple(pl for pl, _ in pads)
        if spec.kind == "max":
            fn = getattr(F, f"max_pool{n}d")
            y = fn(t, spec.kernel_size, spec.stride, sym, spec.dilation, spec.ceil_mode)
        else:
            if any(d != 1 for d in spec.dilation):
                raise NotImplementedError("PyTorch average pooling has no dilation")
            fn = getattr(F, f"avg_pool{n}d")
            y = fn(t, spec.kernel_size, spec.stride, sym, spec.ceil_mode, spec.count_include_pad)
    else:
        if weight is None:
            raise ConvProofError("weight must be given for a convolution, got weight=None")
        w = torch.from_numpy(np.asarray(weight, dtype=np.float64))
        b = None if bias is None else torch.from_numpy(np.asarray(bias, dtype=np.float64))
        if isinstance(spec, ConvSpec):
            mode = padding_mode(spec.padding_mode).torch
            if mode is None:
                raise NotImplementedError(f"PyTorch has no padding_mode {spec.padding_mode!r}")
            if any(p for pair in pads for p in pair):
                t = F.pad(t, _flat_pad(pads), mode=mode)
            fn = getattr(F, f"conv{n}d")
            y = fn(t, w, b, spec.stride, 0, spec.dilation, spec.groups)
        else:
            fn = getattr(F, f"conv_transpose{n}d")
            y = fn(t, w, b, spec.stride, 0, spec.output_padding, spec.groups, spec.dilation)
            crop = tuple(slice(pl, y.shape[2 + ax] - pr) for ax, (pl, pr) in enumerate(pads))
            y = y[(slice(None), slice(None), *crop)]
    out = y.detach().numpy()
    return out if batched else out[0]
