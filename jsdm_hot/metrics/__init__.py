"""Evaluation metrics: multi-label classification, Norberg et al. (2019), β-diversity.

* :mod:`jsdm_hot.metrics.mlc` — ebF1, miF1, maF1, Hamming accuracy, median AUC.
* :mod:`jsdm_hot.metrics.ecology` — the 12 occurrence / richness / community measures.
* :mod:`jsdm_hot.metrics.beta` — Baselga (2010) βSOR, βSIM, βNES, vectorised.
* :mod:`jsdm_hot.metrics.posterior_summary` — per-site richness summaries of draws.
* :mod:`jsdm_hot.metrics.extrapolation` — covariates outside the training range, MESS (Elith et al. 2010).
"""

from jsdm_hot.metrics.beta import beta_all, beta_components, beta_nes, beta_sim, beta_sor
from jsdm_hot.metrics.ecology import (
    BETTER,
    community_metrics,
    norberg_metrics,
    occurrence_calibration,
    occurrence_metrics,
    richness_metrics,
    richness_metrics_from_counts,
    sample_site_pairs,
)
from jsdm_hot.metrics.extrapolation import extrapolation_share, mess, outside_range
from jsdm_hot.metrics.mlc import (
    MLC_METRICS,
    binarize,
    eb_f1,
    hamming_accuracy,
    macro_f1,
    median_auc,
    micro_f1,
    mlc_report,
    per_species_auc,
)
from jsdm_hot.metrics.posterior_summary import (
    RichnessSummary,
    central_interval,
    interval_coverage,
    pit_coverage,
    richness_from_draws,
    richness_summary,
    richness_summary_from_counts,
    summarise_richness_chunks,
)

__all__ = [
    "BETTER",
    "MLC_METRICS",
    "RichnessSummary",
    "beta_all",
    "beta_components",
    "beta_nes",
    "beta_sim",
    "beta_sor",
    "binarize",
    "central_interval",
    "community_metrics",
    "eb_f1",
    "extrapolation_share",
    "hamming_accuracy",
    "interval_coverage",
    "macro_f1",
    "median_auc",
    "mess",
    "micro_f1",
    "mlc_report",
    "norberg_metrics",
    "occurrence_calibration",
    "occurrence_metrics",
    "outside_range",
    "per_species_auc",
    "pit_coverage",
    "richness_from_draws",
    "richness_metrics",
    "richness_metrics_from_counts",
    "richness_summary",
    "richness_summary_from_counts",
    "sample_site_pairs",
    "summarise_richness_chunks",
]
