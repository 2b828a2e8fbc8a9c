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

The parser and :func:`main` live here; the subcommands live in modules named for their
group: :mod:`.cli_layer` (``shape``, ``explain``, ``matrix``), :mod:`.cli_proof` (``prove``,
``check``), :mod:`.cli_network` (``net``), and :mod:`.cli_options` turns the layer options
into a spec.

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
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, NoReturn

from convproof import __version__
from convproof.errors import ConvProofError
from convproof.layers.legality import LEGALITY_PROFILES
from convproof.layers.spec import PADDING_MODES
from convproof.presentation.cli_layer import _cmd_explain, _cmd_matrix, _cmd_shape
from convproof.presentation.cli_network import _cmd_net
from convproof.presentation.cli_proof import _cmd_check, _cmd_prove

__all__ = ["main"]


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
        "convproof net resnet18 --in 3x64x64 --markdown --depth 1",
        "convproof net my_network.json --json",
        "convproof net torchvision.models:resnet18 --in 3x224x224 --depth 2",
        "convproof net mypackage.models:make_fusion_net --in 3x64x64 --in 1x64x64",
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
    g.add_argument("--pool", choices=("max", "avg", "lp"), help="a pooling layer instead of a conv")
    g.add_argument(
        "--norm-type", metavar="P", help="Lp pooling: the power p (1 under pytorch is linear)"
    )
    g.add_argument("--ceil-mode", action="store_true", help="pooling: round the output size up")
    g.add_argument(
        "--count-include-pad",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="average pooling: count padding in the divisor (default: yes)",
    )
    g.add_argument(
        "--legality",
        choices=LEGALITY_PROFILES,
        help="whose rules the layer follows (default pytorch); onnx's Lp pool uses |x|",
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


def _command(
    sub: Any,
    name: str,
    run: Callable[[argparse.Namespace], int],
    parents: list[_Parser],
    *,
    help: str,
    description: str,
) -> _Parser:
    """Add subcommand ``name`` (run by ``run``) with the options of ``parents``, its help
    and description, and its examples (:data:`_EXAMPLES`) as the epilog."""
    p: _Parser = sub.add_parser(
        name,
        epilog=_examples(name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
        help=help,
        description=description,
    )
    p.set_defaults(run=run)
    return p


def _max_bytes_option(p: _Parser, what: str) -> None:
    """``--max-bytes N``: refuse ``what`` (e.g. ``"a proof"``) when it would need more memory."""
    p.add_argument(
        "--max-bytes",
        metavar="N",
        help=f"refuse {what} estimated to need more than N bytes of memory, e.g. 16G or 512M "
        "(default: the library's limit, stated in the refusal)",
    )


class _Command(NamedTuple):
    """A subcommand: what runs it, whether it takes the layer options, its help line and its
    description."""

    run: Callable[[argparse.Namespace], int]
    layer: bool
    help: str
    description: str


#: The subcommands, in the order ``--help`` lists them.
_COMMANDS = {
    "shape": _Command(
        _cmd_shape,
        True,
        "output shape, padding, params and MACs of a layer",
        "Output shape, resolved padding, parameters and MACs of one layer.",
    ),
    "explain": _Command(
        _cmd_explain,
        True,
        "the exact sum behind one output element",
        "The exact sum behind one output element: how the input channels collapse into one number.",
    ),
    "matrix": _Command(
        _cmd_matrix,
        True,
        "build and export the conv matrix",
        "Build the conv matrix T (vec(Z) = T vec(X) + bias), print its shape, "
        "non-zeros and block structure, and export it.",
    ),
    "prove": _Command(
        _cmd_prove,
        True,
        "prove the conv matrix equals the sliding-window sum",
        "Prove that the conv matrix and the sliding-window sum are the same map: "
        "exactly for --in, or for symbolic sizes with --general.",
    ),
    "check": _Command(
        _cmd_check,
        False,
        "property-test your conv function module:function",
        "Property-test a conv function with PyTorch's functional signature "
        "fn(x, weight, bias=None, stride=..., padding=..., dilation=..., groups=...) "
        "against convproof's reference: NumPy arrays in and out, or a PyTorch function "
        "as it is (e.g. torch.nn.functional:conv2d; tensors are converted).",
    ),
    "net": _Command(
        _cmd_net,
        False,
        "summary table of a network description",
        "Per-layer output shapes, params, MACs and receptive fields of a network "
        "description file (JSON), a shipped network name, or a PyTorch model returned by "
        "package.module:callable (imported, called without arguments; no forward pass).",
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="convproof",
        description="Exact, checkable convolution arithmetic.",
        epilog="exit status: 0 success, 1 a proof or check failed, 2 bad input",
    )
    parser.add_argument("--version", action="version", version=f"convproof {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    layer, js = _layer_options(), _json_option()
    commands = {
        name: _command(sub, name, c.run, [layer, js] if c.layer else [js], help=c.help,
                       description=c.description)
        for name, c in _COMMANDS.items()
    }  # fmt: skip

    p = commands["explain"]
    p.add_argument("--at", metavar="C,I,J", help="output index (default: the first element)")
    p.add_argument("--latex", action="store_true", help="print LaTeX")
    p.add_argument(
        "--picture",
        metavar="FILE",
        help="also draw the kernel sliding over the padded input: FILE.gif (animated, at "
        "most 100 frames) or FILE.png/.svg/.pdf (a strip of at most 16 frames); with more "
        "output positions, frames are spaced evenly and always include --at; needs matplotlib",
    )
    _max_bytes_option(p, "a --picture")

    p = commands["matrix"]
    p.add_argument("--weight", metavar="FILE.npy", help="numeric weights (default: symbolic)")
    p.add_argument("--format", choices=("mtx", "npz", "latex", "png"), help="export format")
    p.add_argument("--output", "-o", metavar="FILE", help="write the export here")
    p.add_argument(
        "--max-bytes",
        metavar="N",
        help="refuse a matrix estimated above N bytes (default: the library's limit, 8G); e.g. 16G",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar on stderr")

    p = commands["prove"]
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
    _max_bytes_option(p, "a proof")

    p = commands["check"]
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

    p = commands["net"]
    p.add_argument(
        "network",
        metavar="FILE.json|NAME|MODULE:CALLABLE",
        help="a JSON file, e.g. vgg16, or e.g. torchvision.models:resnet18",
    )
    p.add_argument(
        "--in",
        dest="input",
        metavar="SHAPE",
        action="append",
        help="input shape (default: the file's; required for a PyTorch model); repeat it "
        "for a model whose forward takes several tensors",
    )
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument(
        "--depth",
        metavar="N",
        help="fold nested modules below depth N into their ancestor's row (totals unchanged)",
    )
    p.add_argument(
        "--exact",
        action="store_true",
        help="exact Params/MACs in every row (default: K/M/G, exact totals)",
    )
    p.add_argument(
        "--check-alignment",
        choices=["warn", "error", "off"],
        default="warn",
        help="branches joined without alignment: a warning and None receptive fields "
        "(default), an error, or silent",
    )
    return parser


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
