"""The ``convproof`` subcommands that judge: ``prove`` (a layer, a network, or general sizes)
and ``check`` (property-test a user's conv function)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from convproof.errors import ConvProofError
from convproof.presentation.cli_layer import _max_bytes, _memory_limit
from convproof.presentation.cli_network import _load_net, _network_input, load_model
from convproof.presentation.cli_options import _emit_json, _given, _layer
from convproof.presentation.parse import parse_shape

__all__: list[str] = []


def _cmd_prove(args: argparse.Namespace) -> int:
    if args.net is not None or args.model is not None:
        return _prove_network(args)
    if args.general:
        return _prove_general(args)
    if args.claim is not None:
        raise ConvProofError("--claim needs --general (a concrete proof checks the layer given)")
    from convproof.proofs.concrete import prove

    spec, shape = _layer(args)
    return _run_proof(args, prove, spec, shape, _print_certificate)


def _run_proof(
    args: argparse.Namespace,
    prove: Callable[..., Any],
    target: Any,
    shape: Any,
    show: Callable[[Any], None],
) -> int:
    """Run a proof under ``--max-bytes`` (a bar unless --quiet or --json) and report it."""
    with _memory_limit():
        result = prove(
            target,
            shape,
            progress=False if (args.quiet or args.json) else None,
            max_bytes=_max_bytes(args),
        )
    return _report(args, result, show)


def _report(args: argparse.Namespace, result: Any, show: Callable[[Any], None]) -> int:
    """The result as JSON (``--json``) or shown as text; exit 0 iff it holds."""
    if args.json:
        _emit_json(result.to_dict())
    else:
        show(result)
    return 0 if result else 1


def _prove_network(args: argparse.Namespace) -> int:
    """``prove --net`` / ``--model``: one certificate line per layer, exit 0 iff all proved."""
    from convproof.networks.proof import prove_network

    if args.net is not None and args.model is not None:
        raise ConvProofError("give one of --net and --model, not both")
    flag = "--net" if args.net is not None else "--model"
    layer_flags = _given(
        args,
        (
            "--general",
            "--claim",
            "--kernel",
            "--out-channels",
            "--stride",
            "--padding",
            "--dilation",
            "--groups",
            "--padding-mode",
            "--pool",
            "--transposed",
            "--output-padding",
        ),
    )
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
        source = args.model
        model = load_model(args.model, "--model")
    shape = _network_input(args.input, recorded, source)
    return _run_proof(
        args, prove_network, model, shape, lambda result: print("\n".join(result.lines()))
    )


def _prove_general(args: argparse.Namespace) -> int:
    from convproof.proofs.general import prove_general

    fixed = _given(
        args,
        (
            "--kernel",
            "--stride",
            "--padding",
            "--dilation",
            "--groups",
            "--out-channels",
            "--output-padding",
            "--pool",
            "--padding-mode",
        ),
    )
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
    return _report(args, prove_general(claim, ndim, seed=args.seed), _print_certificate)


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

    def show(result: Any) -> None:
        head = result.headline(seconds=False)
        if result.note:
            head += f" ({result.note})"
        print(head)
        if result.counterexample is not None:
            print(result.counterexample)
        if not args.quiet:  # timings vary between runs: stderr, so stdout is reproducible
            print(f"time: {result.seconds:.2f} s", file=sys.stderr)

    return _report(args, result, show)


def _print_certificate(result: Any) -> None:
    """The proof certificate on stdout; its (varying) wall time on stderr."""
    lines = str(result).splitlines()
    timing = [ln for ln in lines if ln.startswith("  time:")]
    print("\n".join(ln for ln in lines if not ln.startswith("  time:")))
    for ln in timing:
        print(ln.strip(), file=sys.stderr)
