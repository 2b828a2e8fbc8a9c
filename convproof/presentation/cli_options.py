"""The ``convproof`` command's layer options: turned into a spec, and a spec described back.

Shared by the subcommands of :mod:`convproof.presentation.cli_layer`,
:mod:`convproof.presentation.cli_proof` and :mod:`convproof.presentation.cli_network`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.presentation.parse import parse_ints, parse_padding, parse_shape

__all__: list[str] = []

AnySpec = ConvSpec | ConvTransposeSpec | PoolSpec


def _count(text: str | None, name: str, default: int) -> int:
    if text is None:
        return default
    value = parse_ints(text, name, minimum=1)
    if isinstance(value, tuple):
        raise ConvProofError(f"{name} must be one integer, got {name}={text!r}")
    return value


def _norm_type(text: str) -> float:
    """``--norm-type``: a positive finite number, parsed without evaluating the text."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise ConvProofError(f"--norm-type must be a positive number, got --norm-type={text!r}")
    return int(value) if value.is_integer() else value


def _layer(args: argparse.Namespace) -> tuple[AnySpec, tuple[int, ...]]:
    """Build the spec and input shape from the layer options (validating combinations)."""
    if args.input is None:
        raise ConvProofError("--in is required: the input shape, like --in 3x32x32")
    shape = parse_shape(args.input)
    if args.kernel is None:
        raise ConvProofError("--kernel is required: the kernel size, like --kernel 3")
    kernel = parse_ints(args.kernel, "--kernel", minimum=1)
    stride = None if args.stride is None else parse_ints(args.stride, "--stride", minimum=1)
    dilation = 1 if args.dilation is None else parse_ints(args.dilation, "--dilation", minimum=1)
    # a crop (negative padding) only where a --legality profile may admit it; the spec decides
    padding = (
        0 if args.padding is None else parse_padding(args.padding, negative=bool(args.legality))
    )
    out_pad = (
        0
        if args.output_padding is None
        else parse_ints(args.output_padding, "--output-padding", minimum=0)
    )
    # impossible combinations
    if args.output_padding is not None and not args.transposed:
        raise ConvProofError("--output-padding needs --transposed (it only exists for those)")
    if args.pool is not None:
        for flag, given in (
            ("--transposed", args.transposed),
            ("--out-channels", args.out_channels is not None),
            ("--groups", args.groups is not None),
            ("--no-bias", args.no_bias),
            ("--padding-mode", args.padding_mode is not None),
        ):
            if given:
                raise ConvProofError(f"--pool cannot be combined with {flag}")
    else:
        for flag, given in (
            ("--ceil-mode", args.ceil_mode),
            ("--count-include-pad", args.count_include_pad is not None),
            ("--norm-type", args.norm_type is not None),
        ):
            if given:
                raise ConvProofError(f"{flag} needs --pool (it only exists for pooling)")
    if args.transposed and args.padding_mode not in (None, "zeros"):
        raise ConvProofError(
            f"--padding-mode {args.padding_mode} cannot be combined with --transposed "
            f"(transposed convolutions pad with zeros)"
        )
    if args.pool in ("max", "lp") and args.count_include_pad is not None:
        raise ConvProofError(
            f"--count-include-pad needs --pool avg ({args.pool} pooling has no padding divisor)"
        )
    if (args.pool == "lp") != (args.norm_type is not None):
        raise ConvProofError(
            "--norm-type needs --pool lp" if args.pool != "lp" else "--pool lp needs --norm-type P"
        )
    norm_type = None if args.norm_type is None else _norm_type(args.norm_type)
    legality = {} if args.legality is None else {"legality": args.legality}
    ndim = _spatial_dims(
        args,
        shape,
        {
            "--kernel": kernel,
            "--stride": stride,
            "--dilation": dilation,
            "--output-padding": out_pad,
            "--padding": padding,
        },
    )
    c_in = shape[-ndim - 1]
    if args.pool is not None:
        spec: AnySpec = PoolSpec(
            kind=args.pool,
            kernel_size=kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=args.ceil_mode,
            count_include_pad=True if args.count_include_pad is None else args.count_include_pad,
            ndim=ndim,
            norm_type=norm_type,
            **legality,
        )
    else:
        conv: dict[str, Any] = {
            "in_channels": c_in,
            "out_channels": _count(args.out_channels, "--out-channels", 1),
            "kernel_size": kernel,
            "stride": 1 if stride is None else stride,
            "padding": padding,
            "dilation": dilation,
            "groups": _count(args.groups, "--groups", 1),
            "bias": not args.no_bias,
            "ndim": ndim,
            **legality,
        }
        if args.transposed:
            spec = ConvTransposeSpec(**conv, output_padding=out_pad)
        else:
            spec = ConvSpec(**conv, padding_mode=args.padding_mode or "zeros")
    spec.output_shape(shape)  # validates the shape against the layer
    return spec, shape


def _spatial_dims(args: argparse.Namespace, shape: tuple[int, ...], options: dict[str, Any]) -> int:
    """The number of spatial dims: ``--ndim``, else the per-dimension options, else ``--in``.

    ``--in`` alone decides only when it is unambiguous: ``C,L`` (1-D), ``C,H,W`` (2-D) or
    ``N,C,D,H,W`` (3-D with a batch).  Four numbers are either ``N,C,H,W`` (2-D with a
    batch) or ``C,D,H,W`` (3-D), so they need ``--ndim`` (or a per-dimension option).
    An option whose length disagrees with ``--in`` or with another option is named.
    """
    given = args.input
    if args.ndim is not None:
        if not 1 <= args.ndim <= 3:
            raise ConvProofError(f"--ndim must be 1, 2 or 3, got --ndim={args.ndim}")
        ndim, source = args.ndim, f"--ndim {args.ndim}"
    else:
        lengths = {name: len(v) for name, v in options.items() if isinstance(v, tuple)}
        if len(set(lengths.values())) > 1:
            listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
            raise ConvProofError(
                f"per-dimension options must have one entry per spatial dim each, but "
                f"{listed} entries"
            )
        if lengths:
            name, ndim = next(iter(lengths.items()))
            source = f"{name} {getattr(args, name[2:].replace('-', '_'))}"
        elif len(shape) == 4:
            raise ConvProofError(
                f"--in={given!r} is ambiguous: N,C,H,W (a 2-D layer with a batch) or "
                f"C,D,H,W (a 3-D layer); give --ndim 2 or --ndim 3"
            )
        elif len(shape) == 5:
            ndim, source = 3, ""
        else:
            ndim, source = len(shape) - 1, ""
        if not 1 <= ndim <= 3:
            what = source.split()[0] if source else "--in"
            raise ConvProofError(
                f"{what} must describe 1, 2 or 3 spatial dims, got "
                f"{source or f'--in={given!r}'} ({ndim} dims)"
            )
    if len(shape) not in (ndim + 1, ndim + 2):
        sizes = ",".join(["size"] * ndim)
        if source.startswith("--ndim") or not source:
            raise ConvProofError(
                f"--in must be C,{sizes} or N,C,{sizes} for {ndim} spatial dims"
                f"{' (' + source + ')' if source else ''}, got --in={given!r}"
            )
        name, value = source.split(" ", 1)
        raise ConvProofError(
            f"{name} must have one entry per spatial dim of --in, got {name}={value!r} "
            f"({ndim} dims) with --in={given!r} (C,{sizes} or N,C,{sizes} expected; "
            f"or give --ndim)"
        )
    return int(ndim)


def _describe(spec: AnySpec) -> str:
    """``Conv2d(3 -> 5), kernel_size=3, padding='same'``: only non-default settings."""
    from convproof.presentation.text import _layer_name

    def fmt(t: Any) -> str:
        if isinstance(t, tuple) and t and all(v == t[0] for v in t):
            return fmt(t[0])
        return str(t)

    parts = [_layer_name(spec), f"kernel_size={fmt(spec.kernel_size)}"]
    if spec.stride != spec.kernel_size or not isinstance(spec, PoolSpec):
        if any(s != 1 for s in spec.stride) or isinstance(spec, PoolSpec):
            parts.append(f"stride={fmt(spec.stride)}")
    if isinstance(spec.padding, str):
        parts.append(f"padding={spec.padding!r}")
    elif any(p for pair in spec.padding for p in pair):
        sym = all(a == b for a, b in spec.padding)
        parts.append(f"padding={fmt(tuple(a for a, _ in spec.padding)) if sym else spec.padding}")
    if any(d != 1 for d in spec.dilation):
        parts.append(f"dilation={fmt(spec.dilation)}")
    if isinstance(spec, ConvTransposeSpec) and any(spec.output_padding):
        parts.append(f"output_padding={fmt(spec.output_padding)}")
    if not isinstance(spec, PoolSpec):
        if spec.groups != 1:
            parts.append(f"groups={spec.groups}")
        if not spec.bias:
            parts.append("bias=False")
    if spec.padding_mode != "zeros":
        parts.append(f"padding_mode={spec.padding_mode!r}")
    if isinstance(spec, PoolSpec):
        if spec.ceil_mode:
            parts.append("ceil_mode=True")
        if spec.kind == "avg" and not spec.count_include_pad:
            parts.append("count_include_pad=False")
        if spec.kind == "lp":
            parts.append(f"norm_type={spec.norm_type}")
    if spec.legality != "pytorch":
        parts.append(f"legality={spec.legality!r}")
    return ", ".join(parts)


def _shape_str(t: Sequence[Any]) -> str:
    return "(" + ", ".join(str(v) for v in t) + ("," if len(t) == 1 else "") + ")"


def _given(args: argparse.Namespace, flags: Sequence[str]) -> list[str]:
    """The options among ``flags`` (like ``"--out-channels"``) given on the command line."""
    values = [(f, getattr(args, f[2:].replace("-", "_"))) for f in flags]
    return [f for f, v in values if v is not None and v is not False]  # False: a switch not set


def _emit_json(data: Any) -> None:
    from convproof.presentation.render import to_json

    print(to_json(data))
