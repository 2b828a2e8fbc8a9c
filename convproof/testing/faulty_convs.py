"""Example convolution functions to try ``convproof check`` on: one correct, three buggy.

All four have PyTorch's functional signature, with NumPy arrays in and out
(``fn(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1)``, batched
``x`` of shape ``(N, C_in, *spatial)``, any number of spatial dims, symmetric integer
padding), and are written with plain loops, independently of the rest of convproof:

====================  ==================================================================
function              what it computes
====================  ==================================================================
loop_conv             the correct cross-correlation (what every framework calls "conv")
flipped_conv          a textbook *convolution* (kernel flipped): wrong for asymmetric kernels
no_dilation_conv      ignores ``dilation`` when reading windows: wrong for dilated kernels
im2col_conv           the widely copied ``as_strided`` im2col, strides computed for C order:
                      right on C-contiguous input, wrong on Fortran-ordered or strided input
loop_conv_backward    the correct backward pass ``fn(grad_output, x, weight, bias, ...)``
assign_conv_backward  a backward pass with ``=`` instead of ``+=``: wrong where windows overlap
====================  ==================================================================

Examples
--------
>>> import numpy as np
>>> from convproof.testing.faulty_convs import flipped_conv, loop_conv
>>> x = np.arange(9.0).reshape(1, 1, 3, 3)
>>> w = np.array([[[[1.0, 0.0], [0.0, 0.0]]]])
>>> loop_conv(x, w)[0, 0]
array([[0., 1.],
       [3., 4.]])
>>> flipped_conv(x, w)[0, 0]
array([[4., 5.],
       [7., 8.]])

From the shell: ``convproof check convproof.examples:flipped_conv`` finds the bug and
shrinks
it to a two-tap kernel; ``convproof check convproof.examples:im2col_conv`` reports the
Fortran-ordered layout that breaks it; ``convproof check --backward
convproof.examples:assign_conv_backward`` finds the backward bug.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "assign_conv_backward",
    "flipped_conv",
    "im2col_conv",
    "loop_conv",
    "loop_conv_backward",
    "no_dilation_conv",
]


#: What a backward pass returns: ``(grad_input, grad_weight, grad_bias)``.
_Grads = tuple[np.ndarray, np.ndarray, np.ndarray | None]


def _per_axis(value: Any, ndim: int) -> tuple[int, ...]:
    if isinstance(value, int | np.integer):
        return (int(value),) * ndim
    return tuple(int(v) for v in value)


def _window(pos: Any, s: Any, d: Any, k: Any) -> tuple[slice, ...]:
    """The (padded) input window read by the output at ``pos``: one slice per axis."""
    return tuple(
        slice(p * si, p * si + di * (ki - 1) + 1, di) for p, si, di, ki in zip(pos, s, d, k)
    )


def _conv(
    x: Any, weight: Any, bias: Any, geometry: Any, groups: int, *, flip: bool = False,
    use_dilation: bool = True,
) -> np.ndarray:  # fmt: skip
    """``geometry`` is ``(stride, padding, dilation)`` as the public function received them."""
    x = np.asarray(x)
    weight = np.asarray(weight)
    ndim = x.ndim - 2
    s, p, d = (_per_axis(v, ndim) for v in geometry)
    dilation = d
    if not use_dilation:
        d = (1,) * ndim
    flipped: tuple[slice, ...] = (slice(None), slice(None), *[slice(None, None, -1)] * ndim)
    kernel = weight[flipped] if flip else weight
    n, _, *spatial = x.shape
    c_out, c_group, *k = weight.shape
    xp = np.pad(x, [(0, 0), (0, 0), *[(pi, pi) for pi in p]])
    out_sizes = [
        (spatial[a] + 2 * p[a] - dilation[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(ndim)
    ]
    out = np.zeros((n, c_out, *out_sizes), dtype=np.result_type(x, weight, np.float64))
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        channels = slice(g * c_group, (g + 1) * c_group)
        for pos in itertools.product(*(range(m) for m in out_sizes)):
            window = _window(pos, s, d, k)
            patch = xp[(slice(None), channels, *window)]
            target: tuple[Any, ...] = (slice(None), o, *pos)
            out[target] = (patch * kernel[o]).reshape(n, -1).sum(axis=1)
        if bias is not None:
            out[:, o] += np.asarray(bias)[o]
    return out


def _variant(
    name: str, doc: str, impl: Callable[..., np.ndarray] = _conv, **options: bool
) -> Callable[..., np.ndarray]:
    """The public convolution ``name`` (PyTorch's functional signature): ``impl`` with
    ``options`` (the one thing each variant changes), documented by ``doc``."""

    def conv(
        x: Any,
        weight: Any,
        bias: Any = None,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
    ) -> np.ndarray:
        return impl(x, weight, bias, (stride, padding, dilation), groups, **options)

    conv.__name__ = conv.__qualname__ = name
    conv.__doc__ = doc
    return conv


loop_conv = _variant(
    "loop_conv",
    """The correct convolution (cross-correlation), one output element at a time.

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, C_in, *spatial)``.
    weight : numpy.ndarray
        ``(C_out, C_in / groups, *kernel_size)``.
    bias : numpy.ndarray, optional
        ``(C_out,)``.
    stride, padding, dilation : int or tuple of int
        Per spatial axis; padding is symmetric zero padding.
    groups : int

    Returns
    -------
    numpy.ndarray
        ``(N, C_out, *out)``, float64 (or wider).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> loop_conv(x, np.ones((1, 1, 2)), stride=2, padding=1)
    array([[[0., 3., 7.]]])
    """,
)
flipped_conv = _variant(
    "flipped_conv",
    """A buggy convolution: flips the kernel (textbook convolution, not cross-correlation).

    Examples
    --------
    >>> import numpy as np
    >>> flipped_conv(np.arange(3.0).reshape(1, 1, 3), np.array([[[1.0, 0.0]]]))
    array([[[1., 2.]]])
    """,
    flip=True,
)
no_dilation_conv = _variant(
    "no_dilation_conv",
    """A buggy convolution: right output size, but windows read without dilation.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(3.0).reshape(1, 1, 3)
    >>> loop_conv(x, np.ones((1, 1, 2)), dilation=2), no_dilation_conv(x, np.ones((1, 1, 2)),
    ...                                                                 dilation=2)
    (array([[[2.]]]), array([[[1.]]]))
    """,
    use_dilation=False,
)


def _im2col(x: Any, weight: Any, bias: Any, geometry: Any, groups: int) -> np.ndarray:
    """The ``as_strided`` im2col recipe (its bug is in :data:`im2col_conv`'s docstring)."""
    x = np.asarray(x)  # keeps the memory layout, as the recipe does
    weight = np.asarray(weight)
    ndim = x.ndim - 2
    s, p, d = (_per_axis(v, ndim) for v in geometry)
    xp = np.pad(x, [(0, 0), (0, 0), *[(pi, pi) for pi in p]])
    n, c, *spatial = xp.shape
    c_out, c_group, *k = weight.shape
    out_sizes = [(spatial[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(ndim)]
    # C-order strides from the shape (the bug: xp's real strides are ignored)
    c_strides = [xp.itemsize * int(np.prod(xp.shape[i + 1 :])) for i in range(xp.ndim)]
    cols = np.lib.stride_tricks.as_strided(
        xp,
        shape=(n, c, *k, *out_sizes),
        strides=(
            c_strides[0],
            c_strides[1],
            *[c_strides[2 + a] * d[a] for a in range(ndim)],
            *[c_strides[2 + a] * s[a] for a in range(ndim)],
        ),
        writeable=False,
    )
    per_group = c_out // groups
    out = np.empty((n, c_out, *out_sizes), dtype=np.result_type(x, weight, np.float64))
    taps = int(np.prod(k))
    for g in range(groups):
        patch = cols[:, g * c_group : (g + 1) * c_group].reshape(n, c_group * taps, -1)
        kernel = weight[g * per_group : (g + 1) * per_group].reshape(per_group, -1)
        res = np.einsum("ok,nkp->nop", kernel, patch)
        out[:, g * per_group : (g + 1) * per_group] = res.reshape(n, per_group, *out_sizes)
    if bias is not None:
        out += np.asarray(bias).reshape(1, c_out, *[1] * ndim)
    return out


im2col_conv = _variant(
    "im2col_conv",
    """A buggy convolution: ``as_strided`` im2col with strides computed for a C-ordered buffer.

    The recipe (widely copied) pads with ``np.pad`` -- which keeps a Fortran-ordered input
    Fortran-ordered -- and then views the buffer with strides derived from the *shape*, as if
    it were C-contiguous.  On C-contiguous input it is right; on a Fortran-ordered or strided
    input it reads the wrong elements.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(6.0).reshape(1, 1, 2, 3)
    >>> w = np.ones((1, 1, 1, 2))
    >>> im2col_conv(x, w)[0, 0], loop_conv(x, w)[0, 0]
    (array([[1., 3.],
           [7., 9.]]), array([[1., 3.],
           [7., 9.]]))
    >>> im2col_conv(np.asfortranarray(x), w)[0, 0]  # the same values, Fortran-ordered: wrong
    array([[3., 4.],
           [6., 7.]])
    """,
    impl=_im2col,
)


def _conv_backward(
    grad_output: Any, x: Any, weight: Any, bias: Any, geometry: Any, groups: int, *,
    accumulate: bool = True,
) -> _Grads:  # fmt: skip
    g, x, weight = np.asarray(grad_output), np.asarray(x), np.asarray(weight)
    ndim = x.ndim - 2
    s, p, d = (_per_axis(v, ndim) for v in geometry)
    c_out, c_group, *k = weight.shape
    xp = np.pad(x, [(0, 0), (0, 0), *[(pi, pi) for pi in p]])
    dxp = np.zeros(xp.shape, dtype=np.result_type(g, weight, np.float64))
    dw = np.zeros(weight.shape, dtype=dxp.dtype)
    per_group = c_out // groups
    for o in range(c_out):
        grp = o // per_group
        channels = slice(grp * c_group, (grp + 1) * c_group)
        for pos in itertools.product(*(range(m) for m in g.shape[2:])):
            window = _window(pos, s, d, k)
            for n in range(x.shape[0]):
                gv = g[(n, o, *pos)]
                at: tuple[Any, ...] = (n, channels, *window)
                dw[o] += gv * xp[at]
                if accumulate:
                    dxp[at] += gv * weight[o]
                else:  # the bug: overlapping windows overwrite each other
                    dxp[at] = gv * weight[o]
    inner = tuple(slice(pi, pi + n) for pi, n in zip(p, x.shape[2:]))
    db = None if bias is None else g.sum(axis=(0, *range(2, g.ndim)))
    crop: tuple[Any, ...] = (slice(None), slice(None), *inner)
    return dxp[crop], dw, db


def _backward_variant(name: str, doc: str, **options: bool) -> Callable[..., _Grads]:
    """The public backward pass ``name``: :func:`_conv_backward` with ``options``."""

    def conv_backward(
        grad_output: Any, x: Any, weight: Any, bias: Any = None, stride: Any = 1,
        padding: Any = 0, dilation: Any = 1, groups: int = 1,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:  # fmt: skip
        geometry = (stride, padding, dilation)
        return _conv_backward(grad_output, x, weight, bias, geometry, groups, **options)

    conv_backward.__name__ = conv_backward.__qualname__ = name
    conv_backward.__doc__ = doc
    return conv_backward


loop_conv_backward = _backward_variant(
    "loop_conv_backward",
    """The correct backward pass of :func:`loop_conv`: ``(grad_input, grad_weight, grad_bias)``.

    Every output position scatters ``grad_output * weight`` into its (padded) input window
    with ``+=`` and gathers ``grad_output * window`` into the weight gradient.

    Examples
    --------
    >>> import numpy as np
    >>> gi, gw, gb = loop_conv_backward(np.ones((1, 1, 2)), np.arange(3.0).reshape(1, 1, 3),
    ...                                 np.array([[[1.0, 10.0]]]), bias=np.zeros(1))
    >>> gi, gw, gb
    (array([[[ 1., 11., 10.]]]), array([[[1., 3.]]]), array([2.]))
    """,
)
assign_conv_backward = _backward_variant(
    "assign_conv_backward",
    """A buggy backward pass: ``=`` instead of ``+=`` where input windows overlap.

    Examples
    --------
    >>> import numpy as np
    >>> assign_conv_backward(np.ones((1, 1, 2)), np.arange(3.0).reshape(1, 1, 3),
    ...                      np.array([[[1.0, 10.0]]]))[0]
    array([[[ 1.,  1., 10.]]])
    """,
    accumulate=False,
)
