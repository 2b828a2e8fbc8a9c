"""Exports: Matrix Market, npz, dense, LaTeX and torch.sparse round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
import scipy.sparse
import sympy
from testsupport import padded_1d

import convproof as cp
from convproof.presentation.export import (
    matrix_conventions,
    to_dense,
    to_latex,
    to_mtx,
    to_npz,
    to_torch_sparse,
)

SPEC = cp.ConvSpec(
    in_channels=2, out_channels=3, kernel_size=3, padding=1, padding_mode="reflect", groups=1
)
SHAPE = (2, 4, 5)


@pytest.fixture
def matrix(rng: np.random.Generator) -> Any:
    return cp.conv_matrix(SPEC, SHAPE, rng.standard_normal(SPEC.weight_shape))


def test_mtx_round_trip_with_conventions(matrix: Any, tmp_path: Path) -> None:
    path = tmp_path / "T.mtx"
    to_mtx(matrix, path, spec=SPEC, input_shape=SHAPE, comment="made by a test")
    text = path.read_text()
    assert "row-major" in text and "cross-correlation" in text and "'reflect'" in text
    assert "made by a test" in text
    back = scipy.io.mmread(path)
    np.testing.assert_array_equal(back.toarray(), matrix.toarray())


def test_npz_round_trip(matrix: Any, tmp_path: Path) -> None:
    path = tmp_path / "T.npz"
    to_npz(matrix, path)
    back = scipy.sparse.load_npz(path)
    assert back.shape == matrix.shape and back.nnz == matrix.nnz
    np.testing.assert_array_equal(back.toarray(), matrix.toarray())


def test_dense_numeric_symbolic_and_limit(matrix: Any) -> None:
    np.testing.assert_array_equal(to_dense(matrix), matrix.toarray())
    sym = cp.conv_matrix(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2), (1, 3, 3))
    dense = to_dense(sym)
    assert isinstance(dense, sympy.Matrix) and dense == sympy.Matrix(sym)
    with pytest.raises(
        cp.ConvProofError, match=r"max_elements must be at least .* got max_elements=10"
    ):
        to_dense(matrix, max_elements=10)


def test_latex_seed_matrix() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    text = to_latex(spec, (1, 3, 3))
    header = [line for line in text.splitlines() if line.startswith("%")]
    assert any("row-major" in line for line in header)
    assert any("cross-correlation" in line for line in header)
    assert any("padding" in line for line in header)
    body = [line for line in text.splitlines() if not line.startswith("%")]
    assert body[0] == r"\begin{bmatrix}" and body[-1] == r"\end{bmatrix}"
    rows = [r.rstrip(" \\").split(" & ") for r in body[1:-1]]
    a, b, c, d = "w_{0,0,0,0}", "w_{0,0,0,1}", "w_{0,0,1,0}", "w_{0,0,1,1}"
    assert rows[0] == [a, b, "0", c, d, "0", "0", "0", "0"]
    assert rows[3] == ["0", "0", "0", "0", a, b, "0", c, d]


def test_latex_folded_sums_and_pool_fractions() -> None:
    spec = padded_1d("reflect")
    text = to_latex(spec, (1, 3), conventions=False)
    assert "w_{0,0,0} + w_{0,0,2}" in text
    assert "fold" in "\n".join(matrix_conventions(spec, (1, 3)))
    pool = cp.PoolSpec(kind="avg", kernel_size=2, ndim=1)
    assert r"\frac{1}{2}" in to_latex(pool, (1, 4))
    numeric = cp.conv_matrix(pool, (1, 4), dtype=np.float64)
    assert "0.5 & 0.5 & 0 & 0" in to_latex(pool, (1, 4), numeric)


def test_latex_refuses_large_matrices() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)
    with pytest.raises(cp.ConvProofError, match=r"max_size must be at least 100"):
        to_latex(spec, (1, 10, 10))


def test_conventions_transposed_and_pool() -> None:
    t = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, output_padding=0)
    assert any("transpose" in line for line in matrix_conventions(t, (1, 3, 3)))
    pool = cp.PoolSpec(kind="avg", kernel_size=2, count_include_pad=False)
    assert any("real elements only" in line for line in matrix_conventions(pool, (1, 4, 4)))


@pytest.mark.torch
@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_torch_sparse_matches_and_multiplies(matrix: Any, layout: str, torch: Any,
                                             rng: np.random.Generator) -> None:  # fmt: skip
    t = to_torch_sparse(matrix, layout=layout)
    assert tuple(t.shape) == matrix.shape and t.dtype == torch.float64
    np.testing.assert_array_equal(t.to_dense().numpy(), matrix.toarray())
    x = rng.standard_normal(matrix.shape[1])
    y = (t @ torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, matrix @ x, rtol=1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: to_mtx(cp.conv_matrix(SPEC, SHAPE), "x.mtx"), "matrix must be numeric"),
        (lambda: to_npz(np.eye(3), "x.npz"), "matrix must be a scipy.sparse array"),
        (lambda: to_torch_sparse(cp.conv_matrix(SPEC, SHAPE)), "matrix must be numeric"),
        (lambda: to_torch_sparse(scipy.sparse.eye_array(2), layout="bsr"),
         "layout must be 'csr' or 'coo'"),
        (lambda: matrix_conventions("conv", SHAPE), "spec must be a ConvSpec"),
    ],
)  # fmt: skip
def test_bad_input(call: Any, match: str) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        call()
