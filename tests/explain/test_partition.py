"""Variance partitioning: hand-computed parts from loadings, a covariance and a correlation, with and
without space, on a stand-in model; and a clear 'unavailable' for a model without associations."""

import numpy as np
import pytest
from scipy.special import logit, ndtri

from jsdm_hot.errors import InputDataError
from jsdm_hot.explain import association_component, plot_variance_partition, variance_partition
from jsdm_hot.explain.partition import partition_kernel


def test_kernel_with_loadings_hand_values():
    lam = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 0.0]])
    out = partition_kernel(np.array([2.0, 1.0, 3.0]), loadings=lam)
    np.testing.assert_allclose(out["associations"], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(out["share_environment"], [2 / 3, 1 / 1.5, 1.0])
    np.testing.assert_allclose(out["share_associations"], [1 / 3, 0.5 / 1.5, 0.0])
    np.testing.assert_allclose(out["unshared"], 1.0)
    assert np.isnan(out["space"]).all()


def test_kernel_with_covariance_hand_values():
    # two species with covariance 0.5 and unit variances, one independent with variance 2
    S = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 2.0]])
    out = partition_kernel(np.array([1.0, 1.0, 1.0]), covariance=S, space=np.array([0.5, 0.0, 1.0]))
    # conditional variance of species 1 given 2: 1 - 0.5² = 0.75 → shared 0.25
    np.testing.assert_allclose(out["associations"], [0.25, 0.25, 0.0], atol=1e-12)
    np.testing.assert_allclose(out["unshared"], [0.75, 0.75, 2.0])
    np.testing.assert_allclose(out["share_space"], [0.5 / 1.75, 0.0, 0.5])
    np.testing.assert_allclose(out["share_environment"] + out["share_associations"] + out["share_space"], 1.0)
    with pytest.raises(InputDataError, match="exactly one"):
        partition_kernel(np.ones(3))
    with pytest.raises(InputDataError, match="symmetric"):
        partition_kernel(np.ones(3), covariance=np.triu(S))


class StandInWithResidual:
    """A model exposing a residual component the way a residual-JSDM estimator would."""

    def __init__(self, p, **attrs):
        self._p = np.asarray(p, float)
        self.species_ = tuple(f"sp{j}" for j in range(self._p.shape[1]))
        self.feature_names_in_ = ("x",)
        for k, v in attrs.items():
            setattr(self, k, v)

    def predict_proba(self, X):
        return self._p[: np.asarray(X).shape[0]]


P = np.array([[0.2, 0.5, 0.9], [0.4, 0.5, 0.7], [0.6, 0.5, 0.5], [0.8, 0.5, 0.3]])
X = np.zeros((4, 1))


def test_variance_partition_from_loadings_logit():
    lam = np.array([[1.0], [0.0], [2.0]])
    vp = variance_partition(StandInWithResidual(P, residual_loadings_=lam), X, labels={"sp0": "First"})
    assert vp.attrs["available"] and vp.attrs["source"] == "residual_loadings_" and vp.attrs["link"] == "logit"
    scale = np.sqrt(1.0 + np.pi / 8 * (lam ** 2).sum(1))  # the logistic-normal scale (HotVAE's c_l)
    env = (logit(P) * scale).var(0)
    np.testing.assert_allclose(vp["environment"], env)
    np.testing.assert_allclose(vp["associations"], [1.0, 0.0, 4.0])
    np.testing.assert_allclose(vp["unshared"], np.pi ** 2 / 3)  # variance of the standard logistic
    assert vp["label"].tolist() == ["First", "sp1", "sp2"]
    assert vp.loc[1, "share_environment"] == 0.0 or np.isnan(vp.loc[1, "share_environment"])  # constant p, no assoc.


def test_variance_partition_from_correlation_probit_with_space():
    R = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, 0.0], [0.0, 0.0, 1.0]])
    m = StandInWithResidual(P, residual_correlation_=R, spatial_variance_=np.array([0.1, 0.2, 0.3]))
    vp = variance_partition(m, X, link="probit")
    assert vp.attrs["source"] == "residual_correlation_"
    np.testing.assert_allclose(vp["environment"], ndtri(P).var(0))
    np.testing.assert_allclose(vp["associations"], [0.36, 0.36, 0.0], atol=1e-12)
    np.testing.assert_allclose(vp["space"], [0.1, 0.2, 0.3])
    fig = plot_variance_partition(vp)
    assert fig.axes[0].get_xlabel() == "share of explained latent variance"


def test_unavailable_is_said_clearly():
    m = StandInWithResidual(P)
    assert association_component(m) is None
    vp = variance_partition(m, X)
    assert vp.empty and vp.attrs["available"] is False
    assert "no residual association component" in vp.attrs["reason"]
    with pytest.raises(InputDataError, match="no residual association component"):
        plot_variance_partition(vp)
    with pytest.raises(InputDataError, match="link"):
        variance_partition(m, X, link="cloglog")


def test_a_raising_property_counts_as_absent():
    class Unfitted(StandInWithResidual):
        @property
        def residual_covariance_(self):
            raise RuntimeError("not fitted")

    assert association_component(Unfitted(P)) is None


def test_variance_partition_of_a_fitted_hotvae(residual_hot, sim_split):
    """HotVAE's real loadings: associations |λ_l|², environment var(c_l · logit p̂) with HotVAE's own c_l."""
    from jsdm_hot.model.residual import logit_scale

    test = sim_split[2]
    vp = variance_partition(residual_hot, test)
    lam = residual_hot.residual_loadings_.to_numpy()
    assert vp.attrs["available"] and vp.attrs["source"] == "residual_loadings_" and lam.shape == (12, 2)
    np.testing.assert_allclose(vp["associations"], (lam ** 2).sum(1), rtol=1e-10)
    import torch

    c = logit_scale(torch.tensor(lam)).numpy()
    p = np.clip(residual_hot.predict_proba(test).astype(np.float64), 1e-6, 1 - 1e-6)
    np.testing.assert_allclose(vp["environment"], (logit(p) * c).var(0), rtol=1e-5)
    assert vp["species"].tolist() == list(residual_hot.species_)
    # the paper's model (residual_factors=0) says why there is nothing to split
    import copy

    paper = copy.copy(residual_hot)
    paper.model_config_ = type(residual_hot.model_config_)(**{**residual_hot.model_config_.to_dict(), "residual_factors": 0})
    vp0 = variance_partition(paper, test)
    assert vp0.empty and "fitted with residual_factors=0" in vp0.attrs["reason"]
