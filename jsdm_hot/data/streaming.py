"""Training data that does not fit in memory: a wide parquet dataset read row group by row group.

The eBird ingest (``jsdm-hot prepare ... --out checklists.parquet``) and any other
wide site × (covariates + species) table written as parquet — one file or a
directory of files — can be trained on without loading it whole:

* :class:`ParquetCommunity` opens the dataset with ``pyarrow.dataset`` and cuts it
  into *units* (parquet row groups). Column roles are resolved once, on the first
  row group, with the same rule as :meth:`CommunityData.from_frame`; every unit
  read later is validated by that same code (errors name the file and row group).
* :meth:`ParquetCommunity.scan` makes one streaming pass for the training
  statistics: covariate means and standard deviations (float64 sums), species
  prevalences and the co-occurrence counts ``Yᵀ Y`` (for the ``prior`` graph).

The training side (shuffled mini-batches from these units) is
:class:`jsdm_hot.training.batches.ParquetBatches`: the data layer knows nothing of
training.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from jsdm_hot.data.columns import ColumnSpec
from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError

__all__ = ["ParquetCommunity", "StreamStats"]

logger = logging.getLogger(__name__)


@dataclass
class StreamStats:
    """Training statistics from one pass over a set of units.

    Attributes
    ----------
    n_sites : int
    x_mean, x_scale : ndarray of shape (n_features,)
        Mean and population standard deviation (1 where it is 0).
    prevalence : ndarray of shape (n_species,)
    cooccurrence : ndarray of shape (n_species, n_species), int64
        ``Yᵀ Y``.
    x_min, x_max : ndarray of shape (n_features,)
        Range of each covariate.
    """

    n_sites: int
    x_mean: np.ndarray
    x_scale: np.ndarray
    prevalence: np.ndarray
    cooccurrence: np.ndarray
    x_min: np.ndarray
    x_max: np.ndarray


class ParquetCommunity:
    """A wide parquet dataset read one row group at a time.

    Parameters
    ----------
    path : str or path
        A ``.parquet`` file or a directory of them.
    columns : ColumnSpec, optional
        Column roles, resolved on the first row group with the one column rule
        (:mod:`jsdm_hot.data.columns`); or give its fields as the options
        ``species_cols``, ``species_prefix``, ``covariate_cols``, ``site_col``,
        ``lon_col``, ``lat_col``, ``exclude``.

    Attributes
    ----------
    species : tuple of str, length n_species
    covariates : tuple of str, length n_features
    unit_rows : ndarray of shape (n_units,)
        Rows per unit (row group), from the parquet metadata.
    """

    def __init__(self, path: str | Path, columns: ColumnSpec | None = None, **options):
        import pyarrow.dataset as pads

        if columns is None:
            columns = ColumnSpec.from_options(**options)
        elif options:
            raise InputDataError(f"give column roles either as a ColumnSpec or as options, not both ({sorted(options)})")
        self.path = Path(path)
        if not self.path.exists():
            raise InputDataError(f"parquet dataset {self.path} does not exist")
        try:
            dataset = pads.dataset(str(self.path), format="parquet")
            self._units = [rg for frag in dataset.get_fragments() for rg in frag.split_by_row_group()]
        except Exception as exc:  # pyarrow raises several types for unreadable files
            raise InputDataError(f"{self.path} is not a readable parquet dataset: {exc}") from None
        self.unit_rows = np.array([rg.row_groups[0].num_rows for rg in self._units], dtype=np.int64)
        if not len(self._units) or self.unit_rows.sum() == 0:
            raise InputDataError(f"parquet dataset {self.path} has no rows")
        frame = self._units[0].to_table().to_pandas()
        roles = columns.resolve(frame, source=self._where(0))
        # every unit is read with the roles resolved here, named explicitly
        self._spec = ColumnSpec(species=roles.species, covariates=roles.covariates, site=roles.site, lon=roles.lon,
                                lat=roles.lat)
        first = CommunityData.from_frame(frame, self._spec, source=self._where(0))
        self.species = tuple(first.species)
        self.covariates = tuple(first.covariates)

    def __repr__(self) -> str:
        return (f"ParquetCommunity({self.n_sites} sites in {self.n_units} row groups, {len(self.covariates)} covariates, "
                f"{len(self.species)} species, path={str(self.path)!r})")

    @property
    def n_units(self) -> int:
        return len(self._units)

    @property
    def n_sites(self) -> int:
        return int(self.unit_rows.sum())

    def _where(self, unit: int) -> str:
        return f"{self._units[unit].path} row group {self._units[unit].row_groups[0].id}"

    def read_unit(self, unit: int) -> CommunityData:
        """Unit ``unit`` (one row group) as a validated CommunityData with this dataset's columns."""
        spec = self._spec
        cols = [c for c in (*self.covariates, *self.species, spec.site, spec.lon, spec.lat) if c]
        names = set(self._units[unit].physical_schema.names)
        table = self._units[unit].to_table(columns=[c for c in dict.fromkeys(cols) if c in names])
        return CommunityData.from_frame(table.to_pandas(), spec, source=self._where(unit))

    def read(self, units: Sequence[int] | None = None) -> CommunityData:
        """Several units concatenated in memory (e.g. the validation units).

        Site ids must be unique across them; duplicates raise.
        """
        import pandas as pd

        units = range(self.n_units) if units is None else units
        frames = [self.read_unit(u).to_frame() for u in units]
        if self._spec.site is None:  # row-number ids of each unit would collide: number the rows afresh
            frames = [f.drop(columns="site_id") for f in frames]
        has_xy = self._spec.lon is not None
        spec = ColumnSpec(species=self.species, covariates=self.covariates,
                          site="site_id" if self._spec.site else None,
                          lon="lon" if has_xy else None, lat="lat" if has_xy else None)
        return CommunityData.from_frame(pd.concat(frames, ignore_index=True), spec, source=str(self.path))

    def scan(self, units: Sequence[int]) -> StreamStats:
        """One pass over ``units``: covariate mean/sd/range, prevalences and co-occurrence counts."""
        p, L = len(self.covariates), len(self.species)
        n, sx, sxx = 0, np.zeros(p), np.zeros(p)
        lo, hi = np.full(p, np.inf), np.full(p, -np.inf)
        sy, co = np.zeros(L), np.zeros((L, L), dtype=np.int64)
        for u in units:
            d = self.read_unit(u)
            # centre on the first unit's mean before squaring: sums of squares of raw
            # values lose precision when |mean| >> sd (elevations, years)
            if n == 0:
                shift = d.X.mean(0) if d.n_sites else np.zeros(p)
            xc = d.X - shift
            n += d.n_sites
            sx += xc.sum(0)
            sxx += (xc ** 2).sum(0)
            if d.n_sites:
                lo, hi = np.minimum(lo, d.X.min(0)), np.maximum(hi, d.X.max(0))
            y = d.Y.astype(np.int64)
            sy += y.sum(0)
            co += y.T @ y
        if n == 0:
            raise InputDataError(f"no training rows in {self.path}")
        mean_c = sx / n
        sd = np.sqrt(np.maximum(sxx / n - mean_c ** 2, 0.0))
        return StreamStats(n, mean_c + shift, np.where(sd > 0, sd, 1.0), sy / n, co, lo, hi)
