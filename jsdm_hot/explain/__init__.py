"""What the model learned, in the ecologist's terms.

Python::

    from jsdm_hot.explain import (response_curves, richness_surface, permutation_importance,
                                  variance_partition, draw_associations, strongest_pairs,
                                  plot_associations, write_model_card)

    curves = response_curves(model, test, ["bio1", "X41"], species=["Mallard"], labels=common)
    imp = permutation_importance(model, test, n_repeats=5, rng=0)        # effort apart
    paths = write_model_card(model, test, "explain/", train=train, labels=common)

Command line: ``jsdm-hot explain MODEL_DIR DATA.csv --out explain/``.

Modules: :mod:`~jsdm_hot.explain.response` (partial dependence with joint-draw
bands, richness surfaces), :mod:`~jsdm_hot.explain.importance` (permutation
importance per species and community), :mod:`~jsdm_hot.explain.partition`
(Hmsc-style variance partitioning when the model has a residual association
component), :mod:`~jsdm_hot.explain.associations` (strongest pairs, tree- or
cluster-ordered heatmap), :mod:`~jsdm_hot.explain.plots` (figures),
:mod:`~jsdm_hot.explain.labels` (display names with units),
:mod:`~jsdm_hot.explain.card` (the model card). Functions take any fitted
jsdm-hot estimator (HOT-VAE or a baseline) and return tidy pandas tables;
figures are matplotlib :class:`~matplotlib.figure.Figure` objects.

Cost
----
Measured with ``benchmarks/explain_cost.py`` (2 CPU threads, a machine shared
with other jobs) for 32 species × 20 covariates × 1,000 held-out sites,
defaults (permutation importance: 5 repeats of 20 groups on 1,000 sites;
response curves of all 20 covariates: 20 grid values × 300 sites averaged,
bands from 20 joint draws × 100 sites):

=============================================  ===========  ================
model                                          importance   response curves
=============================================  ===========  ================
BinaryRelevanceLogistic                        see below    see below
HotVAE (d_model 200, 2 layers: CLI default)    see below    see below
=============================================  ===========  ================

Time is linear in every factor above (rows of ``predict_proba`` and of
``sample``), so ``max_sites``, ``n_repeats``, ``n_points``, ``n_draws`` and
``max_draw_sites`` bound it; the functions refuse more than 500 draws and 50
repeats.
"""

from jsdm_hot.explain.associations import (DIVERGING_CMAP, association_order, draw_associations, plot_associations,
                                           strongest_pairs)
from jsdm_hot.explain.card import ModelCard, build_card, write_model_card
from jsdm_hot.explain.importance import default_groups, permutation_importance
from jsdm_hot.explain.labels import covariate_labels, species_labels
from jsdm_hot.explain.partition import association_component, variance_partition
from jsdm_hot.explain.plots import (plot_importance, plot_importance_matrix, plot_response, plot_surface,
                                    plot_variance_partition)
from jsdm_hot.explain.response import grid_values, response_curves, richness_surface

__all__ = [
    "response_curves",
    "richness_surface",
    "grid_values",
    "permutation_importance",
    "default_groups",
    "variance_partition",
    "association_component",
    "draw_associations",
    "strongest_pairs",
    "association_order",
    "plot_associations",
    "plot_response",
    "plot_surface",
    "plot_importance",
    "plot_importance_matrix",
    "plot_variance_partition",
    "covariate_labels",
    "species_labels",
    "build_card",
    "write_model_card",
    "ModelCard",
    "DIVERGING_CMAP",
]
