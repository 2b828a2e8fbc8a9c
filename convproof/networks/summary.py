"""``summary(model, input_shape)``: a per-layer table of shapes, counts and receptive fields.

``model`` is a convproof :class:`~convproof.networks.graph.Network` (built in Python, read from JSON
or one of the shipped ``load_network`` names) or a PyTorch ``nn.Module`` (traced with
``torch.fx``; torch is imported only then).  The result, :class:`Summary`, has one
:class:`Row` per layer and the totals, and renders as a text table in the style of
``torchinfo.summary``, as Markdown, or as JSON.

Conventions (stated once under every rendering): one MAC is one multiply-accumulate, per
sample, of conv, transposed conv (counted on *input* positions) and linear layers, bias
excluded — torchvision's "GFLOPS" column; FLOPs = 2 x MACs; bias additions are a separate
total.  Each row shows the layer's *own* kernel, stride and padding next to the
*cumulative* receptive field, effective stride and effective padding.  Table cells give
counts in K/M/G (3 significant digits); rows, totals and JSON keep exact integers.
Parameters count learnable tensors only (batch norm: weight and bias); running statistics
and batch norm's ``num_batches_tracked`` counter are *buffers*, counted as PyTorch's
``sum(b.numel() for b in module.buffers())``.

Examples
--------
>>> import convproof as cp
>>> s = cp.summary(cp.load_network("resnet18"), (3, 224, 224))
>>> s.total_params, s.total_macs
(11689512, 1814073344)
>>> s["layer4.1.relu@1"].receptive_field, s["layer4.1.relu@1"].effective_stride
((435, 435), (32, 32))
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy

from convproof.errors import ConvProofError
from convproof.networks import tables
from convproof.networks.folding import fold_rows, own_window
from convproof.networks.graph import Network, NodeResult, _split_inputs, analyze
from convproof.networks.receptive import region
from convproof.networks.tables import RowTable
from convproof.networks.values import norm

__all__ = ["ConvProofWarning", "ReceptiveRegion", "Row", "Summary", "receptive_region", "summary"]


class ConvProofWarning(UserWarning):
    """A result is still given, with a caveat (branches joined without alignment)."""


@dataclass(frozen=True)
class Row:
    """One layer of a :class:`Summary`.

    Attributes
    ----------
    name : str
        Node name (the module path for PyTorch models).
    kind : str
        ``"conv"``, ``"max_pool"``, ``"relu"``, ``"add"``, ...
    output_shape : tuple
        Batch included when the input shape had one.
    params : int or sympy.Expr
        Learnable parameters (0 for a module called a second time).
    buffers : int
        Non-learnable state, counted as PyTorch's ``sum(b.numel() for b in
        module.buffers())``: batch norm's running mean and variance and its one-element
        ``num_batches_tracked`` counter (``2 C + 1``).
    macs, bias_adds, flops : int or sympy.Expr
        Multiply-accumulates (bias excluded), bias additions, FLOPs ``= 2 * macs``.
    receptive_field, effective_stride, effective_padding : tuple or None
        Per spatial axis ``r``, ``S``, ``P`` (Araujo et al. 2019), cumulative from the
        input; ``None`` when undefined (see ``note``).
    note : str
    kernel_size, stride, padding, dilation : tuple or None
        The layer's **own** window per spatial axis (conv, transposed conv, pooling;
        ``None`` for other layers and folded rows).  ``padding`` per axis is an int, a
        ``(before, after)`` pair when the sides differ, or a padding name when the amount
        depends on a symbolic input size.
    frozen_params : int or sympy.Expr
        How many of ``params`` are frozen (PyTorch ``requires_grad=False``);
        :attr:`trainable_params` is the rest.
    """

    name: str
    kind: str
    output_shape: tuple[Any, ...]
    params: Any
    buffers: Any
    macs: Any
    bias_adds: Any
    flops: Any
    receptive_field: tuple[Any, ...] | None
    effective_stride: tuple[Any, ...] | None
    effective_padding: tuple[Any, ...] | None
    note: str = ""
    kernel_size: tuple[Any, ...] | None = None
    stride: tuple[Any, ...] | None = None
    padding: tuple[Any, ...] | None = None
    dilation: tuple[Any, ...] | None = None
    frozen_params: Any = 0

    @property
    def trainable_params(self) -> Any:
        """``params - frozen_params``: what an optimiser updates.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.summary(cp.Network([("fc", cp.Linear(4, 2))]), (4,))["fc"].trainable_params
        10
        """
        return norm(self.params - self.frozen_params)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (Fractions and SymPy expressions become strings).

        Examples
        --------
        >>> import convproof as cp
        >>> s = cp.summary(cp.Network([("fc", cp.Linear(4, 2))]), (4,))
        >>> s["fc"].to_dict()["macs"]
        8
        """
        return tables.row_dict(self)


@dataclass(frozen=True)
class ReceptiveRegion:
    """The input region seen by one output feature (Araujo et al. 2019).

    Per spatial axis, output index ``y`` of a layer with receptive field ``r``, effective
    stride ``S`` and effective padding ``P`` sees input positions ``start..stop`` (inclusive)
    with ``start = -P + y S``, ``stop = start + r - 1`` and centre ``start + (r - 1)/2``.
    Positions outside ``[0, size)`` are padding.  After a transposed convolution the bounds
    may be fractions: the integer positions inside them form a bounding interval.

    **``stop`` is inclusive** (the last position seen), unlike Python's ``range`` / slice
    ``stop``; :attr:`end_exclusive` is ``stop + 1``, for ``range(start, end_exclusive)`` and
    slices.  The repr says so.

    Attributes
    ----------
    layer : str
    index : tuple of int
        The output position (spatial).
    start : tuple
        First input position seen, per axis (may be negative: padding).
    stop : tuple
        **Last** input position seen, per axis (inclusive).
    centre : tuple
        ``start + (r - 1)/2`` per axis.
    size : tuple
        The receptive field ``r`` per axis, ``stop - start + 1``.

    Examples
    --------
    >>> import convproof as cp
    >>> net = cp.Network([("conv", cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3,
    ...                                        ndim=1))])
    >>> region = cp.receptive_region(net, (1, 9), (2,))
    >>> region
    ReceptiveRegion(layer='conv', index=(2,), start=(2,), stop=(4,) (inclusive),
                    end_exclusive=(5,), centre=(3,), size=(3,))
    >>> list(range(region.start[0], region.end_exclusive[0]))
    [2, 3, 4]
    """

    layer: str
    index: tuple[int, ...]
    start: tuple[Any, ...]
    stop: tuple[Any, ...]
    centre: tuple[Any, ...]
    size: tuple[Any, ...]

    @property
    def end_exclusive(self) -> tuple[Any, ...]:
        """``stop + 1`` per axis: the exclusive end, like Python's ``range`` / slice stop."""
        return tuple(norm(v + 1) for v in self.stop)

    def __repr__(self) -> str:
        return (
            f"ReceptiveRegion(layer={self.layer!r}, index={self.index!r}, "
            f"start={self.start!r}, stop={self.stop!r} (inclusive), "
            f"end_exclusive={self.end_exclusive!r}, centre={self.centre!r}, size={self.size!r})"
        )

    def clipped(self, input_spatial: Sequence[int]) -> tuple[tuple[Any, Any], ...]:
        """``(first, last)`` real input positions per axis (bounds rounded inward, clipped).

        Examples
        --------
        >>> import convproof as cp
        >>> s = cp.summary(cp.load_network("vgg16"), (3, 224, 224))
        >>> s.receptive_region("features.30", (0, 3)).clipped((224, 224))
        ((0, 121), (6, 217))
        """
        out = []
        for lo, hi, n in zip(self.start, self.stop, input_spatial):
            if not isinstance(lo, int | Fraction) or not isinstance(hi, int | Fraction):
                raise ConvProofError(
                    f"clipped needs a numeric region, got start={self.start!r}, stop={self.stop!r}"
                )
            out.append((max(0, math.ceil(lo)), min(n - 1, math.floor(hi))))
        return tuple(out)


def _sum(values: Sequence[Any]) -> Any:
    total: Any = 0
    for v in values:
        if v is not None:  # unknown (an operation convproof does not model)
            total = total + v
    if isinstance(total, sympy.Basic):
        total = sympy.expand(total)
        return int(total) if total.is_Integer else total
    return total


class Summary(RowTable):
    """Per-layer rows and totals of a network for one input shape (see :func:`summary`).

    Attributes
    ----------
    name : str
    input_shape, output_shape : tuple
    rows : tuple of Row
        One row per layer, or per module with ``depth=`` (see :func:`summary`).
    leaf_rows : tuple of Row
        One row per layer (equal to ``rows`` unless folded).
    depth : int or None
    total_params, total_buffers, total_macs, total_bias_adds, total_flops : int or sympy.Expr
        Always over every layer (folding does not change them).
    total_trainable_params, total_frozen_params : int or sympy.Expr

    Examples
    --------
    >>> import convproof as cp
    >>> s = cp.summary(cp.load_network("alexnet"), (1, 3, 224, 224))
    >>> s.output_shape, s.total_params
    ((1, 1000), 61100840)
    """

    def __init__(
        self,
        name: str,
        input_shape: tuple[Any, ...],
        rows: Sequence[Row],
        *,
        depth: int | None = None,
        kinds: dict[str, str] | None = None,
    ) -> None:
        if depth is not None and (
            isinstance(depth, bool) or not isinstance(depth, int) or depth < 1
        ):
            raise ConvProofError(f"depth must be an int >= 1 or None, got depth={depth!r}")
        self.name = name
        self.input_shape = tuple(input_shape)
        self.leaf_rows: tuple[Row, ...] = tuple(rows)
        self.depth = depth
        self._kinds = kinds
        leaves = self.leaf_rows
        self.rows: tuple[Row, ...] = (
            leaves if depth is None else tuple(fold_rows(leaves, depth, kinds))
        )
        self.output_shape = leaves[-1].output_shape
        self.total_params = _sum([r.params for r in leaves])
        self.total_frozen_params = _sum([r.frozen_params for r in leaves])
        self.total_trainable_params = norm(self.total_params - self.total_frozen_params)
        self.total_buffers = _sum([r.buffers for r in leaves])
        self.total_macs = _sum([r.macs for r in leaves])
        self.total_bias_adds = _sum([r.bias_adds for r in leaves])
        self.total_flops = _sum([r.flops for r in leaves])
        #: Layers whose MACs are unknown (left out of the totals).
        self.unknown_macs: tuple[str, ...] = tuple(r.name for r in leaves if r.macs is None)
        #: Joins whose branches are not aligned (receptive fields unknown from there on).
        self.unaligned: tuple[str, ...] = tuple(
            r.name for r in leaves if unaligned_join(r.name, r.receptive_field, r.note)
        )
        self._index()

    def __repr__(self) -> str:
        return (
            f"Summary(name={self.name!r}, {len(self.rows)} rows, "
            f"total_params={self.total_params}, total_macs={self.total_macs})"
        )

    def _repr_markdown_(self) -> str:
        """Jupyter shows a summary as its Markdown table (the last expression of a cell)."""
        return self.to_markdown()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain-text display: the fixed-width table, not the one-line repr."""
        printer.text(self.to_text())

    def __str__(self) -> str:
        return self.to_text()

    def subs(self, mapping: dict[Any, int]) -> Summary:
        """Substitute sizes into a symbolic summary (e.g. ``{H: 224}``): a new Summary.

        Examples
        --------
        >>> import convproof as cp, sympy
        >>> H = sympy.Symbol("H", integer=True, positive=True)
        >>> s = cp.summary(cp.load_network("resnet18"), (3, H, H))
        >>> s.subs({H: 224}).total_macs
        1814073344
        """
        if not isinstance(mapping, dict):
            raise ConvProofError(f"mapping must be a dict of symbol -> int, got {mapping!r}")

        def sub(v: Any) -> Any:
            if isinstance(v, tuple):
                return tuple(sub(x) for x in v)
            if isinstance(v, sympy.Basic):
                return norm(v.subs(mapping))
            return v

        rows = [
            dataclasses.replace(
                r,
                **{
                    f.name: sub(getattr(r, f.name))
                    for f in dataclasses.fields(r)
                    if f.name not in ("name", "kind", "note")
                },
            )
            for r in self.leaf_rows
        ]
        return Summary(self.name, sub(self.input_shape), rows, depth=self.depth, kinds=self._kinds)

    # -- receptive regions ----------------------------------------------------------------
    def receptive_region(self, layer: str | None = None, index: Sequence[int] = ()) -> Any:
        """The input region and centre seen by output ``index`` (spatial) of ``layer``.

        Parameters
        ----------
        layer : str, optional
            Row name; default the last row with a receptive field.
        index : tuple of int
            One index per spatial axis of that layer's output.

        Returns
        -------
        ReceptiveRegion

        Raises
        ------
        ConvProofError
            If the layer has no receptive field (``note`` says why) or the index is out of
            range.

        Examples
        --------
        >>> import convproof as cp
        >>> s = cp.summary(cp.load_network("vgg16"), (3, 224, 224))
        >>> region = s.receptive_region("features.30", (0, 3))
        >>> region.start, region.stop, [str(c) for c in region.centre]
        ((-90, 6), (121, 217), ['31/2', '223/2'])
        """
        if layer is None:
            candidates = [r for r in self.rows if r.receptive_field is not None]
            if not candidates:
                raise ConvProofError("no layer of this summary has a receptive field")
            row = candidates[-1]
        else:
            row = self[layer]
        if row.receptive_field is None:
            raise ConvProofError(
                f"layer {row.name!r} has no receptive field ({row.note or 'undefined'})"
            )
        spatial = row.output_shape[-len(row.receptive_field) :]
        idx = tuple(index)
        if len(idx) != len(spatial) or any(
            isinstance(i, bool) or not isinstance(i, int) for i in idx
        ):
            raise ConvProofError(
                f"index must be a tuple of {len(spatial)} ints (one per spatial axis), "
                f"got index={index!r}"
            )
        for i, n in zip(idx, spatial):
            if isinstance(n, int) and not 0 <= i < n:
                raise ConvProofError(
                    f"index must lie inside the output {tuple(spatial)} of {row.name!r}, "
                    f"got index={index!r}"
                )
        assert row.effective_stride is not None and row.effective_padding is not None
        rf = tuple(zip(row.receptive_field, row.effective_stride, row.effective_padding))
        start, stop, centre = region(rf, idx)
        return ReceptiveRegion(row.name, idx, start, stop, centre, row.receptive_field)

    # -- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: rows, totals and the counting conventions.

        Examples
        --------
        >>> import convproof as cp
        >>> d = cp.summary(cp.load_network("mobilenet_v2"), (3, 224, 224)).to_dict()
        >>> d["total_params"], d["total_macs"], d["rows"][0]["name"]
        (3504872, 300774272, 'features.0.0')
        """
        return tables.summary_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text.

        Examples
        --------
        >>> import convproof as cp, json
        >>> s = cp.summary(cp.Network([("fc", cp.Linear(4, 2))]), (4,))
        >>> json.loads(s.to_json())["total_params"]
        10
        """
        return json.dumps(self.to_dict(), indent=indent)

    def to_text(self, *, exact: bool = False) -> str:
        """A fixed-width table in the style of ``torchinfo.summary``, totals underneath.

        Params and MACs cells are in K/M/G (3 significant digits) unless ``exact``; the
        totals are exact, with the rounded figure in brackets.

        Examples
        --------
        >>> import convproof as cp
        >>> net = cp.Network([("conv", cp.ConvSpec(in_channels=1, out_channels=2,
        ...                                        kernel_size=3)),
        ...                   ("pool", cp.PoolSpec(kind="max", kernel_size=2))])
        >>> print(cp.summary(net, (1, 8, 8)).to_text())
        ===========================================================================================
        Layer (kind)     Output shape  Params  MACs  Kernel  Stride  Pad  RF  Eff. stride  Eff. pad
        ===========================================================================================
        conv (conv)      [2, 6, 6]     20      648   3       1       0    3   1            0
        pool (max_pool)  [2, 3, 3]     --      --    2       2       0    4   2            0
        ===========================================================================================
        Total params: 20
        Total MACs: 648
        Total FLOPs: 1,296 (1.30K)
        Bias adds: 72
        1 MAC = one multiply-accumulate, per sample, of conv, transposed conv (on input
        positions), linear and interpolation layers, bias excluded; FLOPs = 2 x MACs.
        Kernel, Stride, Pad: the layer's own (l/r: per side); RF, Eff. stride, Eff. pad:
        cumulative from the input.
        ===========================================================================================
        """
        return tables.summary_text(self, exact)

    def to_markdown(self, *, exact: bool = False) -> str:
        """A Markdown table with a totals row and the conventions underneath (Params and
        MACs cells in K/M/G unless ``exact``).

        Examples
        --------
        >>> import convproof as cp
        >>> net = cp.Network([("fc", cp.Linear(4, 2))])
        >>> md = cp.summary(net, (4,)).to_markdown().splitlines()
        >>> for line in md[2:4]:
        ...     print(line)
        | fc (linear) | [2] | 10 | 8 |  |  |  | — | — | — |
        | **Total** |  | **10** | **8** |  |  |  |  |  |  |
        >>> print(md[-1])  # doctest: +NORMALIZE_WHITESPACE
        Total FLOPs: 16; bias adds: 2. 1 MAC = one multiply-accumulate, per sample, of conv,
        transposed conv (on input positions), linear and interpolation layers, bias excluded;
        FLOPs = 2 x MACs. Kernel, Stride, Pad: the layer's own (l/r: per side); RF, Eff.
        stride, Eff. pad: cumulative from the input.
        """
        return tables.summary_markdown(self, exact)


def unaligned_join(name: str, receptive_field: Any, note: str | None) -> bool:
    """Whether a row is a join whose branches are not aligned (the note the receptive-field
    analysis leaves on it, :mod:`convproof.networks.receptive`)."""
    note = note or ""
    return receptive_field is None and (
        f"joined at {name!r}" in note or f"alignment at {name!r}" in note
    )


def _rows(
    net: Network, results: list[NodeResult], batch: tuple[Any, ...], samples: list[Any]
) -> list[Row]:
    shapes: dict[str, Any] = dict(zip(net.inputs, samples))
    rows = []
    for node, r in zip(net.nodes, results):
        flops = None if r.macs is None else 2 * r.macs
        kernel, stride, padding, dilation = own_window(node.layer, shapes.get(node.inputs[0])) or (
            None,
            None,
            None,
            None,
        )
        shapes[r.name] = r.shape
        rows.append(
            Row(
                r.name,
                r.kind,
                (*batch, *r.shape),
                r.params,
                r.buffers,
                r.macs,
                r.bias_adds,
                norm(sympy.expand(flops)) if isinstance(flops, sympy.Basic) else flops,
                r.receptive_field,
                r.effective_stride,
                r.effective_padding,
                r.note,
                kernel_size=kernel,
                stride=stride,
                padding=padding,
                dilation=dilation,
                frozen_params=0 if node.shared else node.frozen_params,
            )
        )
    return rows


def _module_kinds(model: Any) -> dict[str, str] | None:
    """Module path -> class name of a PyTorch model (``None`` for a convproof network)."""
    if isinstance(model, Network):
        return None
    return {path: type(mod).__name__ for path, mod in model.named_modules() if path}


def summary(
    model: Any,
    input_shape: Sequence[Any],
    *,
    check_alignment: bool | None = None,
    depth: int | None = None,
) -> Summary:
    """Per-layer output shapes, parameters, MACs and receptive fields, plus totals.

    Parameters
    ----------
    model : Network or torch.nn.Module
        A convproof network, or a PyTorch module (traced with ``torch.fx``; no forward pass
        is run).
    input_shape : tuple or list of tuples
        ``(C, *spatial)`` or ``(N, C, *spatial)``.  Spatial sizes may be SymPy integer
        symbols: shapes and MACs become ``floor`` expressions, receptive fields and
        effective strides stay numbers (TF ``SAME`` makes the effective padding symbolic).
        A model whose ``forward`` takes several tensors (a network with several
        ``inputs``) takes a list of shapes, one per input, in order.
    check_alignment : bool or None
        Branches joined by add/concat that are not aligned (a ResNet-D average-pool
        shortcut, an even-kernel ``padding='same'`` residual): by default (``None``) a
        :class:`ConvProofWarning` per join, and the join and everything after it have
        receptive field ``None`` and a note saying which join; ``True`` raises
        :class:`ConvProofError` instead; ``False`` is silent.  Params and MACs are counted
        in every case.
    depth : int or None
        Fold nested modules as ``torchinfo.summary(depth=...)`` does: rows whose name has
        more than ``depth`` dot-separated parts (``layer1.0.conv1`` is at depth 3) are merged
        into their ancestor's row (named ``layer1.0`` for ``depth=2``): params, frozen
        params, buffers, MACs, bias adds and FLOPs summed, output shape and receptive field
        of the module's last row.  Totals are unchanged; ``leaf_rows`` keeps every layer.

    Returns
    -------
    Summary
        ``rows`` (name, kind, output shape, params, buffers, MACs, bias adds, FLOPs,
        receptive field, effective stride, effective padding), ``total_params``,
        ``total_macs``, ``total_bias_adds``, ``total_flops``; ``to_text``, ``to_markdown``,
        ``to_json``, ``receptive_region``.

    Raises
    ------
    ConvProofError
        Bad input shape, layers that do not fit, unsupported torch modules, or unaligned
        branches.

    Notes
    -----
    MACs follow torchvision: conv ``C_out prod(o) (C_in/g) prod(k)``; transposed conv on
    input positions ``C_in prod(i) (C_out/g) prod(k)``; linear ``in * out``; pooling, batch
    norm, activations and adds 0.  Receptive fields follow Araujo, Norris & Sim (2019); see
    :func:`convproof.networks.graph.analyze`.

    Examples
    --------
    >>> import convproof as cp
    >>> s = cp.summary(cp.load_network("vgg16"), (3, 224, 224))
    >>> s.total_params, s.total_macs
    (138357544, 15470264320)
    >>> row = s["features.30"]
    >>> row.output_shape, row.receptive_field, row.effective_stride, row.effective_padding
    ((512, 7, 7), (212, 212), (32, 32), (90, 90))
    """
    from convproof.networks.torch_import import as_network

    net = as_network(model, input_shape)
    batch, samples = _split_inputs(net, input_shape)
    results = analyze(net, input_shape, check_alignment=bool(check_alignment))
    if check_alignment is None:
        for r in results:
            if unaligned_join(r.name, r.rf, r.note):
                warnings.warn(
                    f"{r.note}; receptive fields from there on are None "
                    f"(check_alignment=True raises, False is silent)",
                    ConvProofWarning,
                    stacklevel=2,
                )
    shape = tuple(input_shape) if len(net.inputs) == 1 else tuple(map(tuple, input_shape))
    rows = _rows(net, results, batch, samples)
    return Summary(net.name, shape, rows, depth=depth, kinds=_module_kinds(model))


def receptive_region(
    model: Any, input_shape: Sequence[Any], index: Sequence[int], layer: str | None = None
) -> ReceptiveRegion:
    """The input region and centre seen by output ``index`` of ``layer`` (default: the last
    layer with a receptive field).

    Examples
    --------
    >>> import convproof as cp
    >>> net = cp.Network([("conv", cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3,
    ...                                        stride=2, padding=1, ndim=1))])
    >>> r = cp.receptive_region(net, (1, 9), (4,))
    >>> r.start, r.stop, r.centre
    ((7,), (9,), (8,))
    """
    return summary(model, input_shape).receptive_region(layer, index)
