"""Property-test a user's convolution code against convproof's numeric reference.

:func:`check_conv` draws valid convolution problems with :mod:`convproof.testing.strategies`,
calls the user's function with PyTorch's functional signature (NumPy arrays in and out),
compares with :func:`convproof.conv`, and lets Hypothesis shrink any failure to a minimal
counterexample.  The result is a :class:`CheckResult` (truthy iff nothing failed); a
failure is a result, not an exception.  :func:`assert_conv_matches` raises an
``AssertionError`` with the readable counterexample instead, for use inside tests.

=============================  ===============================================================
checker                        user function is called as
=============================  ===============================================================
:func:`check_conv`             ``fn(x, weight, bias, stride=, padding=, dilation=, groups=)``
:func:`check_conv_transpose`   ``fn(x, weight, bias, stride=, padding=, output_padding=,
                               groups=, dilation=)``
:func:`check_pool` (max)       ``fn(x, kernel_size=, stride=, padding=, dilation=,
                               ceil_mode=)``
:func:`check_pool` (avg)       ``fn(x, kernel_size=, stride=, padding=, ceil_mode=,
                               count_include_pad=)``
=============================  ===============================================================

``stride``, ``dilation``, ``kernel_size`` and ``output_padding`` are tuples with one int per
spatial axis (one int with ``scalar_args=True``); ``padding`` is a tuple of per-axis ints
(symmetric, the default) or, when the bounds allow asymmetric or named paddings, a tuple of
``(before, after)`` pairs.  Inputs are batched ``(N, C, *spatial)``.

What the data exposes
---------------------
* **Values**: per problem, small integers, dyadic fractions (multiples of ``2**-f``, so a
  function that rounds to integers is caught) or wide magnitudes (integers times ``2**e``,
  ``|e| <= 20``, so float32 accumulation of float64 data loses bits and is caught); see
  :data:`convproof.testing.strategies.VALUE_KINDS`.  Every value is exact in float32 and float64.
* **Comparison** (exact where the arithmetic is exact, a stated bound otherwise): every
  product and partial sum of an output is a multiple of ``2**q``, ``q`` the finest binary
  exponent of the data.  When ``S = sum |x*w| (+ |b|) < 2**(q + p)`` (``p`` = 53 for
  float64, 24 for float32) every partial sum is exact in any order and the function must
  return the exact value.  Otherwise ``|got - exact| <= gamma_n * S`` with
  ``gamma_n = n*u / (1 - n*u)``, ``u = 2**-p`` and ``n`` the terms of that output: the
  standard forward error bound of a dot product summed in any order (with or without
  FMA).  The float64 reference obeys the same bound, so the allowed deviation from it is
  the sum of both.  Average pooling: ``gamma_(k+2) * mean|x|`` per side, ``k`` the kernel
  elements (a sum, then a division or a multiplication by the rounded reciprocal); max
  pooling: exact.  ``rtol``/``atol`` add slack on top (FFT or Winograd algorithms need it).
  The allowed deviation at the failing output is in the counterexample.
* **Layouts**: the arrays are passed C-contiguous, Fortran-ordered or as a non-contiguous
  strided view (every other element of a larger buffer); the counterexample says which.
* **Sizes**: now and then a spatial size from 7 to 129 around powers of two (see
  :func:`convproof.testing.strategies.input_shapes`), where tiled kernels change code path;
  shrinking still prefers small sizes.

A passing run that never exercised a feature its bounds enabled (``groups > 1``, a padding
mode, dilation, stride, a batch of more than one, ...) warns with
:class:`UnexercisedWarning` and lists them in :attr:`CheckResult.unexercised`.

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> def my_conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
...     spec = cp.ConvSpec(in_channels=x.shape[1], out_channels=weight.shape[0],
...                        kernel_size=weight.shape[2:], stride=stride, padding=padding,
...                        dilation=dilation, groups=groups, bias=bias is not None)
...     return cp.conv(spec, x, weight[:, :, ::-1, ::-1], bias)  # flips the kernel: wrong
>>> result = cp.check_conv(my_conv, max_examples=50, seed=0)
>>> bool(result), result.counterexample.spec.kernel_size
(False, (1, 2))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from convproof._docfill import fill_doc
from convproof.errors import ConvProofError
from convproof.testing.calling import LAYOUTS
from convproof.testing.layout_check import layout_evaluate
from convproof.testing.reports import CheckResult, UnexercisedWarning
from convproof.testing.reports import Counterexample as Counterexample  # its home is reports
from convproof.testing.runner import (
    _assert_doc,
    _asserted,
    _layer_checker,
    _Plan,
    _run,
    _stderr_is_terminal,
    _warn_unexercised,
)

__all__ = [
    "LAYOUTS",
    "assert_conv_matches",
    "check_conv",
    "check_conv_transpose",
    "check_pool",
]


_COMMON_PARAMETERS = """
    max_examples : int
        Problems to generate (shrinking a failure runs more).
    seed : int, optional
        Seed for reproducible runs; ``derandomize=True`` derives it from the test instead.
    rtol, atol : float
        Slack added to the stated bound (default 0: exact where the arithmetic is exact,
        ``gamma_n * sum|x*w|`` otherwise; see the module docstring).  FFT or Winograd
        algorithms, whose error is not bounded by ``gamma_n``, need some.
    specs : spec, sequence of specs or SearchStrategy, optional
        Draw specs from these instead of generating them; spec bounds in ``**bounds``
        (``max_kernel_size``, ``groups``, ...) then restrict them (a listed spec outside a
        bound is refused).  Problem bounds (``dtype``, ``max_value``, ``values``,
        ``batch``, ``max_extra_size``, ``large_sizes``) apply either way.
    scalar_args : bool
        One value for every axis: specs have equal per-axis kernel size, stride,
        dilation and padding, and the function receives each as one int (``padding`` as
        an int or ``"valid"`` / ``"same"``), as most real code expects.
    layouts : sequence of {"C", "F", "strided"}
        Memory layouts ``x`` and ``weight`` are passed in (see :data:`LAYOUTS`).
    layout : str, optional
        Axis order ``fn`` takes ``x`` in and returns its result in: ``"NHWC"``, ``"NWC"``,
        ``"NDHWC"``, ``"channels_last"``, any order of the letters (see
        :mod:`convproof.layers.layout`; an explicit one also sets ``ndim``).  Default:
        channels-first.  A counterexample is shown in it.
    weight_layout : str, optional
        Axis order of the weight ``fn`` takes (not for pooling): ``"HWIO"`` (TensorFlow,
        JAX), ``"HWOI"`` (TF transposed), ``"HWCM"`` (TF depthwise: only depthwise specs
        are drawn), any order of the letters.  Default: PyTorch's layout.
    progress : bool, optional
        Show a progress bar over the examples (``tqdm``, on stderr).  Default: only when
        stderr is a terminal.
"""


def _progress(progress: bool | None) -> bool | None:
    """``progress=None`` (a bar only when stderr is a terminal), decided here for the forward
    checkers; anything else goes to the run, which checks it."""
    return _stderr_is_terminal() if progress is None else progress


def _plan(
    kind: str, ndim: Any, defaults: dict[str, Any], bounds: dict[str, Any], specs: Any,
    scalar_args: Any, layouts: Any,
) -> _Plan:  # fmt: skip
    return _Plan(kind, ndim, defaults, bounds, specs, scalar_args, layouts)


@fill_doc(common=_COMMON_PARAMETERS[1:])
def check_conv(
    fn: Callable[..., Any],
    *,
    ndim: int | None = None,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 0.0,
    atol: float = 0.0,
    specs: Any = None,
    scalar_args: bool = False,
    layouts: Any = LAYOUTS,
    progress: bool | None = None,
    layout: str | None = None,
    weight_layout: str | None = None,
    **bounds: Any,
) -> CheckResult:
    """Property-test a convolution with PyTorch's functional signature against convproof.

    Parameters
    ----------
    fn : callable
        ``fn(x, weight, bias, stride=..., padding=..., dilation=..., groups=...)`` taking and
        returning NumPy arrays (``bias`` may be ``None``).  With ``padding_modes`` in the
        bounds it also receives ``padding_mode=...`` for non-zero modes.  A PyTorch
        function such as ``torch.nn.functional.conv2d`` itself, or code that computes with
        tensors, is accepted as it is: it gets torch tensors (when it is defined in
        ``torch``, or when its NumPy call raised a ``TypeError``/``AttributeError`` that the
        same call with tensors does not) and tensor results are converted back.
    ndim : int, optional
        Spatial dimensions of the generated problems (default 2; with ``specs``, theirs).
    {common}
    **bounds
        Passed to :func:`convproof.testing.strategies.conv_specs` and
        :func:`~convproof.testing.strategies.conv_problems` (``max_channels``, ``max_kernel_size``,
        ``groups``, ``paddings``, ``padding_modes``, ``dtype``, ``batch``, ``values``,
        ``large_sizes``, ...).  Defaults: ``paddings=("int", "per_dim")`` (symmetric,
        what PyTorch accepts), ``padding_modes=("zeros",)``, ``batch=True``,
        ``values=("integers", "dyadic", "wide")`` for float dtypes and
        ``large_sizes=True``.

    Returns
    -------
    CheckResult
        Truthy iff every problem matched; otherwise ``.counterexample`` holds the shrunk
        problem, the first output outside the allowed deviation, expected and got values
        (or the exception / wrong shape) and the layout the arrays were passed in.

    Raises
    ------
    ConvProofError
        For a bad argument (``hypothesis.errors.InvalidArgument`` for a bad bound), or a
        ``fn`` that cannot take the checker's call: every call is bound to ``fn``'s
        signature, and one call on a small problem is made before the run (for functions
        without a signature, such as PyTorch's builtins), so a wrong signature is reported
        as such, never as a counterexample.

    Warns
    -----
    UnexercisedWarning
        When the check passed but never exercised a feature its bounds enabled.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> def good(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    ...     spec = cp.ConvSpec(in_channels=x.shape[1], out_channels=weight.shape[0],
    ...                        kernel_size=weight.shape[2:], stride=stride, padding=padding,
    ...                        dilation=dilation, groups=groups, bias=bias is not None)
    ...     return cp.conv(spec, x, weight, bias)
    >>> result = cp.check_conv(good, max_examples=50, seed=0)
    >>> bool(result), result.counterexample, result.unexercised
    (True, None, ())

    A convolution that rounds its output to integers is caught on dyadic data:

    >>> def rounded(x, weight, bias=None, **kw):
    ...     return np.round(good(x, weight, bias, **kw))
    >>> cx = cp.check_conv(rounded, seed=0).counterexample
    >>> cx.expected_value, cx.got_value, cx.bound_value
    (0.25, 0.0, 0.0)
    """
    defaults = {"paddings": ("int", "per_dim"), "padding_modes": ("zeros",)}
    ndim, evaluate = layout_evaluate("conv", ndim, specs, bounds, layout, weight_layout)
    plan = _plan("conv", ndim, defaults, bounds, specs, scalar_args, layouts)
    return _warn_unexercised(_run(fn, "conv", plan, max_examples, seed, derandomize, rtol, atol,
                                  evaluate, progress=_progress(progress)))  # fmt: skip


def check_conv_transpose(
    fn: Callable[..., Any],
    *,
    ndim: int | None = None,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 0.0,
    atol: float = 0.0,
    specs: Any = None,
    scalar_args: bool = False,
    layouts: Any = LAYOUTS,
    progress: bool | None = None,
    layout: str | None = None,
    weight_layout: str | None = None,
    **bounds: Any,
) -> CheckResult:
    """Property-test a transposed convolution (``F.conv_transpose2d`` signature).

    ``fn(x, weight, bias, stride=..., padding=..., output_padding=..., groups=...,
    dilation=...)`` with the weight in PyTorch's transposed layout
    ``(C_in, C_out/groups, *k)``.  Other parameters as for :func:`check_conv` (bounds go
    to :func:`convproof.testing.strategies.conv_transpose_specs`).

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> import convproof as cp
    >>> def good(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
    ...          dilation=1):
    ...     spec = cp.ConvTransposeSpec(
    ...         in_channels=x.shape[1], out_channels=weight.shape[1] * groups,
    ...         kernel_size=weight.shape[2:], stride=stride, padding=padding,
    ...         output_padding=output_padding, groups=groups, dilation=dilation,
    ...         bias=bias is not None)
    ...     return cp.conv(spec, x, weight, bias)
    >>> bool(cp.check_conv_transpose(good, max_examples=50, seed=0))
    True
    """
    defaults = {"paddings": ("int", "per_dim")}
    ndim, evaluate = layout_evaluate("conv_transpose", ndim, specs, bounds, layout, weight_layout)
    plan = _plan("conv_transpose", ndim, defaults, bounds, specs, scalar_args, layouts)
    return _warn_unexercised(
        _run(fn, "conv_transpose", plan, max_examples, seed, derandomize, rtol, atol, evaluate,
             progress=_progress(progress))
    )  # fmt: skip


def check_pool(
    fn: Callable[..., Any],
    *,
    kind: str = "max",
    ndim: int | None = None,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 0.0,
    atol: float = 0.0,
    specs: Any = None,
    scalar_args: bool = False,
    layouts: Any = LAYOUTS,
    progress: bool | None = None,
    layout: str | None = None,
    **bounds: Any,
) -> CheckResult:
    """Property-test max, average or Lp pooling (``F.max_pool2d`` / ``avg_pool2d`` / ``lp_pool2d``).

    ``kind="max"``: ``fn(x, kernel_size=..., stride=..., padding=..., dilation=...,
    ceil_mode=...)``; ``kind="avg"``: ``fn(x, kernel_size=..., stride=..., padding=...,
    ceil_mode=..., count_include_pad=...)``; ``kind="lp"``: ``fn(x, norm_type=...,
    kernel_size=..., stride=..., ceil_mode=...)`` (plus ``padding=..., dilation=...`` with
    ``legality="onnx"``, ONNX's ``LpPool``).  Other parameters as for :func:`check_conv`
    (bounds go to :func:`convproof.testing.strategies.pool_specs`; ``stride`` is always passed as a
    tuple, or one int with ``scalar_args=True``).

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> def no_ceil(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    ...     spec = cp.PoolSpec(kind="avg", kernel_size=kernel_size, stride=stride,
    ...                        padding=padding, ceil_mode=False,  # ignores ceil_mode: wrong
    ...                        count_include_pad=count_include_pad)
    ...     return cp.conv(spec, x)
    >>> result = cp.check_pool(no_ceil, kind="avg", max_examples=100, seed=1)
    >>> bool(result), result.counterexample.reason
    (False, 'raised')
    """
    if kind not in ("max", "avg", "lp"):
        raise ConvProofError(f"kind must be 'max', 'avg' or 'lp', got kind={kind!r}")
    defaults = {"paddings": ("int", "per_dim"), "kinds": (kind,)}
    ndim, evaluate = layout_evaluate("pool", ndim, specs, bounds, layout, None)
    plan = _plan("pool", ndim, defaults, bounds, specs, scalar_args, layouts)
    return _warn_unexercised(_run(fn, "pool", plan, max_examples, seed, derandomize, rtol, atol,
                                  evaluate, progress=_progress(progress)))  # fmt: skip


@_assert_doc
def assert_conv_matches(
    fn: Callable[..., Any], *, layer: str = "conv", **kwargs: Any
) -> CheckResult:
    """Like :func:`check_conv` (or the ``layer``'s checker) but raise ``AssertionError``.

    Parameters
    ----------
    fn : callable
    layer : {"conv", "conv_transpose", "max_pool", "avg_pool"}
        Which checker to run.
    {asserts}

    Examples
    --------
    >>> import convproof as cp
    >>> def bias_twice(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    ...     spec = cp.ConvSpec(in_channels=x.shape[1], out_channels=weight.shape[0],
    ...                        kernel_size=weight.shape[2:], stride=stride, padding=padding,
    ...                        dilation=dilation, groups=groups, bias=bias is not None)
    ...     out = cp.conv(spec, x, weight, bias)
    ...     return out if bias is None else out + bias[:, None, None]
    >>> cp.assert_conv_matches(bias_twice, max_examples=50, seed=0)
    Traceback (most recent call last):
    ...
    AssertionError: conv check FAILED: ...
    """
    checker = _layer_checker(layer, check_conv, check_conv_transpose, check_pool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnexercisedWarning)
        result = checker(fn, **kwargs)
    _warn_unexercised(result)
    return _asserted(result)
