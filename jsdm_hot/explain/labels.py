"""Display names for figures and tables: covariate labels with units, species labels.

A planner reads "Deciduous forest, share of cell (NLCD 41)", not ``X41``, and
"Common Grackle", not ``Quiscalus quiscula``. Figures take two optional
mappings: ``labels`` (species name → display name) and ``covariate_labels``
(covariate → axis label with units). This module builds them:

* :func:`covariate_labels` from naming schemes the package knows:
  ``"effort"`` (the names :func:`jsdm_hot.data.ebird.effort_covariates`
  produces), ``"bioclim"`` (WorldClim ``bio1 … bio19``, version 1.4 integer
  units: temperatures in °C × 10, precipitation in mm, as in the roccupy data)
  and ``"nlcd"`` (``X<code>``: share of the cell in that NLCD land-cover
  class, as in the roccupy grid). Schemes are opt-in except ``"effort"``,
  because ``X41`` means NLCD only in data built that way.
* :func:`species_labels` from a table with a species column and a label
  column (e.g. ``species.csv`` of the roccupy data: ``scientific_name``,
  ``common_name``).

Covariates no scheme knows keep their name (units unknown to the package).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

from jsdm_hot.errors import InputDataError

__all__ = ["EFFORT_LABELS", "BIOCLIM_LABELS", "NLCD_CLASSES", "covariate_labels", "species_labels", "display"]

#: Axis labels of the eBird effort covariates (names of ``effort_covariates``).
EFFORT_LABELS = {
    "duration_h": "checklist duration (h)",
    "log_duration": "checklist duration, ln(minutes)",
    "distance_km": "distance travelled (km)",
    "n_observers": "number of observers",
    "protocol_traveling": "traveling protocol (0/1; stationary = 0)",
    "protocol_area": "area protocol (0/1; stationary = 0)",
    "protocol_other": "other protocol (0/1; stationary = 0)",
    "time_sin": "start time, sin(2π·hour/24)",
    "time_cos": "start time, cos(2π·hour/24)",
    "time_h": "start time (hours since midnight)",
    "doy_sin": "day of year, sin(2π·day/365.25)",
    "doy_cos": "day of year, cos(2π·day/365.25)",
    "year": "year of the checklist",
    "duration_minutes": "checklist duration (min)",
    "effort_distance_km": "distance travelled (km)",
    "number_observers": "number of observers",
}

_T, _P = "°C×10", "mm"
#: WorldClim bioclimatic variables with version 1.4 integer units.
BIOCLIM_LABELS = {
    "bio1": f"annual mean temperature ({_T})",
    "bio2": f"mean diurnal temperature range ({_T})",
    "bio3": "isothermality (%)",
    "bio4": "temperature seasonality (sd of monthly means, °C×1000)",
    "bio5": f"max temperature of warmest month ({_T})",
    "bio6": f"min temperature of coldest month ({_T})",
    "bio7": f"annual temperature range ({_T})",
    "bio8": f"mean temperature of wettest quarter ({_T})",
    "bio9": f"mean temperature of driest quarter ({_T})",
    "bio10": f"mean temperature of warmest quarter ({_T})",
    "bio11": f"mean temperature of coldest quarter ({_T})",
    "bio12": f"annual precipitation ({_P})",
    "bio13": f"precipitation of wettest month ({_P})",
    "bio14": f"precipitation of driest month ({_P})",
    "bio15": "precipitation seasonality (CV, %)",
    "bio16": f"precipitation of wettest quarter ({_P})",
    "bio17": f"precipitation of driest quarter ({_P})",
    "bio18": f"precipitation of warmest quarter ({_P})",
    "bio19": f"precipitation of coldest quarter ({_P})",
}

#: NLCD land-cover classes by code (0: outside the NLCD extent / no data).
NLCD_CLASSES = {
    0: "no land-cover data", 11: "open water", 12: "perennial ice/snow", 21: "developed, open space",
    22: "developed, low intensity", 23: "developed, medium intensity", 24: "developed, high intensity",
    31: "barren land", 41: "deciduous forest", 42: "evergreen forest", 43: "mixed forest", 52: "shrub/scrub",
    71: "grassland/herbaceous", 81: "pasture/hay", 82: "cultivated crops", 90: "woody wetlands",
    95: "emergent herbaceous wetlands",
}

_SCHEMES = ("effort", "bioclim", "nlcd")


def _nlcd(name: str) -> str | None:
    m = re.fullmatch(r"X(\d+)", name)
    if m and int(m.group(1)) in NLCD_CLASSES:
        cls = NLCD_CLASSES[int(m.group(1))]
        return f"{cls[0].upper()}{cls[1:]}, share of cell (NLCD {m.group(1)})"
    return None


def covariate_labels(
    names: Sequence[str],
    schemes: Sequence[str] = ("effort",),
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Axis label (with units) of each covariate.

    Parameters
    ----------
    names : sequence of str
        Covariate names, e.g. ``model.feature_names_in_``.
    schemes : sequence of {"effort", "bioclim", "nlcd"}, default=("effort",)
        Naming schemes to recognise (see the module docstring).
    overrides : mapping, optional
        Explicit labels; they win over the schemes.

    Returns
    -------
    dict of str to str
        Every name → its label (the name itself when nothing is known).
    """
    bad = [s for s in schemes if s not in _SCHEMES]
    if bad:
        raise InputDataError(f"unknown covariate label scheme(s) {bad}; choose from {list(_SCHEMES)}")
    out = {}
    for n in names:
        n = str(n)
        label = None
        if "effort" in schemes:
            label = EFFORT_LABELS.get(n)
        if label is None and "bioclim" in schemes:
            label = BIOCLIM_LABELS.get(n)
        if label is None and "nlcd" in schemes:
            label = _nlcd(n)
        out[n] = label if label is not None else n
    out.update({str(k): str(v) for k, v in (overrides or {}).items()})
    return out


def species_labels(table, species_col: str | None = None, label_col: str | None = None) -> dict[str, str]:
    """Species name → display label from a table (CSV path or DataFrame).

    Parameters
    ----------
    table : path-like or pandas.DataFrame
    species_col, label_col : str, optional
        Default: ``scientific_name`` and ``common_name`` when present, else the
        first two columns.

    Returns
    -------
    dict of str to str
    """
    import pandas as pd

    if isinstance(table, (str, Path)):
        if not Path(table).is_file():
            raise InputDataError(f"label table {table} does not exist")
        df = pd.read_csv(table, dtype=str)
        where = str(table)
    else:
        df, where = table, "the label table"
    cols = list(df.columns)
    if species_col is None or label_col is None:
        if {"scientific_name", "common_name"} <= set(cols):
            species_col, label_col = species_col or "scientific_name", label_col or "common_name"
        elif len(cols) >= 2:
            species_col, label_col = species_col or cols[0], label_col or cols[1]
    missing = [c for c in (species_col, label_col) if c not in cols]
    if missing or species_col is None:
        raise InputDataError(f"{where} needs a species column and a label column; missing {missing}, has {cols}")
    return {str(s): str(lab) for s, lab in zip(df[species_col], df[label_col]) if pd.notna(s) and pd.notna(lab)}


def display(name: str, labels: Mapping[str, str] | None) -> str:
    """``labels[name]`` if given, else ``name``."""
    return str((labels or {}).get(name, name))
