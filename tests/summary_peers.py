"""convproof's summary next to the tools users use: torchinfo and fvcore, and torchvision's
published figures, on the torchvision models of issue 13 (``benchmarks/compare_summary_tools.py``
prints the table, ``tests/test_summary_peers.py`` asserts it).

Each model is built as torchvision publishes it (random weights, nothing downloaded): eval
mode, GoogLeNet and Inception-v3 without their training-only auxiliary heads, FCN and
DeepLabV3 with theirs.  Differences in MACs are attributed, layer by layer, to each tool's
stated convention:

* torchinfo (``layer_info.py``: ``calculate_macs``, ``model_statistics.py``) sums, over the leaf
  modules a forward pass calls, ``params x output positions x batch`` for a ``*Conv*`` class and
  ``params x batch`` for every other module with a ``weight`` or ``bias`` (so a bias counts as
  MACs, a norm layer counts ``2C`` per sample, and a ``Linear`` on tokens counts once per sample,
  not per token); functional operations (``F.*``, ``@``, ``torch.matmul``) are not counted.
* fvcore (``fvcore/nn/flop_count.py``: ``_DEFAULT_SUPPORTED_OPS``) counts one "flop" per MAC of
  ``aten::_convolution``, ``linear``, ``addmm``, ``matmul``, ``bmm`` and ``einsum`` (bias not
  counted), plus norms, ``adaptive_avg_pool2d`` and upsampling per element; other operations
  are skipped.
* torchvision's ``meta["_ops"]`` ("GFLOPS") are GMACs of the inference model at the weights'
  crop size, rounded to 3 decimals.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import defaultdict
from typing import Any

from nets_torchvision import CLASSIFICATION, SEGMENTATION

import convproof as cp

MODELS = CLASSIFICATION + SEGMENTATION
NORMS = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "LayerNorm2d", "GroupNorm")
FVCORE_MACS = ("conv", "linear", "addmm")  # the operators whose fvcore count is MACs of conv/linear


def input_shape(name: str) -> tuple[int, int, int, int]:
    n = 299 if name == "inception_v3" else 224
    return (1, 3, n, n)


def inference_model(name: str) -> Any:
    """The model as torchvision's weights are published (random weights, eval mode)."""
    import torchvision

    kwargs: dict[str, Any] = {"weights": None}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=False)
    if name in SEGMENTATION:
        kwargs["weights_backbone"] = None
        if not name.startswith("lraspp"):
            kwargs["aux_loss"] = True
    return torchvision.models.get_model(name, **kwargs).eval()


def published(name: str, size: int) -> tuple[int | None, float | None]:
    """torchvision's published parameter count and "GFLOPS" (``None``: the GFLOPS are for
    another input size, as the segmentation models' 520x520)."""
    import torchvision

    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    crop = torchvision.models.get_model_weights(name).DEFAULT.transforms.keywords.get("crop_size")
    return meta.get("num_params"), (float(meta["_ops"]) if crop == size else None)


@dataclasses.dataclass
class Comparison:
    """One model's figures from convproof, PyTorch, torchinfo, fvcore and torchvision."""

    name: str
    size: int
    params: int  # sum(p.numel())
    cp_params: int
    torchinfo_params: int
    fvcore_params: int | None
    published_params: int | None  # inception_v3: without its AuxLogits head (3,326,696)
    cp_macs: int  # MACs convproof knows (unknown rows left out)
    cp_unknown: tuple[str, ...]  # rows whose MACs convproof marks unknown
    cp_linear_macs: int  # conv + linear rows (what fvcore's conv/linear/addmm count)
    cp_interpolation_macs: int  # interpolation rows (torchinfo counts none for them)
    published_gmacs: float | None
    torchinfo_macs: int
    torchinfo_diff: dict[str, int]  # torchinfo - convproof, by cause (sums to the difference)
    norm_rule: dict[str, int]  # torchinfo's rule for norms: batch x params per call
    linear_rule: int  # torchinfo's Linear minus convproof's: (batch - positions) x params
    fvcore_flops: int | None
    fvcore_by_op: dict[str, int]
    fvcore_error: str = ""


def _leaf_paths(model: Any) -> dict[int, str]:
    return {id(m): path for path, m in model.named_modules()}


def torchinfo_diff(model: Any, stats: Any, summary: Any, batch: int = 1) -> dict[str, int]:
    """torchinfo's total minus convproof's, split by cause, layer by layer: for every leaf
    module torchinfo counts, its MACs minus convproof's (MACs + bias adds, per sample, times
    ``batch``: torchinfo counts the whole batch) for the same module (all its calls);
    ``"bias adds"`` is what the bias contributes; ``"functional ops"`` is what convproof
    counts outside modules torchinfo sees (negative)."""
    paths = _leaf_paths(model)
    rows: dict[str, list[Any]] = defaultdict(list)
    for row in summary.rows:
        rows[row.name.split("@")[0]].append(row)
    diff: dict[str, int] = defaultdict(int)
    seen: set[str] = set()
    for info in stats.summary_list:
        if not info.is_leaf_layer:
            continue
        path = paths[id(info.module)]
        theirs = info.macs
        if path not in seen:
            seen.add(path)
            ours = rows.get(path, [])
            diff["bias adds"] += batch * sum(r.bias_adds or 0 for r in ours)
            theirs -= batch * sum((r.macs or 0) + (r.bias_adds or 0) for r in ours)
        diff[type(info.module).__name__] += theirs
    diff["functional ops"] -= batch * sum(
        r.macs or 0 for name, rs in rows.items() if name not in seen for r in rs
    )
    return {k: v for k, v in diff.items() if v}


def fvcore_counts(model: Any, shape: tuple[int, ...]) -> tuple[int | None, dict[str, int], str]:
    """fvcore's total "flops", its split by operator, or why it failed."""
    import torch

    try:
        with warnings.catch_warnings():  # importing fvcore warns (torch.jit.script deprecated)
            warnings.simplefilter("ignore")
            from fvcore.nn import FlopCountAnalysis
    except ImportError:
        return None, {}, "fvcore is not installed"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            analysis = FlopCountAnalysis(model, torch.zeros(shape))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            by_op = {k: int(v) for k, v in analysis.by_operator().items()}
    except Exception as exc:  # fvcore's jit trace fails on some models: reported, not hidden
        return None, {}, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    return sum(by_op.values()), by_op, ""


def compare(name: str) -> Comparison:
    """Run convproof, torchinfo and fvcore on one model."""
    import torchinfo

    model = inference_model(name)
    shape = input_shape(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = cp.summary(model, shape)
        stats = torchinfo.summary(model, shape, verbose=0, mode="eval")
    flops, by_op, error = fvcore_counts(model, shape)
    fv_params = None
    if error != "fvcore is not installed":
        from fvcore.nn import parameter_count

        fv_params = int(parameter_count(model)[""])
    pub_params, pub_gmacs = published(name, shape[-1])
    if name == "inception_v3" and pub_params is not None:
        # torchvision's count includes the training-only AuxLogits head (its forward skips it)
        from torchvision.models.inception import InceptionAux

        pub_params -= sum(p.numel() for p in InceptionAux(768, 1000).parameters())
    return Comparison(
        name=name,
        size=shape[-1],
        params=sum(p.numel() for p in model.parameters()),
        cp_params=s.total_params,
        torchinfo_params=stats.total_params,
        fvcore_params=fv_params,
        published_params=pub_params,
        cp_macs=s.total_macs,
        cp_unknown=tuple(s.unknown_macs),
        cp_linear_macs=sum(r.macs or 0 for r in s.rows if r.kind in ("conv", "linear")),
        cp_interpolation_macs=sum(r.macs or 0 for r in s.rows if r.kind.startswith("upsample_")),
        published_gmacs=pub_gmacs,
        torchinfo_macs=stats.total_mult_adds,
        torchinfo_diff=torchinfo_diff(model, stats, s),
        norm_rule=_norm_rule(stats),
        linear_rule=_linear_rule(model, s),
        fvcore_flops=flops,
        fvcore_by_op=by_op,
        fvcore_error=error,
    )


def _norm_rule(stats: Any) -> dict[str, int]:
    """torchinfo's stated rule on the norm layers its forward pass called."""
    counts: dict[str, int] = defaultdict(int)
    for info in stats.summary_list:
        kind = type(info.module).__name__
        if info.is_leaf_layer and kind in NORMS:
            counts[kind] += info.output_size[0] * sum(p.numel() for p in info.module.parameters())
    return dict(counts)


def _linear_rule(model: Any, summary: Any) -> int:
    """torchinfo counts a ``Linear`` as ``batch x params``; it has ``positions x params``
    (weights and bias, ``positions`` = every dimension but the last of convproof's output)."""
    total = 0
    for row in summary.rows:
        if row.kind == "linear":
            module = model.get_submodule(row.name.split("@")[0])
            params = sum(p.numel() for p in module.parameters())
            positions = 1
            for v in row.output_shape[:-1]:
                positions *= v
            total += (row.output_shape[0] - positions) * params
    return total
