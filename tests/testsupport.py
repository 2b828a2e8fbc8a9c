"""Helpers several test files share: loading a benchmark script, problems of every padding form,
the small padded layer of the hand-worked tables."""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

import convproof as cp
from convproof.testing import strategies as cs

#: Every padding form each kind's spec strategy can draw.
FORMS = {
    "conv": cs.CONV_PADDING_FORMS,
    "conv_transpose": cs.TRANSPOSE_PADDING_FORMS,
    "pool": cs.POOL_PADDING_FORMS,
}


def kind_problems(
    strategy: Callable[..., st.SearchStrategy], kind: str, ndim: int, **kw: Any
) -> st.SearchStrategy:
    """``strategy`` (``conv_problems`` or ``conv_backward_problems``) over every padding form of
    ``kind``; pooling drops ``max_channels`` (it keeps the input's channels)."""
    if kind == "pool":
        kw.pop("max_channels", None)
    return strategy(kind=kind, ndim=ndim, paddings=FORMS[kind], **kw)


def padded_1d(mode: str, padding: int = 1) -> cp.ConvSpec:
    """The smallest conv that reads its padding: one channel in and out, 1-D, a 3-tap kernel,
    no bias, ``padding`` on each side in padding mode ``mode`` (the hand-worked tables' layer)."""
    return cp.ConvSpec(
        in_channels=1,
        out_channels=1,
        kernel_size=3,
        padding=padding,
        padding_mode=mode,
        bias=False,
        ndim=1,
    )


def load_benchmark(name: str) -> Any:
    """The script ``benchmarks/<name>.py`` as a module (registered as ``name``)."""
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
