"""The model card on a simulated community: every section, figure and table, numbers that match their
sources, the extrapolation share of map cells, and a variance-partition section when the model has one."""

import re

import numpy as np
import pandas as pd
import pytest

from jsdm_hot.explain import build_card, write_model_card
from jsdm_hot.metrics.extrapolation import outside_range

SECTIONS = ["## 1. Data", "## 2. Model and training", "## 3. Performance on held-out sites",
            "## 4. What drives the species", "## 5. Associations", "## 6. Variance partitioning", "## 7. Known limits"]


@pytest.fixture(scope="module")
def card_dir(tmp_path_factory, br_model, sim_split):
    sim, train, test = sim_split
    out = tmp_path_factory.mktemp("card")
    paths = write_model_card(br_model, test, out, train=train, grid=sim.grid, tree=sim.newick, n_draws=20,
                             n_repeats=2, n_points=6, n_curves=2, max_curve_sites=80, max_draw_sites=30,
                             labels={sim.species[0]: "First species"}, covariate_labels={"temp": "temp (sd units)"})
    return out, paths


def test_card_files(card_dir, br_model):
    out, paths = card_dir
    text = (out / "model_card.md").read_text(encoding="utf-8")
    for s in SECTIONS:
        assert s in text
    figs = {p.name for p in (out / "figures").iterdir()}
    assert {"calibration.png", "richness.png", "importance_community.png", "importance_species.png",
            "associations.png", "richness_surface.png"} <= figs
    assert sum(f.startswith("response_") for f in figs) == 2
    for name in re.findall(r"\]\((figures/[^)]+)\)", text):
        assert (out / name).stat().st_size > 1000  # every figure the page shows exists
    assert {"importance.csv", "metrics.csv", "response_curves.csv", "strongest_pairs.csv", "associations.csv",
            "extrapolation_test.csv", "extrapolation_grid.csv", "covariates.csv"} <= {p.name for p in (out / "tables").iterdir()}
    assert not list(out.rglob("*.tmp"))  # atomic writes leave no temporaries
    assert paths["card"] == out / "model_card.md"
    assert "First species" in text and "temp (sd units)" in text
    assert "Not available: BinaryRelevanceLogistic has no residual association component" in text
    # the training time is the estimator's own fit_seconds_
    assert f"- Training time: fit {br_model.fit_seconds_:.1f} s (wall clock" in text


def test_card_numbers_match_sources(card_dir, br_model, sim_split):
    import pandas as pd

    from jsdm_hot.explain._common import model_inputs

    sim, train, test = sim_split
    out, _ = card_dir
    text = (out / "model_card.md").read_text(encoding="utf-8")
    lo, hi = train.X.min(0), train.X.max(0)
    share = outside_range(model_inputs(br_model, sim.grid), lo, hi).any(1).mean()
    assert f"{share:.1%} of {sim.grid.n_sites} map cells" in text
    share_test = outside_range(test.X, lo, hi).any(1).mean()
    assert f"{share_test:.1%} of {test.n_sites} held-out sites" in text
    metrics = pd.read_csv(out / "tables" / "metrics.csv")
    assert len(metrics) == 17
    m = re.search(r"contain the observed richness at \*\*([\d.]+)%\*\*", text)
    assert m and 0.0 < float(m.group(1)) <= 100.0
    imp = pd.read_csv(out / "tables" / "importance.csv")
    top = imp[(imp["species"] == "community") & (imp["metric"] == "auc")].sort_values("importance").iloc[-1]
    assert f"| {top['covariate']} |" in text
    assert "ordered by the phylogeny" not in text  # the order is in the figure, the text names the source
    assert "Monte Carlo standard errors" in text


def test_card_with_a_residual_component(stand_in, sim_split):
    sim, train, test = sim_split
    rng = np.random.default_rng(0)
    L = len(sim.species)
    model = stand_in(sim.truth.beta, np.zeros(L), sim.species, sim.data.covariates)
    lam = rng.normal(size=(L, 2))
    model.residual_loadings_ = lam
    card = build_card(model, test, n_draws=10, n_repeats=1, n_points=4, n_curves=1,
                      max_curve_sites=50, max_draw_sites=20, max_sites=200)  # no training data, no x_min_
    assert card.facts["variance_partition"]["available"]
    vp = card.tables["variance_partition"]
    np.testing.assert_allclose(vp["associations"], (lam ** 2).sum(1))
    assert "variance_partition" in card.figures
    assert card.facts["associations_source"] == "residual correlation (model.residual_loadings_)"
    corr = card.tables["associations"].to_numpy()
    cov = lam @ lam.T + np.eye(L)
    np.testing.assert_allclose(corr, cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov))))
    assert any("ranges are unknown" in n for n in card.notes) and card.facts["extrapolation"] == {}


def test_card_of_a_hotvae_with_residual_factors(residual_hot, sim_split, tmp_path):
    """The card reads HotVAE's real residual correlation and loadings (associations and variance partition)."""
    sim, train, test = sim_split
    paths = write_model_card(residual_hot, test, tmp_path, train=train, n_draws=10, n_repeats=1, n_points=4,
                             n_curves=1, max_curve_sites=40, max_draw_sites=10, max_sites=100)
    text = paths["card"].read_text(encoding="utf-8")
    assert "Source: residual correlation (model.residual_correlation_" in text
    assert "Mean shares over species: environment" in text and "Not available" not in text
    assoc = pd.read_csv(paths["table_associations"], index_col=0)
    np.testing.assert_allclose(assoc.to_numpy(), residual_hot.residual_correlation_.to_numpy(), atol=1e-12)
    vp = pd.read_csv(paths["table_variance_partition"])
    np.testing.assert_allclose(vp["associations"], (residual_hot.residual_loadings_.to_numpy() ** 2).sum(1), rtol=1e-6)
    assert paths["fig_associations"].stat().st_size > 1000 and paths["fig_variance_partition"].stat().st_size > 1000
