"""Which column of a site table is what: the one column rule of jsdm-hot (:class:`ColumnSpec`).

``fit``, ``predict``, ``evaluate``, ``tree-check``, ``benchmark``, ``map`` and the
Python readers all resolve roles with :meth:`ColumnSpec.resolve`, so a table
means the same thing everywhere. Explicit roles always win; a guess is only
made where it is safe, and an ambiguous guess is an error that says which
option settles it.

The rule, in order:

1. **Site id**: ``site`` if given (it must exist), else the first column named
   like an id of sites or checklists (:data:`SITE_NAMES`, case-insensitive);
   none → row numbers.
2. **Coordinates**: ``lon``/``lat`` if given (both must exist), else the first
   pair of :data:`COORD_PAIRS` present (``lon/lat``, ``longitude/latitude``,
   ``decimalLongitude/decimalLatitude``, then ``x/y``). When a geographic pair
   was found, ``x``/``y`` columns (projected coordinates in eBird extracts) are
   kept out of the covariates.
3. **Species**: ``species`` (list) or ``species_prefix``; else every column
   holding only 0/1 integers or booleans that is not a site id, coordinate,
   covariate given by name, column of a joined covariate table, an id-like
   column (:data:`ID_SUFFIXES`) or a known 0/1 covariate (:data:`BINARY_COVARIATE_PREFIXES`,
   :data:`NOT_SPECIES`). If those 0/1 columns are not one contiguous block of
   the table (they are interleaved with other numeric columns, as when 0/1
   habitat covariates sit among the environment), the guess is ambiguous and
   :class:`~jsdm_hot.errors.InputDataError` asks for ``--species-cols`` /
   ``--species-prefix`` / ``--covariate-cols``.
4. **Covariates**: ``covariates`` if given (they must exist), else every other
   numeric or boolean column except ids; the rest is kept as ``extra``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from jsdm_hot.errors import InputDataError

__all__ = ["ColumnSpec", "ColumnRoles", "SITE_NAMES", "COORD_PAIRS", "ID_SUFFIXES", "NOT_SPECIES",
           "BINARY_COVARIATE_PREFIXES"]

logger = logging.getLogger(__name__)

#: Site / checklist id column names recognised when ``site`` is not given (lower case).
SITE_NAMES = ("site_id", "site", "checklist_id", "sampling_event_identifier", "plot_id", "plot", "id")
#: Coordinate column pairs recognised when ``lon``/``lat`` are not given (lower case), in order.
COORD_PAIRS = (("lon", "lat"), ("longitude", "latitude"), ("decimallongitude", "decimallatitude"), ("x", "y"))
#: Name endings of id-like columns, never guessed as species or covariates (lower case).
ID_SUFFIXES = ("_id", "_row", "_code", "_identifier", "_index")
#: 0/1 columns that are never guessed as species (eBird sampling-event fields, lower case).
NOT_SPECIES = ("all_species_reported", "fold", "fold_id", "grid_row", "cell_id")
#: Prefixes of 0/1 columns that are covariates, not species (lower case): the package's effort dummies and flags.
BINARY_COVARIATE_PREFIXES = ("protocol_", "has_", "is_")


def _is_binary(col: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(col):
        return True
    return bool(pd.api.types.is_integer_dtype(col) and col.isin([0, 1]).all())


def _is_numeric(col: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col))


def _is_id_like(name: str) -> bool:
    low = name.lower()
    return low in NOT_SPECIES or low in SITE_NAMES or low.endswith(ID_SUFFIXES)


def _where(source: str | None) -> str:
    return f" in {source}" if source else ""


@dataclass(frozen=True)
class ColumnRoles:
    """The resolved role of every column of one table.

    Attributes
    ----------
    site : str or None
    lon, lat : str or None
    species : list of str
    covariates : list of str
    extra : list of str
        Other columns, kept alongside the data (dates, text, ids).
    guessed_species, guessed_covariates : bool
        True when the species / covariates were inferred rather than named.
    """

    site: str | None
    lon: str | None
    lat: str | None
    species: list[str] = field(default_factory=list)
    covariates: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    guessed_species: bool = False
    guessed_covariates: bool = False

    def without_covariates(self, drop: Sequence[str]) -> "ColumnRoles":
        """The same roles with ``drop`` moved from the covariates to the extra columns."""
        from dataclasses import replace

        gone = set(drop)
        return replace(self, covariates=[c for c in self.covariates if c not in gone],
                       extra=self.extra + [c for c in self.covariates if c in gone])

    def describe(self) -> str:
        """One line for the log: what became what."""
        def names(cols: list[str], k: int = 6) -> str:
            return ", ".join(cols[:k]) + (f", … ({len(cols)} in all)" if len(cols) > k else "")

        return (f"site id: {self.site or '(row numbers)'}; coordinates: "
                f"{f'{self.lon}/{self.lat}' if self.lon else '(none)'}; {len(self.species)} species: "
                f"{names(self.species)}; {len(self.covariates)} covariates: {names(self.covariates, 12)}")


@dataclass(frozen=True)
class ColumnSpec:
    """Column roles of a wide site table (see the module docstring for the rule).

    Parameters
    ----------
    species : sequence of str, optional
        The species (0/1 occurrence) columns.
    species_prefix : str, optional
        Species are the columns whose names start with it (the prefix stays in the name).
    covariates : sequence of str, optional
        The covariate columns (default: every other numeric column).
    site : str, optional
        Site id column (default: recognised by name).
    lon, lat : str, optional
        Coordinate columns (default: recognised by name).
    exclude : sequence of str
        Columns to leave out of species and covariates (kept as extra).
    """

    species: Sequence[str] | None = None
    species_prefix: str | None = None
    covariates: Sequence[str] | None = None
    site: str | None = None
    lon: str | None = None
    lat: str | None = None
    exclude: Sequence[str] = ()

    @classmethod
    def from_options(cls, *, species_cols: str | Sequence[str] | None = None, species_prefix: str | None = None,
                     covariate_cols: str | Sequence[str] | None = None, site_col: str | None = None,
                     lon_col: str | None = None, lat_col: str | None = None,
                     exclude: str | Sequence[str] | None = None) -> ColumnSpec:
        """Build from command-line style options (comma-separated strings or lists; empty → None)."""
        def listed(v) -> tuple[str, ...] | None:
            if v is None:
                return None
            items = [t.strip() for t in v.split(",")] if isinstance(v, str) else [str(t).strip() for t in v]
            items = [t for t in items if t]
            return tuple(items) or None

        return cls(listed(species_cols), species_prefix or None, listed(covariate_cols), site_col or None,
                   lon_col or None, lat_col or None, listed(exclude) or ())

    def resolve(self, df: pd.DataFrame, *, source: str | None = None, require_species: bool = True,
                covariate_columns: Sequence[str] = ()) -> ColumnRoles:
        """Assign a role to every column of ``df``.

        Parameters
        ----------
        df : DataFrame
        source : str, optional
            File name(s) for messages.
        require_species : bool, default=True
            False for sites to predict at (no occurrence columns needed).
        covariate_columns : sequence of str
            Columns that came from joined covariate tables: never species.

        Raises
        ------
        InputDataError
            A named column is absent, one of lon/lat without the other, no species
            column found (when required), or an ambiguous species guess.
        """
        cols = [str(c) for c in df.columns]
        lower = {c.lower(): c for c in reversed(cols)}

        def require(names: Sequence[str], what: str) -> list[str]:
            missing = [c for c in names if c not in cols]
            if missing:
                raise InputDataError(f"{what} {missing}{_where(source)} not found; the columns are {cols}")
            return list(names)

        site = require([self.site], "site id column")[0] if self.site else next(
            (lower[n] for n in SITE_NAMES if n in lower), None)
        if (self.lon is None) != (self.lat is None):
            raise InputDataError("give both the longitude and the latitude column (--lon-col and --lat-col), or neither")
        lon = lat = None
        geographic = False
        if self.lon:
            lon, lat = require([self.lon, self.lat], "coordinate columns")
        else:
            for a, b in COORD_PAIRS:
                if (a in lower) != (b in lower) and a != "x":
                    present, absent = (lower[a], b) if a in lower else (lower[b], a)
                    raise InputDataError(f"coordinate column {present!r}{_where(source)} is present but {absent!r} is "
                                         f"not; give both or neither, or name them with --lon-col/--lat-col")
                if a in lower and b in lower:
                    lon, lat, geographic = lower[a], lower[b], a != "x"
                    break
        reserved = {c for c in (site, lon, lat) if c}
        if geographic and self.covariates is None:  # projected x/y beside lon/lat: coordinates too, not covariates
            reserved |= {c for c in cols if c.lower() in ("x", "y")}
        excluded = set(require(self.exclude, "excluded columns")) | reserved
        named_cov = require(self.covariates, "covariate columns") if self.covariates is not None else None
        from_tables = set(map(str, covariate_columns))
        guessed_species = self.species is None and self.species_prefix is None
        if self.species is not None:
            species = require(self.species, "species columns")
        elif self.species_prefix is not None:
            species = [c for c in cols if c.startswith(self.species_prefix) and c not in excluded]
            if not species and require_species:
                raise InputDataError(f"no column starts with species prefix {self.species_prefix!r}{_where(source)}; "
                                     f"the columns are {cols}")
        else:
            species = self._guess_species(df, cols, excluded | set(named_cov or ()) | from_tables, source)
            if not species and require_species:
                raise InputDataError(f"found no 0/1 species columns{_where(source)}; name them with --species-cols "
                                     "(species_cols) or --species-prefix (species_prefix)")
        taken = excluded | set(species)
        if named_cov is not None:
            clash = sorted(set(named_cov) & set(species))
            if clash:
                raise InputDataError(f"columns {clash} are named both as species and as covariates")
            covariates = named_cov
        else:
            covariates = [c for c in cols if c not in taken and not _is_id_like(c) and _is_numeric(df[c])]
        extra = [c for c in cols if c not in species and c not in covariates and c not in reserved]  # excluded ones too
        roles = ColumnRoles(site, lon, lat, list(species), list(covariates), extra, guessed_species, named_cov is None)
        if roles.guessed_species or roles.guessed_covariates:
            logger.info("columns%s: %s", _where(source), roles.describe())
        return roles

    @staticmethod
    def _guess_species(df: pd.DataFrame, cols: list[str], not_species: set[str], source: str | None) -> list[str]:
        binary = [c for c in cols if c not in not_species and _is_binary(df[c])]
        known_cov = [c for c in binary if _is_id_like(c) or c.lower().startswith(BINARY_COVARIATE_PREFIXES)]
        if known_cov:
            logger.info("0/1 columns %s are covariates or ids, not species (by name)", known_cov)
        species = [c for c in binary if c not in known_cov]
        if len(species) > 1:
            # contiguity among the numeric columns that could be species or covariates
            candidates = [c for c in cols if c not in not_species and c not in known_cov and _is_numeric(df[c])]
            pos = [candidates.index(c) for c in species]
            if pos[-1] - pos[0] + 1 != len(species):
                inside = [i for i in range(pos[0], pos[-1] + 1) if candidates[i] not in species]
                after = [c for c, i in zip(species, pos) if i > inside[0]]
                others = [candidates[i] for i in inside]
                raise InputDataError(
                    f"cannot tell species from covariates{_where(source)}: the 0/1 columns are interleaved with "
                    f"other numeric columns ({', '.join(others[:5])}{', …' if len(others) > 5 else ''}), so some 0/1 "
                    f"columns may be covariates (e.g. {', '.join(after[:5])}). Name the "
                    "species with --species-cols or --species-prefix, or the covariates with --covariate-cols "
                    "(ColumnSpec(species=..., covariates=...) in Python), or join the covariates from their own "
                    "table with --covariates")
        return species
