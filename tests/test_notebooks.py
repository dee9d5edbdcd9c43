"""The notebooks run top to bottom against the shipped data and model."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["01_training_data.ipynb", "02_model_evaluation.ipynb", "03_feedback_loop.ipynb"]
)
def test_notebook_runs(repo_root: Path, name: str) -> None:
    path = repo_root / "notebooks" / name
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    assert any(
        o.get("output_type") in {"display_data", "execute_result"}
        for c in nb.cells
        for o in c.get("outputs", [])
    )
