"""Execute every numbered notebook; each one asserts its key facts, so running it is a test.

The notebooks are committed without outputs and written by ``notebooks/_build.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
#: Notebooks that take more than ~20 s on a 2-core CI machine.
SLOW = {
    "02-output-size.ipynb",
    "04-property-testing-your-conv.ipynb",
    "05-receptive-fields.ipynb",
}

nbformat = pytest.importorskip("nbformat", reason="notebooks need the 'notebooks' extra")
nbclient = pytest.importorskip("nbclient", reason="notebooks need the 'notebooks' extra")


def test_all_notebooks_present() -> None:
    assert NAMES == [
        "01-channels-and-feature-maps.ipynb",
        "02-output-size.ipynb",
        "03-conv-as-matrix.ipynb",
        "04-property-testing-your-conv.ipynb",
        "05-receptive-fields.ipynb",
        "06-check-your-backward-pass.ipynb",
        "07-operator-spectrum.ipynb",
    ]


def test_notebooks_are_committed_without_outputs() -> None:
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name


def test_notebooks_match_their_builder() -> None:
    """The committed notebooks are what notebooks/_build.py writes (no hand edits drift)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_nb_build", NOTEBOOKS / "_build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for stem, cells in build.NOTEBOOKS.items():
        nb = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
        assert [c.source for c in nb.cells] == [c.source for c in cells], stem


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in NAMES],
)
def test_notebook_executes(name: str) -> None:
    pytest.importorskip("matplotlib", reason="the notebooks draw pictures (the 'plots' extra)")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=300,  # per cell
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError (with the cell and traceback) on failure
    kinds = {o.get("output_type") for c in nb.cells for o in c.get("outputs", [])}
    assert "error" not in kinds
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    latex = [
        c
        for c in nb.cells
        if (c.cell_type == "markdown" and "$" in c.source)
        or any("text/latex" in o.get("data", {}) for o in c.get("outputs", []))
    ]
    assert images, f"{name} shows no picture"
    # convproof's figures display themselves (their _repr_png_): no show() helper
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert "def show(" not in cell.source, name
        if "display(fig" in cell.source or "display(render." in cell.source:
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source
    assert latex, f"{name} renders no LaTeX"
