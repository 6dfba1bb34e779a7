"""docs/tutorial.ipynb runs end to end in a fresh kernel and shows what it says it shows."""
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
        if output.get("output_type") == "error":
            parts.append("\n".join(output.get("traceback", [])))
    return "\n".join(parts)


@pytest.mark.slow
def test_tutorial_notebook_runs_and_finds_what_it_claims():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env_path}" if env_path else str(ROOT)
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        os.environ["PYTHONPATH"] = env_path
    code = [c for c in notebook.cells if c.cell_type == "code"]
    outputs = [_text(c) for c in code]
    assert not any("Traceback" in t for t in outputs)
    assert "'utr5'" in outputs[0] and "Explanation(3 sequences x 50 positions, predictor 'utr5'" in outputs[1]
    assert any(o.get("data", {}).get("image/png") for o in code[3].outputs)            # ex.plot(0) drew
    assert "integrated_gradients" in outputs[4] and "6A>C" in outputs[5]
    assert "{'ok': 15, 'error': 3}" in outputs[6] and "chrDemo" in outputs[6]
    assert "delta_prediction.bw" in outputs[7] and "bigWig at chrDemo:" in outputs[7]
    first = next(line for line in outputs[8].splitlines() if line.startswith("0 "))
    assert "pos_patterns.pattern_0" in first and first.split()[-1] == "AATAAA"      # the planted PAS comes first
    assert "IProgress" not in "".join(outputs) and str(ROOT) not in "".join(outputs)
