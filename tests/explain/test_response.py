"""Response curves: kernels against hand values, partial dependence against a model with a known formula,
and the sign of the true coefficients on simulated communities (logistic baseline and HOT-VAE)."""

import numpy as np
import pytest
from scipy.special import expit

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError
from jsdm_hot.explain import grid_values, plot_response, plot_surface, response_curves, richness_surface
from jsdm_hot.explain.response import bray_curtis, community_weighted_mean

from .conftest import interacting, simulated_split, strongly_driven


def test_grid_values():
    x = np.arange(101, dtype=float)
    g = grid_values(x, 5)
    np.testing.assert_allclose(g, np.linspace(2.5, 97.5, 5))
    np.testing.assert_array_equal(grid_values(np.array([0.0, 1.0, 1.0, 0.0]), 20), [0.0, 1.0])
    np.testing.assert_allclose(grid_values(x, 3, (0.0, 1.0)), [0, 50, 100])
    with pytest.raises(InputDataError):
        grid_values(x, 5, (0.9, 0.1))
    with pytest.raises(InputDataError):
        grid_values(np.array([]), 5)


def test_bray_curtis_and_cwm_hand_values():
    a, b = np.array([0.5, 0.2, 0.0]), np.array([0.1, 0.2, 0.3])
    assert bray_curtis(a, b) == pytest.approx((0.4 + 0.0 + 0.3) / (0.6 + 0.4 + 0.3))
    assert bray_curtis(a, a) == 0.0
    assert bray_curtis(np.zeros(3), np.zeros(3)) == 0.0
    T = np.array([[1.0, 10.0], [3.0, 0.0], [5.0, 2.0]])
    np.testing.assert_allclose(community_weighted_mean(b, T), [(0.1 + 0.6 + 1.5) / 0.6, (1.0 + 0.6) / 0.6])
    assert np.isnan(community_weighted_mean(np.zeros(3), T)).all()


@pytest.fixture
def linear(stand_in):
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.uniform(0, 10, 300), rng.normal(size=300)])
    W = np.array([[0.4, -0.3, 0.0], [1.0, 0.0, 0.5]])
    model = stand_in(W, [-2.0, 1.0, 0.0], ["a", "b", "c"], ["temp_c", "z"])
    Y = (rng.random((300, 3)) < model.predict_proba(X)).astype(np.uint8)
    return model, CommunityData.from_arrays(X, Y, species=["a", "b", "c"], covariates=["temp_c", "z"])


def test_partial_dependence_equals_the_formula(linear):
    model, data = linear
    tab = response_curves(model, data, "temp_c", n_points=7, n_draws=30, max_sites=None, rng=0,
                          labels={"b": "Bee bird"}, max_rows=500)  # several predict calls
    X = data.X
    values = grid_values(X[:, 0], 7)
    occ = tab[tab["quantity"] == "occurrence"]
    for l, sp in enumerate(["a", "b", "c"]):
        want = [expit(v * model.W[0, l] + X[:, 1] * model.W[1, l] + model.b[l]).mean() for v in values]
        np.testing.assert_allclose(occ.loc[occ["name"] == sp, "estimate"], want, rtol=1e-10)
        np.testing.assert_allclose(occ.loc[occ["name"] == sp, "value"], values)
    rich = tab[tab["quantity"] == "richness"]
    np.testing.assert_allclose(rich["estimate"], occ.groupby("value", sort=True)["estimate"].sum().to_numpy())
    turn = tab[tab["quantity"] == "turnover"]
    ref = tab.attrs["reference"]["temp_c"]
    assert turn.loc[turn["value"] == ref, "estimate"].iloc[0] == 0.0
    assert (turn["estimate"] >= 0).all() and turn["estimate"].iloc[0] > 0.1
    assert occ.loc[occ["name"] == "b", "label"].iloc[0] == "Bee bird"
    # bands from the draws bracket their mean; the single-site richness interval is wider than the site-mean band
    assert (tab["lower"] <= tab["draws_mean"] + 1e-12).all() and (tab["draws_mean"] <= tab["upper"] + 1e-12).all()
    assert (rich["site_lower"] <= rich["lower"]).all() and (rich["site_upper"] >= rich["upper"]).all()
    assert tab.loc[tab["quantity"] == "occurrence", "site_lower"].isna().all()
    assert tab.attrs["n_draws"] == 30 and tab.attrs["n_draw_sites"] == 100 and tab.attrs["level"] == 0.9


def test_species_selection_traits_and_no_draws(linear):
    import pandas as pd

    model, data = linear
    traits = pd.DataFrame({"mass_g": [10.0, 30.0, 50.0]}, index=["a", "b", "c"])
    tab = response_curves(model, data, ["z"], species=["Bee bird", "c"], labels={"b": "Bee bird"}, n_draws=0,
                          traits=traits, n_points=4)
    assert set(tab.loc[tab["quantity"] == "occurrence", "name"]) == {"b", "c"}
    assert tab[["draws_mean", "lower", "upper"]].isna().all().all()
    cwm = tab[tab["quantity"] == "cwm"]
    full = response_curves(model, data, ["z"], n_draws=0, n_points=4)
    p = full[full["quantity"] == "occurrence"].pivot(index="value", columns="name", values="estimate")
    np.testing.assert_allclose(cwm["estimate"], (p.to_numpy() @ traits["mass_g"].to_numpy()) / p.sum(axis=1).to_numpy())
    with pytest.raises(InputDataError, match="unknown species"):
        response_curves(model, data, "z", species=["Bumblebee bird"], n_draws=0)
    with pytest.raises(InputDataError, match="unknown covariate"):
        response_curves(model, data, "precip", n_draws=0)
    with pytest.raises(InputDataError, match="n_draws"):
        response_curves(model, data, "z", n_draws=10_000)
    with pytest.raises(InputDataError, match="lacks"):
        response_curves(model, data, "z", traits=traits.iloc[:2], n_draws=0)
    from jsdm_hot import HotVAE
    from jsdm_hot.errors import NotFittedError

    with pytest.raises(NotFittedError, match="fit"):
        response_curves(HotVAE(), data, "z")


def test_richness_surface(linear):
    model, data = linear
    s = richness_surface(model, data, "temp_c", "z", n_points=4, max_sites=None)
    assert len(s) == 16 and s.attrs["x"] == "temp_c" and len(s.attrs["observed"]) == 300
    assert s["observed_share"].sum() == pytest.approx(1.0)
    X = data.X
    x0, y0 = s["x_value"].iloc[5], s["y_value"].iloc[5]
    want = sum(expit(x0 * model.W[0, l] + y0 * model.W[1, l] + model.b[l]) for l in range(3))
    assert s["richness"].iloc[5] == pytest.approx(want)
    assert np.allclose(X, data.X)  # inputs untouched
    with pytest.raises(InputDataError, match="two different"):
        richness_surface(model, data, "z", "z")


def test_plots_have_units_and_bands(linear):
    model, data = linear
    tab = response_curves(model, data, ["temp_c"], n_draws=10, n_points=5)
    fig = plot_response(tab, "temp_c", covariate_labels={"temp_c": "mean temperature (°C)"})
    axes = fig.axes
    assert len(axes) == 3 and all(ax.get_xlabel() == "mean temperature (°C)" for ax in axes)
    assert axes[1].get_ylabel().startswith("species richness")
    assert len(axes[0].collections) >= 3  # one band per species
    with pytest.raises(InputDataError, match="no response curves"):
        plot_response(tab, "z")
    surf = plot_surface(richness_surface(model, data, "temp_c", "z", n_points=4), covariate_labels={"z": "z (sd)"})
    assert surf.axes[0].get_ylabel() == "z (sd)"


def _pd_signs(model, sim, test, pairs):
    covs = sorted({sim.data.covariates[k] for _, k in pairs})
    tab = response_curves(model, test, covs, n_draws=0, max_sites=300, rng=0)
    occ = tab[tab["quantity"] == "occurrence"]
    wrong = []
    for l, k in pairs:
        c = occ[(occ["name"] == sim.species[l]) & (occ["covariate"] == sim.data.covariates[k])]["estimate"].to_numpy()
        if np.sign(c[-1] - c[0]) != np.sign(sim.truth.beta[k, l]):
            wrong.append((sim.species[l], sim.data.covariates[k], sim.truth.beta[k, l], c[0], c[-1]))
    return wrong


@pytest.mark.parametrize("name", ["seed3", "seed9"])
def test_curve_signs_match_true_coefficients_logistic(name):
    from jsdm_hot.baselines import BinaryRelevanceLogistic

    sim, train, test = simulated_split(name)
    inter = interacting(sim, targets_only=True)
    pairs = [(l, k) for l, sp in enumerate(sim.species) if sp not in inter for k in range(4)
             if abs(sim.truth.beta[k, l]) >= 1.0]
    assert len(pairs) >= 6
    assert _pd_signs(BinaryRelevanceLogistic().fit(train), sim, test, pairs) == []


def test_curve_signs_hotvae(hot_model, sim_split):
    sim, _, test = sim_split
    inter = interacting(sim, targets_only=True)
    pairs = [(l, k) for l, sp in enumerate(sim.species) if sp not in inter for k in range(4)
             if abs(sim.truth.beta[k, l]) >= 1.5] + strongly_driven(sim)
    assert len(set(pairs)) >= 3
    assert _pd_signs(hot_model, sim, test, sorted(set(pairs))) == []
    # the joint-draw band of a HOT-VAE curve is non-degenerate and brackets the draws' mean
    tab = response_curves(hot_model, test, "forest", n_draws=8, n_points=4, max_sites=60, max_draw_sites=30)
    rich = tab[tab["quantity"] == "richness"]
    assert (rich["upper"] > rich["lower"]).all() and ((rich["lower"] <= rich["draws_mean"]) &
                                                      (rich["draws_mean"] <= rich["upper"])).all()
