"""The ``convproof`` command.

=========  ===========================================================================
command    does
=========  ===========================================================================
shape      output shape, resolved padding, parameters and MACs of one layer
explain    the exact sum behind one output element (text, ``--latex``)
matrix     build and export the conv matrix (``--format mtx|npz|latex|png``)
prove      prove the conv matrix equals the sliding-window sum (or ``--general``)
check      property-test your conv function ``module:function`` against the reference
net        the summary table of a network description (JSON file or shipped name)
=========  ===========================================================================

Every command takes ``--json``.  Exit codes: 0 success, 1 a proof or check failed, 2 bad
input (one line ``convproof: error: ...`` on stderr, never a traceback).  User text is parsed
by :mod:`convproof.presentation.parse` (no ``eval``, no ``sympify``).  Heavy modules (SymPy, SciPy,
matplotlib, PyTorch) are imported inside the subcommands that need them.

Examples
--------
>>> main(["shape", "--in", "3x32x32", "--kernel", "5", "--stride", "2"])
layer         Conv2d(3 -> 1), kernel_size=5, stride=2
input shape   (3, 32, 32)
output shape  (1, 14, 14)
padding       ((0, 0), (0, 0))
weight shape  (1, 3, 5, 5)
bias shape    (1,)
params        76
MACs          14,700 (per sample, bias excluded)
dim 0         floor((32 + 0 + 0 - 5) / 2) + 1 = 14
dim 1         floor((32 + 0 + 0 - 5) / 2) + 1 = 14
0
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from convproof import __version__
from convproof.errors import ConvProofError, MemoryLimitError
from convproof.layers.spec import PADDING_MODES, ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.presentation.parse import (
    parse_bytes,
    parse_index,
    parse_ints,
    parse_padding,
    parse_shape,
)

__all__ = ["main"]

AnySpec = ConvSpec | ConvTransposeSpec | PoolSpec

#: Symbolic matrices are refused above this many non-zeros (use --weight for numbers).
_SYMBOLIC_NNZ_LIMIT = 20_000
#: Matrices are printed entry by entry up to this size.
_PRINT_ROWS, _PRINT_COLS = 16, 24


class _UsageError(Exception):
    """A bad command line (argparse's complaint), reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # --strid must not mean --stride
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("convproof").strip()
        raise _UsageError(f"{command}: {message}" if command else message)


# --------------------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------------------


#: Example command lines shown by each subcommand's --help.
_EXAMPLES = {
    "shape": (
        "convproof shape --in 3x32x32 --kernel 5 --stride 2",
        "convproof shape --in 3x224x224 --out-channels 64 --kernel 7 --stride 2 --padding SAME",
        "convproof shape --in 5x8x8 --transposed --out-channels 3 --kernel 3 --stride 2 "
        "--output-padding 1",
        "convproof shape --in 1x5 --pool avg --kernel 2 --ceil-mode",
    ),
    "explain": (
        "convproof explain --in 3x25x25 --out-channels 5 --kernel 3 --padding same --at 4,0,0",
        "convproof explain --in 1x4x4 --kernel 3 --padding 1 --padding-mode circular --latex",
        "convproof explain --in 1x5x5 --kernel 3 --stride 2 --padding 1 --picture slide.gif",
    ),
    "matrix": (
        "convproof matrix --in 1x3x3 --kernel 2 --no-bias",
        "convproof matrix --in 1x4x4 --kernel 3 --weight w.npy --format mtx --output T.mtx",
        "convproof matrix --in 2x4x4 --out-channels 2 --kernel 3 --format png --output T.png",
    ),
    "prove": (
        "convproof prove --in 3x25x25 --out-channels 5 --kernel 3 --padding same",
        "convproof prove --general --ndim 2 --claim all",
        "convproof prove --net resnet18 --in 3x64x64",
        "convproof prove --net my_network.json --quiet",
    ),
    "check": (
        "convproof check mypackage.ops:conv2d --max-examples 200",
        "convproof check path/to/kernels.py:my_conv --ndim 1",
        "convproof check convproof.examples:flipped_conv --seed 0",
        "convproof check --backward convproof.examples:assign_conv_backward --seed 0",
    ),
    "net": (
        "convproof net vgg16",
        "convproof net resnet18 --in 3x64x64 --markdown",
        "convproof net my_network.json --json",
    ),
}


def _examples(command: str) -> str:
    return "examples:\n" + "\n".join("  " + line for line in _EXAMPLES[command])


def _layer_options() -> _Parser:
    p = _Parser(add_help=False)
    g = p.add_argument_group("layer")
    g.add_argument(
        "--in",
        dest="input",
        metavar="SHAPE",
        help="input shape, channels first: 3x32x32 or 3,32,32; C,L is 1-D, C,H,W 2-D, "
        "N,C,D,H,W 3-D; four numbers (N,C,H,W or C,D,H,W) need --ndim",
    )
    g.add_argument("--out-channels", metavar="N", help="output channels (default 1)")
    g.add_argument("--kernel", metavar="K", help="kernel size: 3 or 3,5")
    g.add_argument("--stride", metavar="S", help="stride: 2 or 2,1 (default 1; pooling: kernel)")
    g.add_argument(
        "--padding",
        metavar="P",
        help="1, 1,2, (1,2),(0,1), valid, same, full, SAME_UPPER (= TF SAME) or SAME_LOWER",
    )
    g.add_argument("--dilation", metavar="D", help="dilation: 2 or 2,1 (default 1)")
    g.add_argument("--groups", metavar="G", help="groups (default 1)")
    g.add_argument("--no-bias", action="store_true", help="the layer has no bias")
    g.add_argument("--padding-mode", choices=PADDING_MODES, help="padding values (default zeros)")
    g.add_argument("--transposed", action="store_true", help="a transposed convolution")
    g.add_argument("--output-padding", metavar="OP", help="transposed conv: added at the end")
    g.add_argument("--pool", choices=("max", "avg"), help="a pooling layer instead of a conv")
    g.add_argument("--ceil-mode", action="store_true", help="pooling: round the output size up")
    g.add_argument(
        "--count-include-pad",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="average pooling: count padding in the divisor (default: yes)",
    )
    g.add_argument(
        "--ndim",
        type=int,
        help="spatial dims (default: from per-dimension options, else from --in)",
    )
    return p


def _json_option() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="convproof",
        description="Exact, checkable convolution arithmetic.",
        epilog="exit status: 0 success, 1 a proof or check failed, 2 bad input",
    )
    parser.add_argument("--version", action="version", version=f"convproof {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    layer, js = _layer_options(), _json_option()

    p = sub.add_parser(
        "shape",
        epilog=_examples("shape"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[layer, js],
        help="output shape, padding, params and MACs of a layer",
        description="Output shape, resolved padding, parameters and MACs of one layer.",
    )
    p.set_defaults(run=_cmd_shape)

    p = sub.add_parser(
        "explain",
        epilog=_examples("explain"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[layer, js],
        help="the exact sum behind one output element",
        description="The exact sum behind one output element: how the input channels "
        "collapse into one number.",
    )
    p.add_argument("--at", metavar="C,I,J", help="output index (default: the first element)")
    p.add_argument("--latex", action="store_true", help="print LaTeX")
    p.add_argument(
        "--picture",
        metavar="FILE",
        help="also draw the kernel sliding over the padded input: FILE.gif (animated, at "
        "most 100 frames) or FILE.png/.svg/.pdf (a strip of at most 16 frames); with more "
        "output positions, frames are spaced evenly and always include --at; needs matplotlib",
    )
    p.add_argument(
        "--max-bytes",
        metavar="N",
        help="refuse a --picture estimated to need more than N bytes of memory, e.g. 16G or "
        "512M (default: the library's limit, stated in the refusal)",
    )
    p.set_defaults(run=_cmd_explain)

    p = sub.add_parser(
        "matrix",
        epilog=_examples("matrix"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[layer, js],
        help="build and export the conv matrix",
        description="Build the conv matrix T (vec(Z) = T vec(X) + bias), print its shape, "
        "non-zeros and block structure, and export it.",
    )
    p.add_argument("--weight", metavar="FILE.npy", help="numeric weights (default: symbolic)")
    p.add_argument("--format", choices=("mtx", "npz", "latex", "png"), help="export format")
    p.add_argument("--output", "-o", metavar="FILE", help="write the export here")
    p.add_argument(
        "--max-bytes",
        metavar="N",
        help="refuse a matrix estimated above N bytes (default 4G); e.g. 16G, 512M",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar on stderr")
    p.set_defaults(run=_cmd_matrix)

    p = sub.add_parser(
        "prove",
        epilog=_examples("prove"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[layer, js],
        help="prove the conv matrix equals the sliding-window sum",
        description="Prove that the conv matrix and the sliding-window sum are the same map: "
        "exactly for --in, or for symbolic sizes with --general.",
    )
    p.add_argument("--general", action="store_true", help="prove for symbolic sizes")
    p.add_argument(
        "--claim",
        choices=("conv", "conv_transpose", "stride", "output_size", "all"),
        help="with --general: which identity (default conv; conv_transpose with --transposed)",
    )
    p.add_argument("--seed", type=int, default=0, help="with --general: spot-check seed")
    p.add_argument(
        "--net",
        metavar="FILE.json|NAME",
        help="prove every conv, transposed conv and pool layer of a network description "
        "(JSON file or e.g. resnet50) at --in (default: the file's input shape)",
    )
    p.add_argument(
        "--model",
        metavar="MODULE:CALLABLE",
        help="the same for a PyTorch module: MODULE:CALLABLE names an nn.Module or a "
        "function returning one (traced with torch.fx), e.g. torchvision.models:resnet50; "
        "needs --in",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar on stderr")
    p.add_argument(
        "--max-bytes",
        metavar="N",
        help="refuse a proof estimated to need more than N bytes of memory, e.g. 16G or 512M "
        "(default: the library's limit, stated in the refusal)",
    )
    p.set_defaults(run=_cmd_prove)

    p = sub.add_parser(
        "check",
        epilog=_examples("check"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[js],
        help="property-test your conv function module:function",
        description="Property-test a conv function with PyTorch's functional signature "
        "fn(x, weight, bias=None, stride=..., padding=..., dilation=..., groups=...) "
        "against convproof's reference: NumPy arrays in and out, or a PyTorch function "
        "as it is (e.g. torch.nn.functional:conv2d; tensors are converted).",
    )
    p.add_argument("function", metavar="MODULE:FUNCTION", help="e.g. mypkg.ops:conv2d")
    p.add_argument("--ndim", type=int, default=2, help="spatial dims (default 2)")
    p.add_argument("--max-examples", type=int, default=100, help="examples (default 100)")
    p.add_argument(
        "--kind",
        choices=("conv", "conv-transpose", "max-pool", "avg-pool"),
        default="conv",
        help="what the function computes (default conv; signatures as torch.nn.functional)",
    )
    p.add_argument("--seed", type=int, help="seed for a reproducible run")
    p.add_argument(
        "--backward",
        action="store_true",
        help="the function is a backward pass: fn(grad_output, x, weight, bias, stride=..., "
        "...) -> (grad_input, grad_weight, grad_bias) (pooling: -> grad_input)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.set_defaults(run=_cmd_check)

    p = sub.add_parser(
        "net",
        epilog=_examples("net"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[js],
        help="summary table of a network description",
        description="Per-layer output shapes, params, MACs and receptive fields of a network "
        "description file (JSON) or a shipped network name.",
    )
    p.add_argument("network", metavar="FILE.json|NAME", help="a JSON file or e.g. vgg16")
    p.add_argument("--in", dest="input", metavar="SHAPE", help="input shape (default: the file's)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument(
        "--check-alignment",
        choices=["warn", "error", "off"],
        default="warn",
        help="branches joined without alignment: a warning and None receptive fields "
        "(default), an error, or silent",
    )
    p.set_defaults(run=_cmd_net)
    return parser


# --------------------------------------------------------------------------------------
# layer options -> spec
# --------------------------------------------------------------------------------------


def _count(text: str | None, name: str, default: int) -> int:
    if text is None:
        return default
    value = parse_ints(text, name, minimum=1)
    if isinstance(value, tuple):
        raise ConvProofError(f"{name} must be one integer, got {name}={text!r}")
    return value


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
    padding = 0 if args.padding is None else parse_padding(args.padding)
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
        ):
            if given:
                raise ConvProofError(f"{flag} needs --pool (it only exists for pooling)")
    if args.transposed and args.padding_mode not in (None, "zeros"):
        raise ConvProofError(
            f"--padding-mode {args.padding_mode} cannot be combined with --transposed "
            f"(transposed convolutions pad with zeros)"
        )
    if args.pool == "max" and args.count_include_pad is not None:
        raise ConvProofError("--count-include-pad needs --pool avg (max pooling has no divisor)")
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
        )
    elif args.transposed:
        spec = ConvTransposeSpec(
            in_channels=c_in,
            out_channels=_count(args.out_channels, "--out-channels", 1),
            kernel_size=kernel,
            stride=1 if stride is None else stride,
            padding=padding,
            output_padding=out_pad,
            dilation=dilation,
            groups=_count(args.groups, "--groups", 1),
            bias=not args.no_bias,
            ndim=ndim,
        )
    else:
        spec = ConvSpec(
            in_channels=c_in,
            out_channels=_count(args.out_channels, "--out-channels", 1),
            kernel_size=kernel,
            stride=1 if stride is None else stride,
            padding=padding,
            dilation=dilation,
            groups=_count(args.groups, "--groups", 1),
            bias=not args.no_bias,
            padding_mode=args.padding_mode or "zeros",
            ndim=ndim,
        )
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
    from convproof.presentation.render import _layer_name

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
    if isinstance(spec, ConvSpec) and spec.padding_mode != "zeros":
        parts.append(f"padding_mode={spec.padding_mode!r}")
    if isinstance(spec, PoolSpec):
        if spec.ceil_mode:
            parts.append("ceil_mode=True")
        if spec.kind == "avg" and not spec.count_include_pad:
            parts.append("count_include_pad=False")
    return ", ".join(parts)


def _shape_str(t: Sequence[Any]) -> str:
    return "(" + ", ".join(str(v) for v in t) + ("," if len(t) == 1 else "") + ")"


def _emit_json(data: Any) -> None:
    from convproof.presentation.render import to_json

    print(to_json(data))


# --------------------------------------------------------------------------------------
# subcommands
# --------------------------------------------------------------------------------------


def _cmd_shape(args: argparse.Namespace) -> int:
    from convproof.presentation.render import shape_report

    spec, shape = _layer(args)
    report = shape_report(spec, shape)
    if args.json:
        _emit_json(report)
        return 0
    rows = [
        ("layer", _describe(spec)),
        ("input shape", _shape_str(shape)),
        ("output shape", _shape_str(report["output_shape"])),
        ("padding", _shape_str([tuple(p) for p in report["padding"]])),
    ]
    if report["weight_shape"] is not None:
        rows.append(("weight shape", _shape_str(report["weight_shape"])))
        rows.append(
            ("bias shape", _shape_str(report["bias_shape"]) if report["bias_shape"] else "none")
        )
    rows.append(("params", f"{report['params']:,}"))
    if isinstance(spec, PoolSpec):
        rows.append(
            (
                "window reads",
                f"{spec.window_reads(shape):,} (input elements read per sample, padding "
                f"not counted; MACs 0)",
            )
        )
    else:
        what = "input" if isinstance(spec, ConvTransposeSpec) else "output"
        note = "per sample, bias excluded"
        if isinstance(spec, ConvTransposeSpec):
            note += f", counted on {what} positions"
        rows.append(("MACs", f"{report['macs']:,} ({note})"))
    for ax, formula in enumerate(report["formulas"]):
        rows.append((f"dim {ax}", formula))
    for key, value in rows:
        print(f"{key:<13} {value}")
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from convproof.presentation.render import element_sum

    spec, shape = _layer(args)
    if args.at is None:
        out = spec.output_shape(shape)
        at: tuple[int, ...] = (0,) * len(out)
    else:
        at = parse_index(args.at)
    try:
        result = element_sum(spec, shape, at)
    except ConvProofError as exc:
        msg = str(exc)
        if msg.startswith("at must"):
            msg = "--at" + msg[2:].replace("got at=", "got --at=")
        raise ConvProofError(msg) from None
    picture, frames = (
        _draw_sliding(spec, shape, args.picture, result.at[-spec.ndim :], _max_bytes(args))
        if args.picture
        else (None, None)
    )
    if args.json:
        _emit_json({**result.to_dict(), "picture": picture, "picture_frames": frames})
    elif args.latex:
        print(result.latex())
    else:
        print(result.text())
        if picture is not None and frames is not None:
            shown, total = frames["shown"], frames["total"]
            note = (
                f" ({shown} of {total} output positions, evenly spaced, including --at)"
                if shown < total
                else ""
            )
            print(f"picture: {picture}{note}")
    return 0


def _draw_sliding(
    spec: AnySpec,
    shape: tuple[int, ...],
    target: str,
    at: Sequence[int] | None = None,
    max_bytes: int | None = None,
) -> tuple[str, dict[str, int]]:
    """Write the sliding-kernel picture (always drawing output ``at``); returns what was
    written (a path, or frame paths) and how many output positions it shows."""
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".png", ".svg", ".pdf"):
        raise ConvProofError(
            f"--picture must end in .gif, .png, .svg or .pdf, got --picture={target!r}"
        )
    if not path.resolve().parent.is_dir():
        raise ConvProofError(
            f"--picture must be in an existing directory, got --picture={target!r}"
        )
    if spec.ndim not in (1, 2):
        raise ConvProofError(
            f"--picture draws 1-D and 2-D layers, got a layer with {spec.ndim} spatial dims"
        )
    from convproof.presentation.render import sliding_animation, sliding_figure

    total = math.prod(spec.output_shape(shape)[-spec.ndim :])
    limit = 100 if suffix == ".gif" else 16
    frames = {"shown": min(limit, total), "total": total}
    with _memory_limit():
        if suffix == ".gif":
            written = sliding_animation(
                spec, shape, path, at=at, max_frames=limit, max_bytes=max_bytes
            )
            return ", ".join(str(p) for p in written), frames
        sliding_figure(spec, shape, at=at, path=path, max_frames=limit, max_bytes=max_bytes)
    return str(path), frames


def _load_weight(path: str, spec: AnySpec) -> Any:
    import numpy as np

    if spec.weight_shape is None:
        raise ConvProofError("--weight cannot be used with --pool (pooling has no weights)")
    p = Path(path)
    if not p.is_file():
        raise ConvProofError(f"--weight must be an existing .npy file, got --weight={path!r}")
    try:
        weight = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ConvProofError(
            f"--weight must be a NumPy .npy file ({' '.join(str(exc).split())}), "
            f"got --weight={path!r}"
        ) from None
    if not isinstance(weight, np.ndarray):
        raise ConvProofError(f"--weight must hold one array (.npy), got --weight={path!r}")
    if tuple(weight.shape) != spec.weight_shape:
        raise ConvProofError(
            f"--weight must have the layer's weight shape {spec.weight_shape}, "
            f"got an array of shape {tuple(weight.shape)} from --weight={path!r}"
        )
    if weight.dtype.kind not in "biuf":
        raise ConvProofError(
            f"--weight must hold real numbers, got dtype {weight.dtype} from --weight={path!r}"
        )
    return weight


def _structure_name(structure: Any) -> str:
    spatial = len(structure.levels) - 1
    prefix = {1: "", 2: "doubly-", 3: "triply-"}.get(spatial, f"{spatial}-level ")
    if structure.circulant:
        return f"{prefix}block circulant" if spatial > 1 else "circulant blocks"
    if structure.toeplitz:
        return f"{prefix}block Toeplitz" if spatial > 1 else "Toeplitz blocks"
    return "general block structure (stride, or non-zero padding mode)"


def _cmd_matrix(args: argparse.Namespace) -> int:
    from convproof.constructions.matrix import conv_matrix, matrix_structure, nnz

    spec, shape = _layer(args)
    if isinstance(spec, PoolSpec) and spec.kind == "max":
        raise ConvProofError("max pooling is not linear and has no matrix; use --pool avg")
    if args.format in ("mtx", "npz", "png") and args.output is None:
        raise ConvProofError(f"--format {args.format} needs --output FILE")
    if args.output is not None and args.format is None:
        raise ConvProofError("--output needs --format (mtx, npz, latex or png)")
    if args.output is not None and not Path(args.output).resolve().parent.is_dir():
        raise ConvProofError(
            f"--output must be in an existing directory, got --output={args.output!r}"
        )
    weight = None if args.weight is None else _load_weight(args.weight, spec)
    structure = matrix_structure(spec, shape)
    count = nnz(spec, shape)
    rows, cols = structure.shape
    symbolic = weight is None and spec.weight_shape is not None
    needs_values = args.format in ("latex",) or (
        args.format is None and rows <= _PRINT_ROWS and cols <= _PRINT_COLS
    )
    if symbolic and args.format in ("mtx", "npz"):
        raise ConvProofError(
            f"--format {args.format} stores numbers: pass --weight FILE.npy "
            f"(the symbolic matrix can be exported with --format latex)"
        )
    if symbolic and needs_values and count > _SYMBOLIC_NNZ_LIMIT:
        raise ConvProofError(
            f"the symbolic matrix would have {count} non-zeros (more than "
            f"{_SYMBOLIC_NNZ_LIMIT}); pass --weight FILE.npy or use a smaller --in"
        )
    max_bytes = None if args.max_bytes is None else parse_bytes(args.max_bytes)
    matrix = None
    try:
        if needs_values or args.format in ("mtx", "npz"):
            matrix = conv_matrix(
                spec,
                shape,
                weight,
                max_bytes=max_bytes,
                progress=False if (args.quiet or args.json) else None,
            )
        if args.format == "png":
            from convproof.presentation.render import matrix_figure

            matrix_figure(spec, shape, weight, path=args.output, max_bytes=max_bytes)
        elif args.format in ("mtx", "npz", "latex"):
            _export(args.format, matrix, args.output, spec, shape)
    except MemoryLimitError as exc:  # say how to raise the limit from the command line
        raise MemoryLimitError(_cli_limit_message(str(exc))) from None
    levels = [
        {
            "name": lv.name,
            "grid": list(lv.grid),
            "block_shape": list(lv.block_shape),
            "kind": lv.kind,
        }
        for lv in structure.levels
    ]
    if args.json:
        _emit_json(
            {
                "layer": spec.to_dict(),
                "input_shape": list(shape),
                "shape": [rows, cols],
                "nnz": count,
                "density": count / (rows * cols),
                "levels": levels,
                "toeplitz": structure.toeplitz,
                "circulant": structure.circulant,
                "symbolic": symbolic,
                "format": args.format,
                "output": args.output,
            }
        )
        return 0
    if args.format == "latex" and args.output is None:
        return 0  # the LaTeX went to stdout
    out_shape = spec.output_shape(shape)[-spec.ndim - 1 :]
    in_shape = shape[-spec.ndim - 1 :]
    print(
        f"matrix        {rows} x {cols}  (rows: output {_shape_str(out_shape)} unrolled, "
        f"columns: input {_shape_str(in_shape)} unrolled)"
    )
    print(f"nnz           {count:,} of {rows * cols:,} ({100 * count / (rows * cols):.1f}%)")
    for i, lv in enumerate(structure.levels):
        label = "blocks" if i == 0 else ""
        print(
            f"{label:<13} {lv.name}: {lv.grid[0]} x {lv.grid[1]} grid of "
            f"{lv.block_shape[0]} x {lv.block_shape[1]} blocks ({lv.kind})"
        )
    print(f"structure     {_structure_name(structure)}")
    if args.output is not None:
        print(f"written       {args.output} ({args.format})")
    elif matrix is not None and args.format is None:
        print()
        print(_matrix_text(matrix))
    return 0


def _max_bytes(args: argparse.Namespace) -> int | None:
    """``--max-bytes`` as an int (``None``: the API's default)."""
    text = getattr(args, "max_bytes", None)
    return None if text is None else parse_bytes(text)


@contextlib.contextmanager
def _memory_limit() -> Iterator[None]:
    """Reword a refusal for the command line: the limit is raised with ``--max-bytes``."""
    try:
        yield
    except MemoryLimitError as exc:
        raise MemoryLimitError(_cli_limit_message(str(exc))) from None


def _cli_limit_message(message: str) -> str:
    """An API memory-limit message, reworded for the command line (--max-bytes)."""
    head = message.split("; pass a larger max_bytes=")[0]
    if "raise max_bytes" in head:  # the proofs' wording
        return head.replace("raise max_bytes", "pass a larger --max-bytes (like --max-bytes 16G)")
    return f"{head}; pass a larger --max-bytes (like --max-bytes 16G) or use a smaller --in"


def _matrix_text(matrix: Any) -> str:
    """Small matrices entry by entry, zeros as ``.``, columns aligned."""
    if hasattr(matrix, "toarray"):
        dense = matrix.toarray().tolist()
    else:
        dense = [[matrix[r, c] for c in range(matrix.shape[1])] for r in range(matrix.shape[0])]

    def cell(v: Any) -> str:
        if v == 0:
            return "."
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    cells = [[cell(v) for v in row] for row in dense]
    width = max((len(c) for row in cells for c in row), default=1)
    return "\n".join(" ".join(c.rjust(width) for c in row).rstrip() for row in cells)


def _export(fmt: str, matrix: Any, output: str | None, spec: AnySpec, shape: Any) -> None:
    from convproof.presentation import export

    if fmt == "latex":
        text = export.to_latex(spec, shape, matrix)
        if output is None:
            print(text)
        else:
            Path(output).write_text(text + "\n", encoding="utf-8")
    elif fmt == "mtx":
        export.to_mtx(matrix, output, spec=spec, input_shape=shape)
    else:
        export.to_npz(matrix, output)


def _cmd_prove(args: argparse.Namespace) -> int:
    if args.net is not None or args.model is not None:
        return _prove_network(args)
    if args.general:
        return _prove_general(args)
    if args.claim is not None:
        raise ConvProofError("--claim needs --general (a concrete proof checks the layer given)")
    from convproof.proofs.concrete import prove

    spec, shape = _layer(args)
    with _memory_limit():
        result = prove(
            spec,
            shape,
            progress=False if (args.quiet or args.json) else None,
            max_bytes=_max_bytes(args),
        )
    if args.json:
        _emit_json(result.to_dict())
    else:
        _print_certificate(result)
    return 0 if result else 1


def _prove_network(args: argparse.Namespace) -> int:
    """``prove --net`` / ``--model``: one certificate line per layer, exit 0 iff all proved."""
    from convproof.networks.graph import Network
    from convproof.networks.proof import prove_network
    from convproof.networks.torch_import import is_torch_module

    if args.net is not None and args.model is not None:
        raise ConvProofError("give one of --net and --model, not both")
    flag = "--net" if args.net is not None else "--model"
    layer_flags = [
        name
        for name, value in (
            ("--general", args.general or None),
            ("--claim", args.claim),
            ("--kernel", args.kernel),
            ("--out-channels", args.out_channels),
            ("--stride", args.stride),
            ("--padding", args.padding),
            ("--dilation", args.dilation),
            ("--groups", args.groups),
            ("--padding-mode", args.padding_mode),
            ("--pool", args.pool),
            ("--transposed", args.transposed or None),
            ("--output-padding", args.output_padding),
        )
        if value is not None
    ]
    if layer_flags:
        raise ConvProofError(
            f"{flag} proves the layers the network describes: drop {layer_flags[0]}"
        )
    model: Any
    recorded = None
    if args.net is not None:
        model, recorded = _load_net(args.net)
        source = args.net
    else:
        from convproof.presentation.parse import resolve_callable

        source = args.model
        model = resolve_callable(args.model, "--model")
        if not is_torch_module(model):
            try:
                model = model()
            except Exception as exc:  # the user's constructor: report, never a traceback
                raise ConvProofError(
                    f"--model {args.model!r} could not be called without arguments: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
        if not (is_torch_module(model) or isinstance(model, Network)):
            raise ConvProofError(
                f"--model must name a torch.nn.Module or a function returning one, "
                f"got {type(model).__name__} from --model={args.model!r}"
            )
    if args.input is not None:
        shape: Any = parse_shape(args.input)
    elif recorded is not None:
        shape = tuple(recorded)
    else:
        raise ConvProofError(
            f"--in is required: {source} records no input_shape (give e.g. --in 3x224x224)"
        )
    with _memory_limit():
        result = prove_network(
            model,
            shape,
            progress=False if (args.quiet or args.json) else None,
            max_bytes=_max_bytes(args),
        )
    if args.json:
        _emit_json(result.to_dict())
    else:
        print("\n".join(result.lines()))
    return 0 if result else 1


def _prove_general(args: argparse.Namespace) -> int:
    from convproof.proofs.general import prove_general

    fixed = [
        flag
        for flag, value in (
            ("--kernel", args.kernel),
            ("--stride", args.stride),
            ("--padding", args.padding),
            ("--dilation", args.dilation),
            ("--groups", args.groups),
            ("--out-channels", args.out_channels),
            ("--output-padding", args.output_padding),
            ("--pool", args.pool),
            ("--padding-mode", args.padding_mode),
        )
        if value is not None
    ]
    if fixed:
        raise ConvProofError(
            f"--general proves the identity for symbolic sizes (kernel, stride, padding, "
            f"dilation, channels are all symbols): drop {fixed[0]}, or drop --general to "
            f"prove one concrete layer"
        )
    if args.ndim is not None:
        ndim = args.ndim
    elif args.input is not None:
        ndim = len(parse_shape(args.input)) - 1
    else:
        ndim = 2
    if not 1 <= ndim <= 3:
        raise ConvProofError(f"--ndim must be 1, 2 or 3 for --general, got ndim={ndim}")
    claim = args.claim or ("conv_transpose" if args.transposed else "conv")
    if args.transposed and claim != "conv_transpose":
        raise ConvProofError(f"--transposed contradicts --claim {claim}")
    result = prove_general(claim, ndim, seed=args.seed)
    if args.json:
        _emit_json(result.to_dict())
    else:
        _print_certificate(result)
    return 0 if result else 1


def _cmd_check(args: argparse.Namespace) -> int:
    from convproof.presentation.parse import resolve_callable

    if not 1 <= args.ndim <= 3:
        raise ConvProofError(f"--ndim must be 1, 2 or 3, got --ndim={args.ndim}")
    if args.max_examples < 1:
        raise ConvProofError(f"--max-examples must be >= 1, got --max-examples={args.max_examples}")
    fn = resolve_callable(args.function, "MODULE:FUNCTION")
    from convproof.testing import check

    common: dict[str, Any] = {
        "ndim": args.ndim,
        "max_examples": args.max_examples,
        "seed": args.seed,
        "progress": False if (args.quiet or args.json) else None,
    }
    wrapped = fn
    if args.backward:
        from convproof.testing import check_backward as cb

        if args.kind == "conv":
            result = cb.check_conv_backward(wrapped, **common)
        elif args.kind == "conv-transpose":
            result = cb.check_conv_transpose_backward(wrapped, **common)
        else:
            result = cb.check_pool_backward(wrapped, kind=args.kind.split("-")[0], **common)
    elif args.kind == "conv":
        result = check.check_conv(wrapped, **common)
    elif args.kind == "conv-transpose":
        result = check.check_conv_transpose(wrapped, **common)
    else:
        result = check.check_pool(wrapped, kind=args.kind.split("-")[0], **common)
    if args.json:
        _emit_json(result.to_dict())
    else:
        head = result.headline(seconds=False)
        if result.note:
            head += f" ({result.note})"
        print(head)
        if result.counterexample is not None:
            print(result.counterexample)
        if not args.quiet:  # timings vary between runs: stderr, so stdout is reproducible
            print(f"time: {result.seconds:.2f} s", file=sys.stderr)
    return 0 if result else 1


def _print_certificate(result: Any) -> None:
    """The proof certificate on stdout; its (varying) wall time on stderr."""
    lines = str(result).splitlines()
    timing = [ln for ln in lines if ln.startswith("  time:")]
    print("\n".join(ln for ln in lines if not ln.startswith("  time:")))
    for ln in timing:
        print(ln.strip(), file=sys.stderr)


def _net_input(source: str) -> Any:
    """The ``input_shape`` recorded in a network description, if any."""
    import json
    from importlib import resources

    from convproof.networks.zoo import NETWORKS

    if source in NETWORKS:
        text = resources.files("convproof").joinpath("data", "networks", f"{source}.json")
        data = json.loads(text.read_text(encoding="utf-8"))
    else:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    return data.get("input_shape") if isinstance(data, dict) else None


def _load_net(source: str) -> tuple[Any, Any]:
    """A network name or JSON file: the network and its recorded input shape (or None)."""
    import json

    from convproof.networks.zoo import NETWORKS, load_network

    if source not in NETWORKS and not Path(source).is_file():
        looks_like_file = source.endswith(".json") or "/" in source
        raise ConvProofError(
            (
                f"no such network file {source!r}"
                if looks_like_file
                else f"unknown network {source!r}"
            )
            + f": give a JSON file or one of {', '.join(NETWORKS)}"
        )
    try:
        net = load_network(source)
        recorded = _net_input(source)
    except json.JSONDecodeError as exc:
        raise ConvProofError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    except UnicodeDecodeError:
        raise ConvProofError(f"{source} is not a text (JSON) file") from None
    return net, recorded


def _cmd_net(args: argparse.Namespace) -> int:
    from convproof.networks.summary import summary

    source = args.network
    net, recorded = _load_net(source)
    if args.input is not None:
        shape: Any = parse_shape(args.input)
    elif recorded is not None:
        shape = tuple(recorded)
    else:
        raise ConvProofError(
            f"--in is required: {source} records no input_shape (give e.g. --in 3x224x224)"
        )
    check = {"warn": None, "error": True, "off": False}[args.check_alignment]
    result = summary(net, shape, check_alignment=check)
    if args.json:
        print(result.to_json())
    elif args.markdown:
        print(result.to_markdown())
    else:
        print(result.to_text())
    return 0


# --------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 1 a proof or check failed, 2 bad input (one line on stderr).

    Examples
    --------
    >>> main(["--version"])
    convproof 0.1.0
    0
    >>> main(["shape", "--in", "3x32x32", "--kernel", "5", "--json"])
    {"layer": {"type": "ConvSpec", ...}, ..., "output_shape": [1, 28, 28], ...}
    0
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        run = getattr(args, "run", None)
        if run is None:
            parser.print_help(sys.stdout)
            return 0
        return int(run(args))
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except KeyboardInterrupt:
        print("convproof: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:
        detail = " ".join(str(exc).split())
        print(
            f"convproof: error: not enough memory for this size ({detail or 'MemoryError'}); "
            f"use a smaller --in",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:  # e.g. `convproof net vgg16 | head`: the reader left, stay quiet
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except _UsageError as exc:
        print(f"convproof: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except (ConvProofError, ValueError, OSError, ImportError) as exc:
        text = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and not isinstance(exc, ConvProofError):
            text = f"{exc.strerror or type(exc).__name__}: {exc.filename or text}"
        print(f"convproof: error: {_one_line(text)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
