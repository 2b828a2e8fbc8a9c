"""Data and weight layouts: the one place that reads a layout string and moves arrays.

convproof computes in one canonical layout: data channels-first ``(N, C, *spatial)`` (or
``(C, *spatial)``), weights in PyTorch's layouts ``(C_out, C_in/groups, *k)`` for a
convolution and ``(C_in, C_out/groups, *k)`` for a transposed one.  User code comes in
others; a *layout string* names the axes of an array in order, one letter per axis:

=========  ==========================================================================
letter     axis
=========  ==========================================================================
``N``      batch (data; optional: without it the array is one sample)
``C``      channels (data); input channels of a depthwise weight
``D H W``  spatial axes: ``W`` in 1-D, ``H W`` in 2-D, ``D H W`` in 3-D
``O I``    a weight's output and input channels of the *layer* (per group where
           PyTorch's weight has ``/groups``), for convolutions and transposed ones
``M``      channel multiplier of a depthwise weight (with ``C``)
=========  ==========================================================================

Any order of the letters is accepted; common ones:

===========================  ======================  ===================================
layout                       1-D / 2-D / 3-D          used by
===========================  ======================  ===================================
data channels-first          ``NCW NCHW NCDHW``      PyTorch, ONNX (canonical here)
data channels-last           ``NWC NHWC NDHWC``      TensorFlow/Keras, JAX/Flax
conv weight                  ``OIW OIHW OIDHW``      PyTorch, ONNX (canonical here)
conv weight                  ``WIO HWIO DHWIO``      TensorFlow/Keras, JAX/Flax
transposed-conv weight       ``IOW IOHW IODHW``      PyTorch (canonical here)
transposed-conv weight       ``WOI HWOI DHWOI``      TF/Keras ``Conv*DTranspose``
depthwise weight             ``WCM HWCM DHWCM``      TF/Keras ``DepthwiseConv*D``
===========================  ======================  ===================================

``"channels_first"`` / ``"channels_last"`` (Keras's ``data_format`` names) stand for the
data layouts of the table, batched or not as the array is.  A depthwise weight
(``C`` and ``M`` instead of ``O`` and ``I``) needs ``groups == in_channels``; its output
channel ``c * M + m`` is TensorFlow's order, which is PyTorch's ``groups=C_in`` order, so
it becomes the canonical ``(C*M, 1, *k)`` by a transposition and a reshape.

Examples
--------
>>> import numpy as np
>>> from convproof.layers.layout import parse_layout
>>> lay = parse_layout("NHWC")
>>> lay.ndim, lay.batched, lay.shape((8, 3, 32, 32))
(2, True, (8, 32, 32, 3))
>>> x = np.zeros((8, 32, 32, 3))
>>> lay.to_canonical(x).shape
(8, 3, 32, 32)
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec
from convproof.layers.window import check_spec

__all__ = [
    "DATA_LAYOUTS",
    "WEIGHT_LAYOUTS",
    "DataLayout",
    "WeightLayout",
    "parse_layout",
    "parse_weight_layout",
]

#: Spatial letters per number of spatial dimensions, in canonical order.
_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}
#: Data layouts by number of spatial dimensions: ``(channels-first, channels-last)``.
DATA_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}
#: Common weight layouts by layer kind: PyTorch's (canonical) first.
WEIGHT_LAYOUTS = {
    "conv": ("OIHW", "HWIO", "HWCM"),
    "conv_transpose": ("IOHW", "HWOI"),
}
_ALIASES = ("channels_first", "channels_last")


def _perm_of(text: str, canonical: str) -> tuple[int, ...]:
    """Axes with ``np.transpose(a_in_text, axes)`` in ``canonical`` order."""
    return tuple(text.index(c) for c in canonical)


def _inverse(axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(v) for v in np.argsort(axes))


class DataLayout(NamedTuple):
    """A parsed data layout (see :func:`parse_layout`).

    Attributes
    ----------
    text : str
        The layout, e.g. ``"NHWC"``.
    ndim : int
        Spatial dimensions.
    batched : bool
        Whether the layout has a batch axis ``N``.
    to_canonical_axes, from_canonical_axes : tuple of int
        ``np.transpose`` axes from this layout to the canonical ``(N, C, *spatial)``
        (or ``(C, *spatial)``) and back.
    """

    text: str
    ndim: int
    batched: bool
    to_canonical_axes: tuple[int, ...]
    from_canonical_axes: tuple[int, ...]

    @property
    def canonical(self) -> bool:
        """Whether this is the canonical channels-first layout (no transposition)."""
        return self.to_canonical_axes == tuple(range(len(self.text)))

    def shape(self, canonical_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape in this layout of an array of ``canonical_shape``."""
        return tuple(int(canonical_shape[a]) for a in self.from_canonical_axes)

    def canonical_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The canonical shape of an array of ``shape`` in this layout."""
        return tuple(int(shape[a]) for a in self.to_canonical_axes)

    def to_canonical(self, x: np.ndarray, name: str = "x") -> np.ndarray:
        """``x`` (in this layout) as a canonical channels-first view."""
        self._check_rank(x, name)
        return x if self.canonical else np.transpose(x, self.to_canonical_axes)

    def from_canonical(self, x: np.ndarray, name: str = "x") -> np.ndarray:
        """A canonical channels-first ``x`` as a view in this layout."""
        self._check_rank(x, name)
        return x if self.canonical else np.transpose(x, self.from_canonical_axes)

    def _check_rank(self, x: np.ndarray, name: str) -> None:
        if np.ndim(x) != len(self.text):
            raise ConvProofError(
                f"{name} must have {len(self.text)} axes for layout={self.text!r}, "
                f"got {name} of shape {np.shape(x)}"
            )

    def flat_order(self, canonical_shape: tuple[int, ...]) -> np.ndarray:
        """For each element of the row-major flattened array in this layout, its index in
        the row-major flattened canonical array (``a.ravel() == canonical.ravel()[order]``)."""
        idx = np.arange(math.prod(canonical_shape)).reshape(canonical_shape)
        return np.ascontiguousarray(self.from_canonical(idx)).ravel()

    def per_sample(self) -> DataLayout:
        """This layout without its batch axis (which must come first)."""
        if not self.batched:
            return self
        if self.text[0] != "N":
            raise ConvProofError(
                f"layout must have the batch axis N first to act on one sample, "
                f"got layout={self.text!r}"
            )
        return parse_layout(self.text[1:])


class WeightLayout(NamedTuple):
    """A parsed weight layout for one spec (see :func:`parse_weight_layout`).

    Attributes
    ----------
    text : str
        The layout, e.g. ``"HWIO"``.
    shape : tuple of int
        The weight's shape in this layout.
    canonical_shape : tuple of int
        ``spec.weight_shape`` (PyTorch's layout).
    depthwise : bool
        Whether the layout is a depthwise one (``C`` and ``M``).
    to_canonical_axes : tuple of int
        ``np.transpose`` axes from this layout to canonical order (``C M *k`` for a
        depthwise layout, reshaped afterwards).
    """

    text: str
    shape: tuple[int, ...]
    canonical_shape: tuple[int, ...]
    depthwise: bool
    to_canonical_axes: tuple[int, ...]

    def to_canonical(self, w: Any, name: str = "weight") -> np.ndarray:
        """A weight in this layout as PyTorch's layout ``spec.weight_shape``."""
        w = np.asarray(w)
        if w.shape != self.shape:
            raise ConvProofError(
                f"{name} must have shape {self.shape} for weight_layout={self.text!r}, "
                f"got {name} of shape {w.shape}"
            )
        out = np.transpose(w, self.to_canonical_axes)
        return out.reshape(self.canonical_shape) if self.depthwise else out

    def from_canonical(self, w: Any) -> np.ndarray:
        """A weight in PyTorch's layout ``spec.weight_shape`` as a view in this layout."""
        w = np.asarray(w)
        if self.depthwise:
            w = w.reshape(*_cm(self), *w.shape[2:])
        return np.transpose(w, _inverse(self.to_canonical_axes))


def _cm(lay: WeightLayout) -> tuple[int, int]:
    """``(C, M)`` of a depthwise layout."""
    return lay.shape[lay.text.index("C")], lay.shape[lay.text.index("M")]


def _letters_error(name: str, value: Any, ndim: int | None, allowed: str) -> ConvProofError:
    where = "" if ndim is None else f" for ndim={ndim}"
    return ConvProofError(
        f"{name} must be a string of distinct axis letters {allowed}{where}, got {name}={value!r}"
    )


@functools.lru_cache(maxsize=256)
def _parse_data(layout: str, ndim: int | None, batched: bool | None) -> DataLayout:
    if layout in _ALIASES:
        if ndim is None:
            raise ConvProofError(f"layout={layout!r} needs the number of spatial dimensions")
        text = ("N" if batched or batched is None else "") + (
            "C" + _SPATIAL[ndim] if layout == "channels_first" else _SPATIAL[ndim] + "C"
        )
    else:
        text = layout
    n_spatial = len(text) - ("N" in text) - 1
    spatial = _SPATIAL.get(n_spatial)
    if (
        spatial is None
        or "C" not in text
        or len(set(text)) != len(text)
        or set(text) - {"N", "C"} != set(spatial)
    ):
        allowed = "N (optional), C and the spatial axes (W; H W; D H W)"
        if ndim in _SPATIAL:
            allowed = f"N (optional), C and {' '.join(_SPATIAL[ndim])}"
        allowed += ", or 'channels_first'/'channels_last'"
        raise _letters_error("layout", layout, ndim, allowed)
    if ndim is not None and n_spatial != ndim:
        raise ConvProofError(
            f"layout must have {ndim} spatial axes ({' '.join(_SPATIAL[ndim])}) for ndim={ndim}, "
            f"got layout={layout!r}"
        )
    canonical = ("N" if "N" in text else "") + "C" + spatial
    to = _perm_of(text, canonical)
    return DataLayout(text, n_spatial, "N" in text, to, _inverse(to))


def parse_layout(
    layout: str | None = None, ndim: int | None = None, *, batched: bool | None = None
) -> DataLayout:
    """Parse a data layout string.

    Parameters
    ----------
    layout : str, optional
        Axis letters (``"NHWC"``, ``"NCW"``, ``"DHWC"``, ...; see the module docstring),
        ``"channels_first"`` / ``"channels_last"``, or ``None`` for the canonical
        channels-first layout.
    ndim : int, optional
        Spatial dimensions the layout must have (needed for the aliases and ``None``).
    batched : bool, optional
        For the aliases and ``None``: whether the array has a batch axis (default: yes).

    Returns
    -------
    DataLayout

    Raises
    ------
    ConvProofError
        For an unknown letter, a repeated or missing one, or the wrong number of spatial
        axes.

    Examples
    --------
    >>> from convproof.layers.layout import parse_layout
    >>> parse_layout("NWC").to_canonical_axes
    (0, 2, 1)
    >>> parse_layout("channels_last", ndim=3, batched=False).text
    'DHWC'
    >>> parse_layout("NHWC", ndim=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: layout must have 1 spatial axes (W) ..., got layout='NHWC'
    """
    if ndim is not None and ndim not in _SPATIAL:
        raise ConvProofError(f"ndim must be 1, 2 or 3 for a layout, got ndim={ndim!r}")
    if batched is not None and not isinstance(batched, bool):
        raise ConvProofError(f"batched must be True, False or None, got batched={batched!r}")
    if layout is None:
        if ndim is None:
            raise ConvProofError("layout=None needs the number of spatial dimensions")
        layout = "channels_first"
    if not isinstance(layout, str):
        raise _letters_error("layout", layout, ndim, "N (optional), C and the spatial axes")
    return _parse_data(layout, ndim, batched)


def parse_weight_layout(weight_layout: str | None, spec: Any) -> WeightLayout:
    """Parse a weight layout string for ``spec``'s weight.

    Parameters
    ----------
    weight_layout : str or None
        Axis letters: ``O``, ``I`` and the spatial letters in any order (``"OIHW"``,
        ``"HWIO"``, ``"IOHW"``, ``"HWOI"``, ...), or ``C``, ``M`` and the spatial letters
        for a depthwise convolution (``"HWCM"``).  ``None``: PyTorch's layout.
    spec : ConvSpec or ConvTransposeSpec

    Returns
    -------
    WeightLayout

    Raises
    ------
    ConvProofError
        For a bad string, a spec without weight, or a depthwise layout for a layer that is
        not depthwise (``groups == in_channels``; convolutions only).

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.layers.layout import parse_weight_layout
    >>> spec = cp.ConvSpec(in_channels=3, out_channels=6, kernel_size=(5, 4), groups=3)
    >>> parse_weight_layout("HWIO", spec).shape
    (5, 4, 1, 6)
    >>> lay = parse_weight_layout("HWCM", spec)
    >>> lay.shape, lay.canonical_shape
    ((5, 4, 3, 2), (6, 1, 5, 4))
    """
    if not isinstance(spec, ConvSpec | ConvTransposeSpec):
        raise ConvProofError(
            f"weight_layout needs a ConvSpec or ConvTransposeSpec, got weight_layout="
            f"{weight_layout!r} for {type(spec).__name__}"
        )
    if weight_layout is not None and not isinstance(weight_layout, str):
        raise _letters_error("weight_layout", weight_layout, spec.ndim, "O I and the spatial axes")
    return _parse_weight(weight_layout, spec)


@functools.lru_cache(maxsize=256)
def _parse_weight(weight_layout: str | None, spec: Any) -> WeightLayout:
    spatial = _SPATIAL[spec.ndim]
    transposed = isinstance(spec, ConvTransposeSpec)
    canonical = ("IO" if transposed else "OI") + spatial
    text = canonical if weight_layout is None else weight_layout
    if not isinstance(text, str):
        raise _letters_error("weight_layout", weight_layout, spec.ndim, f"O I {' '.join(spatial)}")
    letters = set(text)
    if len(letters) != len(text) or letters not in (set(canonical), set("CM" + spatial)):
        allowed = f"O I {' '.join(spatial)}"
        if not transposed:
            allowed += f" (depthwise: C M {' '.join(spatial)})"
        raise _letters_error("weight_layout", weight_layout, spec.ndim, allowed)
    w_shape = tuple(spec.weight_shape)
    if "C" not in letters:
        to = _perm_of(text, canonical)
        shape = tuple(w_shape[canonical.index(c)] for c in text)
        return WeightLayout(text, shape, w_shape, False, to)
    if transposed or spec.groups != spec.in_channels:
        raise ConvProofError(
            f"weight_layout {text!r} is depthwise: it needs a convolution with groups == "
            f"in_channels, got {type(spec).__name__} with groups={spec.groups}, "
            f"in_channels={spec.in_channels}"
        )
    sizes = {"C": spec.in_channels, "M": spec.out_channels // spec.in_channels}
    sizes.update(zip(spatial, spec.kernel_size))
    shape = tuple(sizes[c] for c in text)
    return WeightLayout(text, shape, w_shape, True, _perm_of(text, "CM" + spatial))


def call_in_layout(
    compute: Any, spec: Any, x: Any, weight: Any, bias: Any, layout: Any, weight_layout: Any
) -> np.ndarray:
    """``compute(spec, x, weight, bias)`` (canonical layouts) on arrays in other layouts.

    ``x`` is read in ``layout`` (its batch axis decides batched or not) and ``weight`` in
    ``weight_layout``; the result comes back C-contiguous in ``layout``.  ``None`` means the
    canonical layout.  The constructions (:func:`convproof.conv`) call this, so a layout is
    read in one place.

    Examples
    --------
    A one-tap layer summing two channels, on a width-3 input given as ``(W, C)``:

    >>> import convproof as cp
    >>> from convproof.layers.layout import call_in_layout
    >>> spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=1, bias=False, ndim=1)
    >>> x_wc = [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]
    >>> call_in_layout(cp.conv, spec, x_wc, [[[1.0], [1.0]]], None, "WC", None)
    array([[11.],
           [22.],
           [33.]])
    """
    check_spec(spec)
    xa = np.asarray(x)  # callers have checked it (conv: numeric._as_array)
    lay = parse_layout(layout, spec.ndim, batched=xa.ndim == spec.ndim + 2)
    w = weight
    if weight_layout is not None:
        w = parse_weight_layout(weight_layout, spec).to_canonical(weight)
    out = compute(spec, lay.to_canonical(xa), w, bias)
    return np.ascontiguousarray(lay.from_canonical(out, "the result"))


def matrix_orders(
    spec: Any, input_shape: Any, layout: Any
) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
    """What a layer's matrix needs to act on one sample flattened in ``layout``.

    Returns the canonical per-sample input shape ``(C, *spatial)``, the row order and the
    column order: the matrix in ``layout`` is ``T[rows][:, cols]`` for the canonical ``T``
    (``vec_layout(Z) = T[rows][:, cols] @ vec_layout(X)``).  ``input_shape`` is in
    ``layout``, with or without its batch axis (which must come first).

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.layers.layout import matrix_orders
    >>> spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=2, ndim=1)
    >>> shape, rows, cols = matrix_orders(spec, (3, 2), "WC")
    >>> shape, rows.tolist(), cols.tolist()
    ((2, 3), [0, 1], [0, 3, 1, 4, 2, 5])
    """
    check_spec(spec)
    shape = tuple(input_shape) if isinstance(input_shape, tuple | list) else input_shape
    if not isinstance(shape, tuple):
        raise ConvProofError(
            f"input_shape must be a tuple of ints, got input_shape={input_shape!r}"
        )
    lay = parse_layout(layout, spec.ndim, batched=len(shape) == spec.ndim + 2)
    sample_lay = lay.per_sample()
    if lay.batched and len(shape) == len(lay.text):
        shape = shape[1:]
    if len(shape) != len(sample_lay.text):
        raise ConvProofError(
            f"input_shape must have {len(sample_lay.text)} entries ({sample_lay.text}) or "
            f"{len(sample_lay.text) + 1} (N{sample_lay.text}) for layout={lay.text!r}, "
            f"got input_shape={input_shape!r}"
        )
    canonical = sample_lay.canonical_shape(shape)
    out = tuple(spec.output_shape(canonical))
    return canonical, sample_lay.flat_order(out), sample_lay.flat_order(canonical)
