"""eBird Basic Dataset (EBD) ingest: filters, taxonomy roll-up, zero-filling, effort covariates.

An EBD extract is a tab-separated text file (often several GB) with one row per
observation (a species on a checklist); the matching *sampling-event file* has one
row per checklist. Presence/absence comes from joining the two: a species is present
(1) on a complete checklist when it has a row in the EBD, absent (0) otherwise.

Everything heavy runs in DuckDB (imported lazily) over a streaming ``read_csv``
scan: the files are never loaded whole into pandas. Filters are pushed into the SQL
``WHERE``; shared checklists are collapsed by a SQL ``GROUP BY`` over the rows of
shared checklists only; the EBD is read in one pass that maps each kept row to its
checklist's output row and gathers those row numbers per species. Only the
checklist table (through Arrow, strings stay Arrow-backed) and one integer list
per species come back to Python. DuckDB works on a scratch database file in a
temporary folder so it can evict to disk beyond ``memory_limit``; for a 2 GB EBD
(5.6 M rows, 1.4 M checklists) the whole process peaks at about 1.4 GB RSS, of
which ~370 MB is the import of jsdm_hot itself (see
``benchmarks/results/ingest_speed.md``).

Conventions (the same as the R package auk, Strimas-Mackey et al.):

* **Checklist id** = ``GROUP IDENTIFIER`` when non-empty, else ``SAMPLING EVENT
  IDENTIFIER``. Copies of a shared checklist (one per observer) collapse into one
  checklist; its fields come from the copy with the smallest sampling event id
  (auk's ``auk_unique`` rule); ``n_sampling_events``, ``sampling_event_ids`` and
  ``observer_ids`` record what was merged. A species is present on the collapsed
  checklist if any copy reports it.
* **Taxonomic roll-up.** In the EBD, the ``SCIENTIFIC NAME`` of ``issf``, ``form``
  and ``intergrade`` rows is already the species name (the subspecies is in
  ``SUBSPECIES SCIENTIFIC NAME``), so without a taxonomy file those rows count for
  their species and ``spuh``, ``slash``, ``hybrid`` and ``domestic`` rows are
  dropped. With ``taxonomy=`` (a path to the eBird/Clements taxonomy CSV with
  columns ``species_code, scientific_name, common_name, category, report_as``, as
  shipped by auk; not bundled here because of its license) names are joined to the
  taxonomy: species-level names are kept, names whose ``report_as`` points to a
  species roll up to it, other taxa are dropped, and names absent from that
  taxonomy version are dropped with a warning listing them. ``domestic`` rows are
  dropped in both modes (auk's documentation says it drops them; its code, joining
  on the species-level scientific name, would keep them: we follow the documented
  intent, domestic birds are not wild occurrences).
* **"X" counts** mean present, count unknown. Any other non-integer count is an
  error naming the file and line.

Deviation from auk: auk's ``auk_zerofill`` fails on checklists of the EBD missing
from the sampling file; so do we (:class:`~jsdm_hot.errors.InputDataError` naming
the first such row). Without a sampling file the checklists are those present in
the EBD extract itself: that is only a faithful zero-fill when the extract was not
restricted to a few species (otherwise checklists with none of them are missed);
a warning says so.

Modules: :mod:`~jsdm_hot.data.ebird.files` (EBD column names, header checks),
:mod:`~jsdm_hot.data.ebird.filters` (:class:`EbirdFilters`),
:mod:`~jsdm_hot.data.ebird.sql` and :mod:`~jsdm_hot.data.ebird.zerofill` (the
DuckDB engine, :func:`zero_fill`), :mod:`~jsdm_hot.data.ebird.effort` (effort
covariates), :mod:`~jsdm_hot.data.ebird.standard` (standard effort for
prediction, :func:`effort_values`, best hour), :mod:`~jsdm_hot.data.ebird.assemble`
(:func:`load_ebird`). Every name below is importable from ``jsdm_hot.data.ebird``.
"""

from jsdm_hot.data.ebird.assemble import load_ebird
from jsdm_hot.data.ebird.effort import EFFORT_COVARIATES, effort_covariates
from jsdm_hot.data.ebird.files import (
    EBD_REQUIRED,
    EFFORT_COLUMNS,
    GROUP,
    PROTOCOL_ALIASES,
    SAMPLING_REQUIRED,
    SEI,
    read_header,
)
from jsdm_hot.data.ebird.filters import BEST_PRACTICE, BEST_PRACTICE_MIN_DETECTIONS, EbirdFilters
from jsdm_hot.data.ebird.standard import (
    EFFORT_INPUTS,
    STANDARD_CHECKLIST,
    best_hour,
    effort_values,
    standard_effort,
    with_standard_effort,
)
from jsdm_hot.data.ebird.zerofill import zero_fill

__all__ = [
    "EbirdFilters",
    "BEST_PRACTICE",
    "BEST_PRACTICE_MIN_DETECTIONS",
    "EFFORT_COLUMNS",
    "EBD_REQUIRED",
    "SAMPLING_REQUIRED",
    "PROTOCOL_ALIASES",
    "SEI",
    "GROUP",
    "read_header",
    "zero_fill",
    "load_ebird",
    "effort_covariates",
    "effort_values",
    "EFFORT_INPUTS",
    "EFFORT_COVARIATES",
    "STANDARD_CHECKLIST",
    "standard_effort",
    "with_standard_effort",
    "best_hour",
]
