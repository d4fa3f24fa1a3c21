"""Several models on the same sites, draws seed and site pairs: :func:`compare`."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError
from jsdm_hot.evaluation.scoring import evaluate

__all__ = ["compare"]


def compare(
    models: Mapping[str, Any],
    data: CommunityData,
    n_draws: int = 100,
    seed: int = 0,
    *,
    progress: bool = False,
    n_pairs: int = 300,
    **kwargs: Any,
) -> pd.DataFrame:
    """Evaluate several models on the same sites, draws seed and site pairs.

    Parameters
    ----------
    models : mapping of str to fitted estimator
        E.g. ``{"HOT-VAE": hot, "BR-logistic": br}``.
    data : CommunityData
    n_draws, seed, progress, n_pairs, **kwargs
        Passed to :func:`evaluate` for every model.

    Returns
    -------
    pandas.DataFrame
        Index ``(group, metric)`` (17 rows); one column per model, then
        ``better`` and ``best`` (the winning model's name; names joined by
        ``" = "`` on a tie; empty when every value is NaN). ``attrs["tables"]``
        maps each name to its :func:`evaluate` table.
    """
    if not models:
        raise InputDataError("compare needs at least one model")
    tables = {name: evaluate(m, data, n_draws=n_draws, seed=seed, progress=progress, n_pairs=n_pairs, **kwargs)
              for name, m in models.items()}
    first = next(iter(tables.values()))
    wide = first.set_index(["group", "metric"])[["better"]].copy()
    for name, t in tables.items():
        wide[name] = t.set_index(["group", "metric"])["value"]
    names = list(tables)
    best = []
    for _, row in wide.iterrows():
        vals = row[names].astype(float)
        vals = vals[np.isfinite(vals.to_numpy())]
        if vals.empty:
            best.append("")
            continue
        target = vals.max() if row["better"] == "higher" else vals.min()
        best.append(" = ".join(n for n in vals.index if vals[n] == target))
    wide = wide[names + ["better"]]
    wide["best"] = best
    wide.attrs = {"tables": tables}
    return wide
