"""Tests of `jsdm-hot tree-check` (jsdm_hot/cli/tree.py) on small trees and the real roccupy data."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import require_shared_data

ete3 = pytest.importorskip("ete3")

from jsdm_hot import phylo  # noqa: E402
from jsdm_hot.errors import TreeError  # noqa: E402


def _runner():
    from typer.testing import CliRunner

    from jsdm_hot.cli import app

    return CliRunner(), app


def test_cli_tree_check_wide_csv(tmp_path):
    runner, app = _runner()
    tree = tmp_path / "t.nwk"
    tree.write_text("((Anas_platyrhynchos:1,Pica_pica:1):1,Corvus_corax:2);")
    data = tmp_path / "d.csv"
    pd.DataFrame({"site_id": ["s1", "s2"], "lon": [1.0, 2.0], "lat": [5.0, 6.0], "Anas platyrhynchos": [0, 1],
                  "Pica pica": [1, 1], "temp": [3.5, 2.0]}).to_csv(data, index=False)
    out = tmp_path / "report.csv"
    pruned = tmp_path / "pruned.nwk"
    res = runner.invoke(app, ["tree-check", str(data), "--tree", str(tree), "--out", str(out), "--write-pruned", str(pruned)])
    assert res.exit_code == 0, res.output
    assert "data: 2 species" in res.output and "matched: 2" in res.output and "unused tips: 1" in res.output
    assert "phylo graph (k=3) over 2 species: 1 edges" in res.output and "median 2, max 2" in res.output
    assert pd.read_csv(out)["status"].tolist() == ["exact", "exact"]
    assert sorted(phylo.read_tree(pruned).tip_names) == ["Anas_platyrhynchos", "Pica_pica"]


def test_cli_tree_check_unmatched_policies_and_synonyms(tmp_path):
    runner, app = _runner()
    tree = tmp_path / "t.nwk"
    tree.write_text("((Cyanistes_caeruleus:1,Pica_pica:1):1,Corvus_corax:2);")
    data = tmp_path / "species.csv"
    pd.DataFrame({"latin_name": ["Parus caeruleus", "Pica pica"]}).to_csv(data, index=False)
    args = ["tree-check", str(data), "--names-col", "latin_name", "--tree", str(tree)]
    res = runner.invoke(app, args)
    assert res.exit_code == 1
    assert "unmatched species: 1" in res.output and "Parus caeruleus" in res.output
    assert "phylo graph" not in res.output
    res = runner.invoke(app, args + ["--tree-unmatched", "drop"])
    assert res.exit_code == 0 and "policy drop" in res.output
    assert "phylo graph (k=3) over 1 species" in res.output
    res = runner.invoke(app, args + ["--tree-unmatched", "connect", "--phylo-k", "1"])
    assert res.exit_code == 0 and "phylo graph (k=1) over 2 species: 1 edges" in res.output
    syn = tmp_path / "syn.csv"
    syn.write_text("old,new\nParus caeruleus,Cyanistes caeruleus\n")
    res = runner.invoke(app, args + ["--synonyms", str(syn)])
    assert res.exit_code == 0, res.output
    assert "1 through a synonym" in res.output and "Parus caeruleus -> Cyanistes caeruleus" in res.output


def test_cli_tree_check_no_overlap_raises_tree_error(tmp_path):
    runner, app = _runner()
    tree = tmp_path / "t.nwk"
    tree.write_text("(X_x:1,Y_y:1);")
    data = tmp_path / "d.csv"
    pd.DataFrame({"Pica pica": [0, 1]}).to_csv(data, index=False)
    res = runner.invoke(app, ["tree-check", str(data), "--tree", str(tree)])
    assert isinstance(res.exception, TreeError) and "no overlap" in str(res.exception)


def test_cli_tree_check_roccupy(roccupy_species):
    runner, app = _runner()
    occ = require_shared_data("ebird_roccupy", "occurrences.csv")
    res = runner.invoke(app, ["tree-check", str(occ), "--tree", str(require_shared_data("trees", "roccupy32.nwk"))])
    assert res.exit_code == 0, res.output
    assert "data: 32 species" in res.output and "matched: 32 (32 exact" in res.output
