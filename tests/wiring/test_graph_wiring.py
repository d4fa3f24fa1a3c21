"""The label graph reaches the decoder: through HotVAEModule's public calls and through a fitted HotVAE.

Decoder tests pass a mask straight to ``HotDecoder``; these check the wiring above it
(the module's buffers → ``decode`` → the forward, ``predict_logits`` and the label
branch; the estimator's graph → the module it trains). Each asserts that blocking an
edge or changing a bias changes the output, and, where the architecture says so,
that nothing else changes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jsdm_hot import LabelGraph

from .builders import tiny_hotvae, tiny_module

P, L = 5, 4


@pytest.fixture(scope="module")
def xy():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, P, generator=g)
    y = (torch.rand(6, L, generator=g) > 0.5).float()
    return x, y


def _outputs(module, x, y) -> dict[str, torch.Tensor]:
    """Logits of the three public paths that decode: (6, L) each."""
    with torch.no_grad():
        return {
            "predict_logits": module.predict_logits(x),
            "forward (feature branch)": module(x).logits_x,
            "forward (label branch)": module(x, y).logits_y,
        }


def _same_parameters(a, b) -> None:
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and torch.equal(pa, pb), f"modules differ in {na}: the comparison would prove nothing"


def _assert_only_species_changed(changed, ref, species: int) -> None:
    for path in ref:
        diff = float((changed[path][:, species] - ref[path][:, species]).abs().max())
        assert diff > 1e-4, f"{path}: species {species}'s logits ignore the label graph (max change {diff:.1e})"
        others = [j for j in range(L) if j != species]
        torch.testing.assert_close(changed[path][:, others], ref[path][:, others], msg=f"{path}: other species changed")


def _edge_0_1(part: str) -> dict:
    """A label graph differing from the plain one on the edge 0 → 1 only: that edge blocked, or biased."""
    if part == "mask":
        mask = np.ones((L, L), dtype=bool)
        mask[0, 1] = False
        return {"mask": mask}
    bias = np.zeros((L, L), dtype=np.float32)
    bias[0, 1] = 3.0
    return {"bias": bias}


@pytest.mark.parametrize("part", ["mask", "bias"])
def test_graph_edge_changes_the_receiving_species_only(xy, part):
    """One layer: species 0 attends to species 1 differently (or not at all), so only species 0's logits move."""
    x, y = xy
    plain, changed = tiny_module(P, L, n_layers=1), tiny_module(P, L, n_layers=1, **_edge_0_1(part))
    _same_parameters(plain, changed)
    _assert_only_species_changed(_outputs(changed, x, y), _outputs(plain, x, y), species=0)


def test_blocking_an_edge_changes_a_deeper_decoder(xy):
    x, y = xy
    mask = np.ones((L, L), dtype=bool)
    mask[2, 3] = mask[3, 2] = False
    ref, out = _outputs(tiny_module(P, L, n_layers=2), x, y), _outputs(tiny_module(P, L, mask=mask, n_layers=2), x, y)
    for path in ref:
        diff = float((out[path] - ref[path]).abs().max())
        assert diff > 1e-4, f"{path} ignores the label graph (max change {diff:.1e})"


def test_bias_on_a_blocked_edge_does_nothing(xy):
    x, y = xy
    a = _outputs(tiny_module(P, L, **_edge_0_1("mask")), x, y)
    b = _outputs(tiny_module(P, L, **_edge_0_1("mask"), **_edge_0_1("bias")), x, y)
    for path in a:
        torch.testing.assert_close(b[path], a[path], msg=path)


# ---------------------------------------------------------------- fitted estimator
@pytest.fixture(scope="module")
def community(small_sim):
    """small_sim with species 0 and 1 made never to co-occur, so the prior graph lacks that edge."""
    from jsdm_hot.data.community import CommunityData

    d = small_sim.data
    Y = d.Y.copy()
    Y[Y[:, 0] == 1, 1] = 0
    return CommunityData.from_arrays(d.X, Y, species=d.species, covariates=d.covariates)


@pytest.fixture(scope="module")
def complete_proba(community):
    """Predictions of the reference fit, complete graph: (n_sites, n_species)."""
    model = tiny_hotvae(random_state=0).fit(community)
    assert model.label_graph_.mask.all()
    return model.predict_proba(community)


def _graph_fit(community, graph=None, label_graph=None):
    model = tiny_hotvae(random_state=0, **({} if graph is None else {"graph": graph}))
    return model.fit(community, label_graph=label_graph)


def test_fitted_prior_graph_changes_predictions(community, complete_proba):
    model = _graph_fit(community, graph="prior")
    assert not model.label_graph_.mask[0, 1] and not model.label_graph_.mask[1, 0]
    diff = np.abs(model.predict_proba(community) - complete_proba).max()
    assert diff > 1e-3, f"a HotVAE fitted with the prior graph predicts as with the complete graph (max diff {diff:.1e})"


def test_fitted_phylogenetic_graph_changes_predictions(community, complete_proba, small_sim):
    from jsdm_hot.phylo import build_label_graph

    graph, _ = build_label_graph("phylo", None, community.species, tree=small_sim.newick)
    assert not graph.mask.all()
    model = _graph_fit(community, label_graph=graph)
    np.testing.assert_array_equal(model.label_graph_.mask, graph.mask)
    diff = np.abs(model.predict_proba(community) - complete_proba).max()
    assert diff > 1e-3, f"a HotVAE fitted with a phylogenetic graph predicts as with the complete graph (max diff {diff:.1e})"


def test_fitted_graph_bias_changes_predictions(community, complete_proba):
    n = len(community.species)
    bias = np.random.default_rng(0).normal(0.0, 2.0, (n, n)).astype(np.float32)
    graph = LabelGraph(np.ones((n, n), dtype=bool), community.species, "complete+bias", bias=bias)
    model = _graph_fit(community, label_graph=graph)
    diff = np.abs(model.predict_proba(community) - complete_proba).max()
    assert diff > 1e-3, f"a HotVAE fitted with a biased graph predicts as without the bias (max diff {diff:.1e})"
