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
cluster-ordered heatmap; a fitted model's residual correlation as files), :mod:`~jsdm_hot.explain.plots` (figures),
:mod:`~jsdm_hot.explain.labels` (display names with units),
:mod:`~jsdm_hot.explain.card` (the model card). Functions take any fitted
jsdm-hot estimator (HOT-VAE or a baseline) and return tidy pandas tables;
figures are matplotlib :class:`~matplotlib.figure.Figure` objects.

Cost
----
Measured with ``benchmarks/explain_cost.py --threads 2`` (2 torch threads on a
2-core machine shared with other jobs, load average about 12, so wall times are
inflated; CPU seconds are the steadier number and 2 dedicated cores need about
half of them in wall time) for 32 species × 20 covariates × 1,000 held-out
sites with the defaults: permutation importance, 5 repeats of the 20
covariates on all 1,000 sites (101,000 rows of ``predict_proba``); response
curves of all 20 covariates without bands (20 values × 300 sites: 120,000
rows); bands for the 5 covariates the model card draws (20 joint draws × 100
sites × 20 values: 200,000 sampled rows + 30,000 predicted)::

    model                                 importance      curves (20)     bands (5)
    BinaryRelevanceLogistic               2.8 s / 0.8     3.8 s / 1.4     1.3 s / 0.4
    HotVAE (d_model 200, 2 layers,        553 s / 229     619 s / 255     895 s / 402
            the CLI default)
                                          (wall s / CPU s)

So importance + curves for that problem cost about 15 CPU-minutes with HOT-VAE
at the default size (about 450 rows per CPU-second; 8 to 15 minutes on 2
dedicated cores) and seconds with the logistic baseline. Time is linear in
rows, so ``max_sites``, ``n_repeats``, ``n_points``, ``n_draws`` and
``max_draw_sites`` bound it; the functions refuse more than 500 draws and 50
repeats, and ``predict_proba`` is called on stacked copies of at most 65,536
rows.
"""

from jsdm_hot.explain.associations import (
    DIVERGING_CMAP,
    association_order,
    draw_associations,
    fitted_tree,
    plot_associations,
    strongest_pairs,
    write_residual_associations,
)
from jsdm_hot.explain.card import ModelCard, build_card, write_model_card
from jsdm_hot.explain.importance import default_groups, permutation_importance
from jsdm_hot.explain.labels import covariate_labels, species_labels
from jsdm_hot.explain.partition import association_component, variance_partition
from jsdm_hot.explain.plots import plot_importance, plot_importance_matrix, plot_response, plot_surface, plot_variance_partition
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
    "fitted_tree",
    "write_residual_associations",
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
