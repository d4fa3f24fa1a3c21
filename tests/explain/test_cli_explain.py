"""``jsdm-hot explain`` end to end on the real eBird roccupy data: card, figures and tables with common names,
covariate units, the map grid's extrapolation share; and a clear error for a bad model directory."""

import re

import pandas as pd
import pytest
from conftest import require_shared_data
from typer.testing import CliRunner

from jsdm_hot.cli import app

runner = CliRunner()


def _run(args):
    res = runner.invoke(app, [str(a) for a in args])
    return res


@pytest.fixture(scope="module")
def roccupy_run(tmp_path_factory):
    from jsdm_hot.baselines import BinaryRelevanceLogistic
    from jsdm_hot.data.fixtures import load_roccupy
    from jsdm_hot.data.splits import train_test_split

    folder = require_shared_data("ebird_roccupy")
    root = tmp_path_factory.mktemp("explain_cli")
    data = load_roccupy(folder)
    data.to_frame().to_csv(root / "roccupy.csv", index=False)
    train, _ = train_test_split(data, 0.2, kind="random", seed=0)  # what `jsdm-hot fit --test-frac 0.2 --seed 0` holds out
    BinaryRelevanceLogistic(C=0.1, max_iter=300).fit(train).save(root / "model")
    res = _run(["explain", root / "model", root / "roccupy.csv", "--out", root / "card", "--test-frac", 0.2,
                "--seed", 0, "--grid", folder / "grid.csv", "--tree", folder.parent / "trees" / "roccupy32.nwk",
                "--labels", folder / "species.csv", "--label-schemes", "effort,bioclim,nlcd", "--draws", 10,
                "--repeats", 2, "--grid-points", 6, "--curves", 2, "--max-sites", 400])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return root, train


def test_card_figures_tables(roccupy_run):
    root, train = roccupy_run
    card = root / "card"
    text = (card / "model_card.md").read_text(encoding="utf-8")
    assert "Held-out sites: **1600**" in text and "training sites: **6400**" in text
    assert "Mallard" in text and "Anas platyrhynchos" not in text.split("## 5.")[1]  # common names in the text
    assert "annual mean temperature (°C×10)" in text and "checklist duration, ln(minutes)" in text
    assert "Community, effort covariates" in text  # effort apart from environment
    m = re.search(r"([\d.]+)% of 3502 map cells have at least one of 33 covariates", text)
    assert m, "the map grid (33 environmental covariates, no effort) is checked against the training range"
    figs = sorted(p.name for p in (card / "figures").iterdir())
    assert {"associations.png", "calibration.png", "importance_community.png", "importance_species.png",
            "richness.png", "richness_surface.png"} <= set(figs)
    assert sum(f.startswith("response_") for f in figs) == 3  # 2 environmental + the top effort covariate
    imp = pd.read_csv(card / "tables" / "importance.csv")
    kinds = imp.drop_duplicates("covariate").set_index("covariate")["kind"]
    assert kinds["log_duration"] == "effort" and kinds["time"] == "effort" and kinds["bio1"] == "environment"
    assert (imp.loc[imp["species"] != "community", "label"] == "Mallard").any()


def test_bad_model_dir_is_a_clear_error(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("site_id,x,sp\n1,0.5,1\n", encoding="utf-8")
    from jsdm_hot.errors import JsdmHotError

    res = _run(["explain", tmp_path / "missing_model", data, "--out", tmp_path / "o"])
    assert isinstance(res.exception, JsdmHotError) and "missing_model" in str(res.exception)
    assert "does not exist" in str(res.exception)
