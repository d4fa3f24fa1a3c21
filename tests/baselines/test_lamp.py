"""LaMP: the label graph restricts message passing; graphs are built, saved and checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jsdm_hot.baselines import LaMP
from jsdm_hot.baselines.lamp import LaMPModule
from jsdm_hot.data.simulate import simulate_community
from jsdm_hot.errors import InputDataError
from jsdm_hot.graph import LabelGraph


def _module(mask=None, bias=None, n_layers=2):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return LaMPModule(3, 4, d_model=8, n_layers=n_layers, n_heads=2, d_ff=16, dropout=0.0, mask=mask, bias=bias).eval()


@pytest.mark.parametrize("complete", [True, False])
def test_messages_only_flow_along_graph_edges(complete):
    # species 0 and 1 are linked; 2 and 3 are isolated unless the graph is complete
    mask = np.ones((4, 4), bool) if complete else np.eye(4, dtype=bool) | np.array(
        [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], bool)
    m = _module(mask)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = m(x)
        # change species 1's node only (not by a constant, which LayerNorm would remove)
        m.label_emb[1] += torch.linspace(-1.0, 1.0, 8)
        after = m(x)
    changed = (after - before).abs().amax(0) > 1e-6
    assert changed[0] and changed[1]  # 1 itself, and its neighbour 0
    assert bool(changed[2]) == complete and bool(changed[3]) == complete


def test_float_mask_holds_bias_on_edges_and_minus_inf_elsewhere():
    mask = np.eye(4, dtype=bool)
    mask[0, 2] = mask[2, 0] = True
    bias = np.arange(16, dtype=np.float32).reshape(4, 4) / 10
    fm = _module(mask, bias).float_mask().numpy()
    np.testing.assert_array_equal(fm[mask], bias[mask])
    assert np.isneginf(fm[~mask]).all()


@pytest.fixture(scope="module")
def sim():
    data = simulate_community(n_sites=200, n_species=8, n_interactions=1, seed=2).data
    return data.subset(np.arange(0, 200, 2)), data.subset(np.arange(1, 200, 2))


def test_prior_graph_is_built_from_training_data_and_saved(sim, tmp_path):
    train, val = sim
    Y = train.Y.copy()
    Y[:, 1] = Y[:, 1] * (1 - Y[:, 0])  # species 0 and 1 never co-occur → no edge in the prior graph
    kw = dict(graph="prior", d_model=8, n_heads=2, n_layers=1, max_epochs=3, val_fraction=None)
    est = LaMP(**kw).fit(train.X, Y)
    expected = LabelGraph.prior(Y, est.species_)
    assert est.label_graph_.kind == "prior" and not est.label_graph_.mask[0, 1]
    np.testing.assert_array_equal(est.module_.attn_mask.numpy(), expected.mask)
    back = LaMP.load(est.save(tmp_path / "lamp"))
    np.testing.assert_array_equal(back.label_graph_.mask, expected.mask)
    assert back.label_graph_.kind == "prior"
    assert back.module_.attn_mask.dtype == torch.bool
    np.testing.assert_array_equal(back.predict_proba(val.X), est.predict_proba(val.X))


def test_given_label_graph_with_bias_is_used_and_round_trips(sim, tmp_path):
    train, _ = sim
    L = train.n_species
    bias = np.full((L, L), 0.5, dtype=np.float32)
    graph = LabelGraph(np.eye(L, dtype=bool) | np.eye(L, k=1, dtype=bool), train.species, "custom", bias=bias)
    est = LaMP(d_model=8, n_heads=2, n_layers=1, max_epochs=2).fit(train, label_graph=graph)
    assert est.label_graph_ is graph
    np.testing.assert_array_equal(est.module_.attn_bias.numpy(), bias)
    back = LaMP.load(est.save(tmp_path / "lamp"))
    np.testing.assert_array_equal(back.label_graph_.bias, bias)
    np.testing.assert_array_equal(back.label_graph_.mask, graph.mask)


def test_bad_graph_and_parameters_raise(sim):
    train, _ = sim
    wrong = LabelGraph.complete([f"other_{i}" for i in range(train.n_species)])
    with pytest.raises(InputDataError, match="label_graph species differ"):
        LaMP(max_epochs=1).fit(train, label_graph=wrong)
    with pytest.raises(InputDataError, match="n_heads=3 must divide d_model=8"):
        LaMP(d_model=8, n_heads=3, max_epochs=1).fit(train)
    with pytest.raises(InputDataError, match="LaMP: graph must be 'complete' or 'prior', got 'phylo'"):
        LaMP(graph="phylo", max_epochs=1).fit(train)
