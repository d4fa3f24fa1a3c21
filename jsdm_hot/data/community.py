"""CommunityData: the validated site × species container every part of jsdm-hot consumes.

Validation happens once, here, at the boundary: covariates must be finite
numbers, occurrences 0/1, site ids and species names unique. Errors name the
offending column and row (1-based data row, header excluded) and the source file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from jsdm_hot.data.columns import ColumnSpec
from jsdm_hot.errors import InputDataError

__all__ = ["CommunityData", "check_occurrences", "check_covariates"]


def _where(source: str | None) -> str:
    return f" in {source}" if source else ""


def check_covariates(
    X: np.ndarray, names: Sequence[str], source: str | None = None
) -> np.ndarray:
    """Return ``X`` as float64 after checking it is finite and numeric.

    Parameters
    ----------
    X : array-like of shape (n_sites, n_features)
    names : sequence of str of length n_features
        Column names, used in error messages.
    source : str, optional
        File the values came from, used in error messages.

    Returns
    -------
    ndarray of shape (n_sites, n_features), dtype float64

    Raises
    ------
    InputDataError
        On a non-numeric value, NaN or infinity, naming column and row.
    """
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise InputDataError(f"covariates{_where(source)} must be 2-D (n_sites, n_features), got shape {arr.shape}")
    if arr.shape[1] != len(names):
        raise InputDataError(f"covariates{_where(source)} have {arr.shape[1]} columns but {len(names)} names")
    if arr.dtype.kind not in "biuf":
        for j, name in enumerate(names):
            col = pd.to_numeric(pd.Series(arr[:, j]), errors="coerce")
            bad = np.flatnonzero(col.isna().to_numpy() & pd.Series(arr[:, j]).notna().to_numpy())
            if bad.size:
                raise InputDataError(
                    f"covariate column '{name}'{_where(source)} has non-numeric value "
                    f"{arr[bad[0], j]!r} at row {bad[0] + 1}; covariates must be numbers"
                )
        arr = np.asarray(pd.DataFrame(arr).apply(pd.to_numeric), dtype=np.float64)
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise InputDataError(
            f"covariate column '{names[j]}'{_where(source)} has value {arr[i, j]} at row {i + 1}; "
            "covariates must be finite numbers (impute or drop missing values first)"
        )
    return arr


def check_occurrences(
    Y: np.ndarray, names: Sequence[str], source: str | None = None
) -> np.ndarray:
    """Return ``Y`` as uint8 after checking every value is 0 or 1.

    Parameters
    ----------
    Y : array-like of shape (n_sites, n_species)
    names : sequence of str of length n_species
    source : str, optional

    Returns
    -------
    ndarray of shape (n_sites, n_species), dtype uint8

    Raises
    ------
    InputDataError
        Naming the first species column and row holding something other than 0/1.
    """
    arr = np.asarray(Y)
    if arr.ndim != 2:
        raise InputDataError(f"occurrences{_where(source)} must be 2-D (n_sites, n_species), got shape {arr.shape}")
    if arr.shape[1] != len(names):
        raise InputDataError(f"occurrences{_where(source)} have {arr.shape[1]} columns but {len(names)} species names")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if arr.dtype.kind in "biuf":
        ok = (arr == 0) | (arr == 1)
    else:
        ok = np.isin(arr.astype(str), ["0", "1", "0.0", "1.0"])
    if not ok.all():
        i, j = np.argwhere(~ok)[0]
        value = arr[i, j].item() if isinstance(arr[i, j], np.generic) else arr[i, j]  # 2, not np.int64(2)
        raise InputDataError(
            f"column '{names[j]}'{_where(source)} has value {value!r} at row {i + 1}; "
            "occurrence columns must be 0/1"
        )
    if arr.dtype.kind not in "biuf":
        arr = arr.astype(str).astype(float)
    return arr.astype(np.uint8)


def _check_unique(values: Sequence[str], what: str, source: str | None) -> None:
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        if v in seen:
            raise InputDataError(
                f"{what} {v!r}{_where(source)} appears twice ({'rows' if what == 'site id' else 'positions'} "
                f"{seen[v] + 1} and {i + 1}); {what}s must be unique"
            )
        seen[v] = i


@dataclass(frozen=True, eq=False)
class CommunityData:
    """Validated covariates and occurrences of a set of sites.

    Build it with :meth:`from_arrays` or :meth:`from_frame` (or a reader such as
    :func:`jsdm_hot.data.tables.read_wide_csv`), which validate; the plain
    constructor trusts its arguments.

    Attributes
    ----------
    X : ndarray of shape (n_sites, n_features), float64
        Environmental and effort covariates, finite.
    Y : ndarray of shape (n_sites, n_species), uint8, or None
        Occurrences (1 = present). ``None`` for sites to predict at.
    site_ids : ndarray of shape (n_sites,), str
    species : tuple of str, length n_species
    covariates : tuple of str, length n_features
    coords : ndarray of shape (n_sites, 2) or None
        Longitude and latitude (or x, y in ``crs``).
    crs : str or None
        Coordinate reference system of ``coords`` (e.g. ``"EPSG:4326"``).
    source : str or None
        Where the data came from (for messages).
    extra : pandas.DataFrame or None
        Other per-site columns kept alongside (dates, effort, block ids, ...).
    """

    X: np.ndarray
    Y: np.ndarray | None
    site_ids: np.ndarray
    species: tuple[str, ...]
    covariates: tuple[str, ...]
    coords: np.ndarray | None = None
    crs: str | None = None
    source: str | None = None
    extra: pd.DataFrame | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ build
    @classmethod
    def from_arrays(
        cls,
        X,
        Y=None,
        *,
        site_ids: Sequence | None = None,
        species: Sequence[str] | None = None,
        covariates: Sequence[str] | None = None,
        coords=None,
        crs: str | None = "EPSG:4326",
        source: str | None = None,
        extra: pd.DataFrame | None = None,
    ) -> CommunityData:
        """Validate arrays and wrap them.

        Parameters
        ----------
        X : array-like of shape (n_sites, n_features)
        Y : array-like of shape (n_sites, n_species), optional
        site_ids : sequence of length n_sites, optional
            Default ``"site_0" ... ``.
        species, covariates : sequence of str, optional
            Default ``"sp_0" ...`` and ``"x_0" ...``.
        coords : array-like of shape (n_sites, 2), optional
        """
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise InputDataError(f"covariates{_where(source)} must be 2-D (n_sites, n_features), got shape {X.shape}")
        n = X.shape[0]
        covariates = tuple(str(c) for c in (covariates if covariates is not None else [f"x_{j}" for j in range(X.shape[1])]))
        _check_unique(covariates, "covariate name", source)
        Xc = check_covariates(X, covariates, source)
        Yc = None
        if Y is not None:
            Y = np.asarray(Y)
            if Y.ndim != 2:
                raise InputDataError(f"occurrences{_where(source)} must be 2-D (n_sites, n_species), got shape {Y.shape}")
            species = tuple(str(s) for s in (species if species is not None else [f"sp_{j}" for j in range(Y.shape[1])]))
            _check_unique(species, "species name", source)
            Yc = check_occurrences(Y, species, source)
            if Yc.shape[0] != n:
                raise InputDataError(f"occurrences{_where(source)} have {Yc.shape[0]} rows but covariates have {n}")
        else:
            species = tuple(str(s) for s in (species if species is not None else ()))
        ids = np.asarray([str(s) for s in (site_ids if site_ids is not None else [f"site_{i}" for i in range(n)])], dtype=object)
        if ids.shape[0] != n:
            raise InputDataError(f"{ids.shape[0]} site ids for {n} sites{_where(source)}")
        _check_unique(list(ids), "site id", source)
        xy = None
        if coords is not None:
            xy = check_covariates(np.asarray(coords, dtype=object if np.asarray(coords).dtype.kind not in "biuf" else None), ("lon", "lat"), source)
            if xy.shape[0] != n:
                raise InputDataError(f"{xy.shape[0]} coordinate rows for {n} sites{_where(source)}")
        if extra is not None:
            extra = extra.reset_index(drop=True)
            if len(extra) != n:
                raise InputDataError(f"extra columns have {len(extra)} rows for {n} sites{_where(source)}")
        return cls(Xc, Yc, ids, tuple(species), covariates, xy, crs if xy is not None else None, source, extra)

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        columns: ColumnSpec | None = None,
        *,
        crs: str | None = "EPSG:4326",
        source: str | None = None,
        require_species: bool = True,
        covariate_columns: Sequence[str] = (),
        **options,
    ) -> CommunityData:
        """Split a wide site × (covariates + species) table into a CommunityData.

        Parameters
        ----------
        df : DataFrame
        columns : ColumnSpec, optional
            Column roles; see :mod:`jsdm_hot.data.columns` for the rule used for
            what it leaves open. Alternatively give its fields as the keyword
            options ``species_cols``, ``species_prefix``, ``covariate_cols``,
            ``site_col``, ``lon_col``, ``lat_col``, ``exclude``.
        crs : str, default="EPSG:4326"
            Of the coordinates.
        source : str, optional
            File name(s), for messages.
        require_species : bool, default=True
            False for sites to predict at.
        covariate_columns : sequence of str
            Columns that came from joined covariate tables (never species).

        Returns
        -------
        CommunityData
            Non-role columns are kept in :attr:`extra`. An empty site id raises.
        """
        if columns is None:
            columns = ColumnSpec.from_options(**options)
        elif options:
            raise InputDataError(f"give column roles either as a ColumnSpec or as options, not both ({sorted(options)})")
        roles = columns.resolve(df, source=source, require_species=require_species,
                                covariate_columns=covariate_columns)
        ids = None
        if roles.site:
            missing_id = np.flatnonzero(df[roles.site].isna().to_numpy())
            if missing_id.size:
                raise InputDataError(
                    f"site id column {roles.site!r}{_where(source)} is empty at row {missing_id[0] + 1}; every site needs an id"
                )
            ids = df[roles.site].astype(str).to_numpy()
        coords = df[[roles.lon, roles.lat]].to_numpy() if roles.lon else None
        sp, cov = roles.species, roles.covariates
        return cls.from_arrays(
            df[cov].apply(lambda col: col.astype(np.uint8) if pd.api.types.is_bool_dtype(col) else col).to_numpy()
            if cov else np.zeros((len(df), 0)),
            # booleans become 0/1 first (a mixed bool/int frame would give an object array)
            df[sp].apply(lambda col: col.astype(np.uint8) if pd.api.types.is_bool_dtype(col) else col).to_numpy() if sp else None,
            site_ids=ids,
            species=[str(s) for s in sp],
            covariates=[str(c) for c in cov],
            coords=coords,
            crs=crs,
            source=source,
            extra=df[roles.extra].reset_index(drop=True) if roles.extra else None,
        )

    # --------------------------------------------------------------- queries
    @property
    def n_sites(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def has_occurrences(self) -> bool:
        return self.Y is not None

    def subset(self, index) -> CommunityData:
        """Rows ``index`` (int array or boolean mask of length n_sites) as a new CommunityData."""
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return replace(
            self,
            X=self.X[idx],
            Y=None if self.Y is None else self.Y[idx],
            site_ids=self.site_ids[idx],
            coords=None if self.coords is None else self.coords[idx],
            extra=None if self.extra is None else self.extra.iloc[idx].reset_index(drop=True),
        )

    def select_species(self, species: Sequence[str]) -> CommunityData:
        """Keep (and reorder to) the given species; unknown names raise."""
        pos = {s: i for i, s in enumerate(self.species)}
        dup = sorted({s for s in species if list(species).count(s) > 1})
        if dup:
            raise InputDataError(f"species {dup} selected more than once; each species may appear once")
        missing = [s for s in species if s not in pos]
        if missing:
            raise InputDataError(f"species {missing} not in the data{_where(self.source)}")
        cols = [pos[s] for s in species]
        return replace(self, Y=None if self.Y is None else self.Y[:, cols], species=tuple(species))

    def align_covariates(self, covariates: Sequence[str]) -> CommunityData:
        """Reorder covariates to ``covariates`` (a model's training order); missing ones raise."""
        pos = {c: i for i, c in enumerate(self.covariates)}
        missing = [c for c in covariates if c not in pos]
        if missing:
            raise InputDataError(
                f"covariates {missing} used in training are missing{_where(self.source)}; present: {list(self.covariates)}"
            )
        return replace(self, X=self.X[:, [pos[c] for c in covariates]], covariates=tuple(covariates))

    def with_covariates(self, values: Mapping[str, float]) -> "CommunityData":
        """Covariates set to constants at every site (added when absent), e.g. a standard survey effort.

        Parameters
        ----------
        values : mapping of str to float
            Covariate name → value in the covariate's own units.
        """
        X, names = self.X.copy(), list(self.covariates)
        for name, value in values.items():
            v = float(value)
            if not np.isfinite(v):
                raise InputDataError(f"covariate {name!r} set to {value!r}; covariates must be finite numbers")
            if name in names:
                X[:, names.index(name)] = v
            else:
                X = np.column_stack([X, np.full(self.n_sites, v)])
                names.append(str(name))
        return replace(self, X=X, covariates=tuple(names))

    def to_frame(self) -> pd.DataFrame:
        """Wide table: site_id, lon, lat (if any), covariates, species 0/1, extra columns."""
        parts = {"site_id": self.site_ids}
        if self.coords is not None:
            parts["lon"] = self.coords[:, 0]
            parts["lat"] = self.coords[:, 1]
        df = pd.DataFrame(parts)
        df = pd.concat([df, pd.DataFrame(self.X, columns=list(self.covariates))], axis=1)
        if self.Y is not None:
            df = pd.concat([df, pd.DataFrame(self.Y, columns=list(self.species))], axis=1)
        if self.extra is not None:
            df = pd.concat([df, self.extra.reset_index(drop=True)], axis=1)
        return df

    def __repr__(self) -> str:
        occ = f"{self.n_species} species" if self.Y is not None else "no occurrences"
        return f"CommunityData({self.n_sites} sites, {self.n_features} covariates, {occ}, source={self.source!r})"
