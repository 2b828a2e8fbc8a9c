"""The tests' two references checked against each other and against hand-worked values.

``tests/reference.py`` (loops) and ``convproof.testing.oracles.torch_reference`` (PyTorch) are
written
independently; every other numeric test leans on them, so they are checked first.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from reference import ref_conv, ref_conv_transpose, ref_pool, reference
from testsupport import padded_1d

import convproof as cp
from convproof.testing.oracles import torch_reference


# --- hand-worked values -----------------------------------------------------------------
def test_seed_collapse_of_three_channels() -> None:
    # one 3x3x3 kernel on a 3x3x3 input: a single number, the sum over channels plus bias
    spec = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=3)
    x = np.arange(27).reshape(3, 3, 3)
    w = np.ones((1, 3, 3, 3), dtype=int)
    out = ref_conv(spec, x.astype(object), w.astype(object), np.array([5], dtype=object))
    assert out.shape == (1, 1, 1)
    assert out[0, 0, 0] == sum(range(27)) + 5


def test_seed_3x3_input_2x2_kernel() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    x = np.array([[[1, 2, 3], [4, 5, 6], [7, 8, 9]]], dtype=object)
    w = np.array([[[[1, 10], [100, 1000]]]], dtype=object)
    # Z[a, b] = x[a,b] + 10 x[a,b+1] + 100 x[a+1,b] + 1000 x[a+1,b+1]
    expected = [
        [1 + 20 + 400 + 5000, 2 + 30 + 500 + 6000],
        [4 + 50 + 700 + 8000, 5 + 60 + 800 + 9000],
    ]
    assert ref_conv(spec, x, w).tolist() == [expected]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # x = [1, 2, 3], padding 2 each side, kernel [1] at the first tap of a 5-tap window
        ("zeros", [0, 0, 1, 2, 3]),
        ("circular", [2, 3, 1, 2, 3]),
        ("reflect", [3, 2, 1, 2, 3]),
        ("replicate", [1, 1, 1, 2, 3]),
    ],
)
def test_padding_modes_read_the_right_values(mode: str, expected: list[int]) -> None:
    spec = padded_1d(mode, padding=2)
    w = np.array([[[1, 0, 0]]], dtype=object)
    assert ref_conv(spec, np.array([[1, 2, 3]], dtype=object), w).tolist() == [expected]


def test_avg_pool_ceil_mode_divisors() -> None:
    spec = cp.PoolSpec(kind="avg", kernel_size=2, stride=2, ceil_mode=True, ndim=1)
    out = ref_pool(spec, np.array([[1, 2, 3, 4, 5]], dtype=object))
    assert out.tolist() == [[Fraction(3, 2), Fraction(7, 2), Fraction(5)]]


def test_transposed_conv_is_scatter() -> None:
    spec = cp.ConvTransposeSpec(
        in_channels=1, out_channels=1, kernel_size=2, stride=2, bias=False, ndim=1
    )
    out = ref_conv_transpose(
        spec, np.array([[1, 2]], dtype=object), np.array([[[1, 10]]], dtype=object)
    )
    assert out.tolist() == [[1, 10, 2, 20]]


# --- the two references agree -----------------------------------------------------------
def _random_spec(rng: np.random.Generator):
    ndim = int(rng.integers(1, 4))
    k = tuple(int(v) for v in rng.integers(1, 4, ndim))
    s = tuple(int(v) for v in rng.integers(1, 3, ndim))
    d = tuple(int(v) for v in rng.integers(1, 3, ndim))
    kind = rng.choice(["conv", "convT", "max", "avg"])
    g = int(rng.choice([1, 2]))
    cin, cout = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))

    def layer(cls, **kw):  # bias is drawn last, after the kind's own draws
        return cls(in_channels=cin, out_channels=cout, kernel_size=k, stride=s, dilation=d,
                   groups=g, bias=bool(rng.integers(2)), **kw)  # fmt: skip

    if kind == "conv":
        pads = tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (ndim, 2)))
        mode = str(rng.choice(cp.PADDING_MODES))
        return layer(cp.ConvSpec, padding=pads, padding_mode=mode)
    if kind == "convT":
        op = tuple(int(rng.integers(0, max(si, di))) for si, di in zip(s, d))
        pads = tuple((int(a), int(b)) for a, b in rng.integers(0, 2, (ndim, 2)))
        return layer(cp.ConvTransposeSpec, padding=pads, output_padding=op)
    pad = tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k)
    return cp.PoolSpec(
        kind=str(kind),
        kernel_size=k,
        stride=s,
        padding=pad,
        dilation=d if kind == "max" else 1,
        ceil_mode=bool(rng.integers(2)),
        count_include_pad=bool(rng.integers(2)),
    )


def test_loop_reference_matches_torch(torch, rng: np.random.Generator) -> None:
    checked = 0
    while checked < 150:
        try:
            spec = _random_spec(rng)
            shape = (
                int(rng.integers(1, 3)),
                getattr(spec, "in_channels", 2),
                *(int(v) for v in rng.integers(1, 6, spec.ndim)),
            )
            spec.output_shape(shape)
        except cp.ConvProofError:
            continue
        if (
            getattr(spec, "kind", "") == "avg"
            and spec.ndim == 3
            and min(n - k for n, k in zip(shape[2:], spec.kernel_size)) < 0
        ):
            continue  # PyTorch's avg_pool3d (only) refuses inputs smaller than the raw kernel
        x = rng.standard_normal(shape)
        w = None if isinstance(spec, cp.PoolSpec) else rng.standard_normal(spec.weight_shape)
        b = rng.standard_normal(spec.out_channels) if getattr(spec, "bias", False) else None
        np.testing.assert_allclose(
            reference(spec, x, w, b),
            torch_reference(spec, x, w, b),
            rtol=1e-10,
            atol=1e-10,
            err_msg=repr(spec),
        )
        checked += 1


def test_torch_reference_refuses_what_torch_cannot_say(torch) -> None:
    pool = cp.PoolSpec(kind="max", kernel_size=3, padding=((0, 1),), ndim=1)
    with pytest.raises(NotImplementedError, match="symmetrically"):
        torch_reference(pool, np.zeros((1, 5)))
