"""The example notebook, executed top to bottom as a user would run it."""

from __future__ import annotations

import pathlib

import nbclient
import nbformat

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "examples" / "hunt-the-sample.ipynb"


def test_the_example_notebook_runs(tmp_path: pathlib.Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/html", "")) + str(o.get("data", {}).get("text/plain", ""))
        for o in outputs
    )
    # The hunt's table, its warnings, the lead's events and the figure.
    assert "<b>lakehunt</b>: 8 rows; hunt egress-bytes" in text
    assert "LakehuntWarning" in text
    assert "planted-" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
