"""The notebooks in notebooks/ run top to bottom on the committed sample data, and are
committed without outputs."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
EXPECTED = ["01_tour.ipynb", "02_incident_investigation.ipynb", "03_detector_evaluation.ipynb"]
CELL_TIMEOUT = 300  # seconds; each notebook as a whole should take well under two minutes
PRIVATE_IMPORT = re.compile(r"^\s*(from|import)\s+toolkit(\.\w+)*\._", re.MULTILINE)


def test_the_three_notebooks_are_there():
    assert [p.name for p in PATHS] == EXPECTED


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    """No outputs, no execution counts, the python3 kernel, only public toolkit imports."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name}: a cell has outputs"
        assert cell.execution_count is None, f"{path.name}: a cell has an execution count"
        assert not PRIVATE_IMPORT.search(cell.source), cell.source


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path):
    """Executed in a fresh python3 kernel, from the notebook's own directory."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError naming the failing cell
    took = time.perf_counter() - started
    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
              if out.output_type == "error"]
    assert not errors
    print(f"{path.name}: {took:.1f} s")
