"""Random sweep against PyTorch: output shape, ``num_params``, weight shape and
accept/reject agree.

Each case draws a layer (``Conv{1,2,3}d``, ``ConvTranspose{1,2,3}d``, ``MaxPool{1,2,3}d``,
``AvgPool{1,2,3}d``) with small, sometimes illegal arguments (zero or negative sizes, padding
over the limits, groups that do not divide, ``output_padding`` too large, empty outputs, ...)
and an input shape, builds the torch module, runs it on a zero tensor, and requires that
convproof accepts exactly when torch does, with the same output shape and parameter count.
Per-side padding pairs and ``SAME_*`` names are not expressible in torch and are not drawn;
average pooling has no dilation in torch.  Four places where torch accepts an input only
because it does not validate it are refused by convproof on purpose; they are not drawn, and
``test_deliberate_divergences`` pins each one (so a torch change shows up):

* a size-0 output axis (``ConvTranspose*d`` on a batched input sometimes returns one,
  sometimes raises, depending on the backend) -- convproof refuses every empty output;
* negative padding with a non-``zeros`` padding mode (handed to ``F.pad``, which crops);
* ``dilation=0`` for a transposed conv (checked by some torch backends only);
* ``in_channels=0``.
"""

from __future__ import annotations

import itertools
import os
import warnings
from typing import Any

import numpy as np
import pytest

import convproof as cp

pytestmark = pytest.mark.torch

N_CASES = int(os.environ.get("CONVPROOF_TORCH_CASES", "1000"))


def _maybe_tuple(rng: np.random.Generator, ndim: int, lo: int, hi: int) -> Any:
    """An int, or (half of the time for ndim > 1) a tuple of ``ndim`` ints in [lo, hi]."""
    if ndim > 1 and rng.random() < 0.5:
        return tuple(int(v) for v in rng.integers(lo, hi + 1, size=ndim))
    return int(rng.integers(lo, hi + 1))


def _bad(rng: np.random.Generator) -> bool:
    return bool(rng.random() < 0.12)


def _draw_case(rng: np.random.Generator) -> dict[str, Any]:
    """One random layer description (torch spelling) and input shape."""
    kind = str(rng.choice(["conv", "conv_transpose", "max", "avg"]))
    ndim = int(rng.integers(1, 4))
    k = _maybe_tuple(rng, ndim, 0 if _bad(rng) else 1, 4)
    s = _maybe_tuple(rng, ndim, 0 if _bad(rng) else 1, 3)
    # torch never validates a transposed conv's dilation (0 is accepted): not drawn
    d = _maybe_tuple(rng, ndim, 0 if _bad(rng) and kind != "conv_transpose" else 1, 3)
    p: Any = _maybe_tuple(rng, ndim, -1 if _bad(rng) else 0, 3)
    case: dict[str, Any] = {"kind": kind, "ndim": ndim}
    if kind in ("conv", "conv_transpose"):
        groups = int(rng.choice([1, 1, 1, 2, 3])) if not _bad(rng) else int(rng.integers(0, 4))
        c_in = groups * int(rng.integers(1, 3)) + (int(rng.integers(0, 2)) if _bad(rng) else 0)
        c_out = groups * int(rng.integers(1, 3)) + (int(rng.integers(-1, 2)) if _bad(rng) else 0)
        c_in = max(c_in, 1)
        args: dict[str, Any] = dict(
            in_channels=c_in,
            out_channels=c_out,
            kernel_size=k,
            stride=s,
            padding=p,
            dilation=d,
            groups=groups,
            bias=bool(rng.random() < 0.7),
        )
        if kind == "conv":
            r = rng.random()
            if r < 0.15:
                args["padding"] = "same"
            elif r < 0.22:
                args["padding"] = "valid"
            args["padding_mode"] = str(
                rng.choice(["zeros", "zeros", "circular", "reflect", "replicate"])
            )
            if args["padding_mode"] != "zeros" and not isinstance(args["padding"], str):
                # other modes hand padding to F.pad, which crops on negative values: not drawn
                args["padding"] = _maybe_tuple(rng, ndim, 0, 3)
        else:
            args["output_padding"] = _maybe_tuple(rng, ndim, -1 if _bad(rng) else 0, 2)
        channels = c_in if rng.random() > 0.05 else c_in + 1
    else:
        args = dict(kernel_size=k, stride=s, padding=p, ceil_mode=bool(rng.random() < 0.5))
        if kind == "max":
            args["dilation"] = d
        else:
            args["count_include_pad"] = bool(rng.random() < 0.5)
        channels = int(rng.integers(1, 3))
    spatial = tuple(int(v) for v in rng.integers(1, 8, size=ndim))
    batched = bool(rng.random() < 0.5)
    case["args"] = args
    case["input_shape"] = ((2,) if batched else ()) + (channels, *spatial)
    return case


def _torch_result(torch: Any, case: dict[str, Any]) -> tuple[Any, ...] | None:
    """(output shape, number of parameters, weight shape), or None when torch refuses.

    A size-0 spatial axis counts as a refusal: convproof refuses every empty output, while
    ``ConvTranspose*d`` on a batched input sometimes returns one and sometimes raises,
    depending on the backend (see ``test_deliberate_divergences``).
    """
    nn = torch.nn
    ndim, kind, args = case["ndim"], case["kind"], case["args"]
    cls = {
        "conv": f"Conv{ndim}d",
        "conv_transpose": f"ConvTranspose{ndim}d",
        "max": f"MaxPool{ndim}d",
        "avg": f"AvgPool{ndim}d",
    }[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            module = getattr(nn, cls)(**args)
            with torch.no_grad():
                out = module(torch.zeros(case["input_shape"]))
        except (RuntimeError, ValueError, TypeError):
            return None
    if 0 in out.shape[-ndim:]:
        return None
    weight = getattr(module, "weight", None)
    weight_shape = None if weight is None else tuple(weight.shape)
    return tuple(out.shape), sum(p.numel() for p in module.parameters()), weight_shape


def _convproof_result(case: dict[str, Any]) -> tuple[Any, ...] | None:
    """(output shape, number of parameters, weight shape), or None when convproof refuses."""
    kind, args = case["kind"], dict(case["args"])
    try:
        if kind == "conv":
            spec: cp.Spec = cp.ConvSpec(**args, ndim=case["ndim"])
        elif kind == "conv_transpose":
            spec = cp.ConvTransposeSpec(**args, ndim=case["ndim"])
        else:
            spec = cp.PoolSpec(kind=kind, **args, ndim=case["ndim"])
        return spec.output_shape(case["input_shape"]), spec.num_params, spec.weight_shape
    except cp.ConvProofError:
        return None


def test_random_specs_agree_with_torch(torch: Any) -> None:
    rng = np.random.default_rng(1603_07285)
    disagreements = []
    n_valid = 0
    for _ in range(N_CASES):
        case = _draw_case(rng)
        expected = _torch_result(torch, case)
        got = _convproof_result(case)
        n_valid += expected is not None
        if expected != got:
            disagreements.append((case, expected, got))
    assert not disagreements, "\n".join(map(repr, disagreements[:20]))
    # the sweep must exercise both sides of the decision
    assert 0.3 * N_CASES < n_valid < 0.9 * N_CASES, n_valid


DIVERGENCES = [
    # (torch module factory, input shape, convproof spec factory, convproof message)
    pytest.param(
        lambda nn: nn.ConvTranspose1d(2, 2, 1, stride=2, padding=1, output_padding=1),
        (2, 2, 1),
        lambda: cp.ConvTransposeSpec(
            in_channels=2, out_channels=2, kernel_size=1, stride=2, padding=1, output_padding=1
        ).output_shape((2, 2, 1)),
        "transposed convolution output would be empty",
        id="transposed-empty-output",
    ),
    pytest.param(
        lambda nn: nn.Conv1d(1, 1, 1, padding=-1, padding_mode="circular"),
        (1, 3),
        lambda: cp.ConvSpec(
            in_channels=1, out_channels=1, kernel_size=1, padding=-1, padding_mode="circular"
        ),
        "padding must be >= 0",
        id="negative-padding-circular",
    ),
    pytest.param(
        # torch checks dilation > 0 on some backends only: this grouped case passes
        lambda nn: nn.ConvTranspose1d(6, 6, 1, stride=2, padding=1, dilation=0, groups=3),
        (6, 2),
        lambda: cp.ConvTransposeSpec(
            in_channels=6, out_channels=6, kernel_size=1, stride=2, padding=1, dilation=0, groups=3
        ),
        "dilation must be >= 1",
        id="transposed-dilation-0",
    ),
    pytest.param(
        lambda nn: nn.Conv1d(0, 1, 3),
        (0, 5),
        lambda: cp.ConvSpec(in_channels=0, out_channels=1, kernel_size=3),
        "in_channels must be >= 1",
        id="zero-in-channels",
    ),
]


@pytest.mark.parametrize(("make_module", "shape", "make_spec", "message"), DIVERGENCES)
def test_deliberate_divergences(
    torch: Any, make_module: Any, shape: tuple[int, ...], make_spec: Any, message: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            make_module(torch.nn)(torch.zeros(shape))  # torch does not refuse
    with pytest.raises(cp.ConvProofError, match=message):
        make_spec()


def test_avg_pool_3d_needs_input_at_least_kernel(torch: Any) -> None:
    """Found by the sweep: AvgPool3d refuses an input smaller than the kernel even when the
    padding makes room (AvgPool1d/2d and MaxPool3d do not)."""
    nn = torch.nn
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        nn.AvgPool3d(3, padding=1)(torch.zeros(1, 3, 3, 2))
    assert tuple(nn.AvgPool2d(2, 1, padding=1)(torch.zeros(1, 1, 1)).shape) == (1, 2, 2)
    assert tuple(nn.MaxPool3d(3, 3, ceil_mode=True)(torch.zeros(1, 2, 4, 1)).shape) == (1, 1, 2, 1)
    avg3 = cp.PoolSpec(kind="avg", kernel_size=3, padding=1, ndim=3)
    with pytest.raises(cp.ConvProofError, match="3-D average pooling needs every input size"):
        avg3.output_shape((1, 3, 3, 2))
    assert avg3.output_shape((1, 3, 3, 3)) == (1, 1, 1, 1)
    assert cp.PoolSpec(kind="avg", kernel_size=2, stride=1, padding=1, ndim=2).output_shape(
        (1, 1, 1)
    ) == (1, 2, 2)
    assert cp.PoolSpec(kind="max", kernel_size=3, stride=3, ceil_mode=True, ndim=3).output_shape(
        (1, 2, 4, 1)
    ) == (1, 1, 2, 1)


def test_output_size_argument_of_conv_transpose(torch: Any) -> None:
    """``output_padding_for_size`` reproduces ``ConvTranspose*d.forward(x, output_size=...)``."""
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(150):
        k, s, p, d = (int(v) for v in rng.integers(1, 4, size=4))
        p -= 1
        i = int(rng.integers(1, 6))
        size = int(rng.integers(1, 16))
        module = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, dilation=d)
        spec = cp.ConvTransposeSpec(
            in_channels=1, out_channels=1, kernel_size=k, stride=s, padding=p, dilation=d, ndim=1
        )
        try:
            with torch.no_grad():
                out = module(torch.zeros(1, 1, i), output_size=[size])
            expected: Any = tuple(out.shape[-1:])
        except (RuntimeError, ValueError):
            expected = None
        try:
            op = cp.output_padding_for_size(spec, (1, 1, i), size)
            got: Any = (size,)
            assert op[0] < s
        except cp.ConvProofError:
            got = None
        assert expected == got, (k, s, p, d, i, size)
        checked += expected is not None
    assert checked > 20


def test_same_padding_split_matches_torch(torch: Any) -> None:
    """PyTorch's ``padding='same'`` puts the odd extra at the end (its F.pad amounts)."""
    checked = 0
    for ndim in (1, 2, 3):
        module_cls = getattr(torch.nn, f"Conv{ndim}d")
        for k, d in itertools.product(range(1, 6), range(1, 4)):
            kernel = tuple((k + j) % 5 + 1 for j in range(ndim))
            dilation = tuple((d + j) % 3 + 1 for j in range(ndim))
            module = module_cls(1, 1, kernel, padding="same", dilation=dilation)
            amounts = getattr(module, "_reversed_padding_repeated_twice", None)
            if amounts is None:  # pragma: no cover - private attribute of torch 1.9+
                pytest.skip("this torch version does not expose its 'same' padding amounts")
            # torch stores (before, after) pairs for the last dimension first
            torch_pairs = tuple((amounts[2 * j], amounts[2 * j + 1]) for j in reversed(range(ndim)))
            spec = cp.ConvSpec(
                in_channels=1, out_channels=1, kernel_size=kernel, dilation=dilation, padding="same"
            )
            assert spec.resolve_padding((1, *([9] * ndim))) == torch_pairs
            checked += 1
    assert checked == 45
