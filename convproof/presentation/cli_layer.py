"""The ``convproof`` subcommands that show one layer: ``shape``, ``explain`` and ``matrix``."""

from __future__ import annotations

import argparse
import contextlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from convproof.errors import ConvProofError, MemoryLimitError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.presentation.cli_options import _describe, _emit_json, _layer, _shape_str
from convproof.presentation.parse import parse_bytes, parse_index

__all__: list[str] = []

AnySpec = ConvSpec | ConvTransposeSpec | PoolSpec

#: Symbolic matrices are refused above this many non-zeros (use --weight for numbers).
_SYMBOLIC_NNZ_LIMIT = 20_000
#: Matrices are printed entry by entry up to this size.
_PRINT_ROWS, _PRINT_COLS = 16, 24


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
    from convproof.constructions.matrix import conv_matrix
    from convproof.constructions.structure import matrix_structure, nnz

    spec, shape = _layer(args)
    if isinstance(spec, PoolSpec) and not spec.is_linear:
        what = {
            "max": "max pooling",
            "lp": f"Lp pooling with --norm-type {spec.norm_type}",
        }[spec.kind]
        if spec.kind == "lp" and spec.legality == "onnx":
            what = "ONNX's Lp pooling (|x|)"
        raise ConvProofError(
            f"{what} is not linear and has no matrix; use --pool avg, or --pool lp "
            f"--norm-type 1 under pytorch"
        )
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
        raise _cli_limit_error(exc) from None
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
        raise _cli_limit_error(exc) from None


def _cli_limit_error(exc: MemoryLimitError) -> MemoryLimitError:
    """An API memory-limit refusal, reworded from its fields for the command line."""
    return exc.with_hint(
        "pass a larger --max-bytes (like --max-bytes 16G)", remedy="use a smaller --in"
    )


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
