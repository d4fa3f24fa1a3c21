"""The notebooks in notebooks/ run end to end on tiny settings, and are committed without outputs.

Each notebook is executed with nbclient in a kernel running this interpreter
(``sys.executable``), with a cell injected right after its ``parameters`` cell that
shrinks the run (few sites, species, epochs and draws) and points ``OUT_DIR`` at a
temporary folder; the test then checks the files the notebook promises to write.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import require_shared_data

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SHARED_DATA = ROOT.parent / "shared" / "data"

TINY_SIM = dict(N_SITES=120, N_SPECIES=6, EPOCHS=2, PATIENCE=2, D_MODEL=16, LATENT_DIM=8, HIDDEN=16, N_DRAWS=10)

CASES = {
    "01_quickstart.ipynb": (
        TINY_SIM,
        ["report/metrics.csv", "report/metrics.md", "report/report.json", "richness.png",
         "model/config.json"],
    ),
    "02_ebird_pipeline.ipynb": (
        dict(EPOCHS=2, PATIENCE=2, D_MODEL=8, LATENT_DIM=4, HIDDEN=8, N_DRAWS=10),
        ["zero_filled.csv", "report/metrics.csv", "report/report.json", "model/config.json"],
    ),
    "03_posterior_and_maps.ipynb": (
        {**TINY_SIM, "RICHNESS_K": (1, 2)},
        ["richness_intervals.png", "richness.png", "richness_sd.png", "richness_ge_1.png", "composition_pc_1.png",
         "geotiff/richness.tif", "geotiff/richness_sd.tif", "geotiff/richness_ge.tif", "geotiff/composition_pc.tif",
         "maps.nc"],
    ),
    "04_explain.ipynb": (
        dict(EPOCHS=2, PATIENCE=2, D_MODEL=8, LATENT_DIM=4, HIDDEN=8, N_DRAWS=5, N_REPEATS=1, N_POINTS=5,
             MAX_SITES=200),
        ["card/model_card.md", "card/figures/importance_community.png", "card/figures/associations.png",
         "card/tables/importance.csv", "card/tables/response_curves.csv"],
    ),
}
NEEDS_SHARED = {"02_ebird_pipeline.ipynb", "04_explain.ipynb"}


def _kernel_env(tmp_path: Path) -> dict[str, str]:
    """A JUPYTER_PATH holding a ``python3`` kernelspec bound to this interpreter (nothing is installed)."""
    kdir = tmp_path / "jupyter" / "kernels" / "python3"
    kdir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (jsdm-hot test)", "language": "python"}
    (kdir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return {"JUPYTER_PATH": str(tmp_path / "jupyter"), "MPLBACKEND": "Agg"}


def _inject(nb, overrides: dict) -> None:
    """Insert an override cell right after the cell tagged ``parameters``."""
    idx = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(idx) == 1, "each notebook needs exactly one cell tagged 'parameters'"
    src = ("# injected by tests/test_notebooks.py\n" + "\n".join(f"{k} = {v!r}" for k, v in overrides.items())
           + "\nimport sys as _sys\nprint(_sys.executable)")
    cell = nbformat.v4.new_code_cell(src)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(idx[0] + 1, cell)


@pytest.mark.parametrize("name", sorted(CASES))
def test_committed_notebook_is_clean(name):
    """Committed notebooks are valid, tagged, and stripped of outputs and execution counts."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{name} has no code cells"
    dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not dirty, f"{name}: code cells {dirty} carry outputs/execution counts; strip them before committing"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "OUT_DIR" in params[0].source and "N_DRAWS" in params[0].source


@pytest.mark.parametrize("name", sorted(CASES))
def test_notebook_runs(name, tmp_path, monkeypatch):
    if name in NEEDS_SHARED:
        require_shared_data()
    overrides, expected = CASES[name]
    out = tmp_path / "out"
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    _inject(nb, {**overrides, "OUT_DIR": str(out)})
    for k, v in _kernel_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError (with the traceback) when a cell fails
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    missing = [f for f in expected if not (out / f).is_file() or (out / f).stat().st_size == 0]
    assert not missing, f"{name} did not write {missing} under {out}"
    # the notebook really ran, with the tiny settings, in a kernel running this interpreter
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    printed = "".join(o.get("text", "") for o in injected[0].outputs).strip()
    assert printed == sys.executable  # not resolved: the venv python is a symlink to the base one
