#!/usr/bin/env python
"""Recipe: a real eBird Basic Dataset (EBD) extract + its sampling-event file -> zero-filled checklists.

The download is a MANUAL step (an eBird account and an approved data request; see
``ebird_extract.md``). This script starts from the two unpacked text files and

1. checks that they look like an EBD release (the columns zero-filling needs);
2. zero-fills complete checklists with eBird best-practice filters (auk style:
   complete, approved, stationary/traveling, <= 5 h, <= 5 km, <= 10 observers,
   chosen region and months) through :func:`jsdm_hot.data.ebird.load_ebird`;
3. optionally thins the checklists spatio-temporally (one per cell and week) to
   reduce spatial bias;
4. writes a wide table (site_id, lon, lat, effort covariates, one 0/1 column per
   species, checklist fields) that ``jsdm-hot fit`` and the other recipes read.

It is equivalent to ``jsdm-hot prepare`` with these filters; it exists so the whole
recipe is one reproducible, documented command. No network access is needed.

Example::

    python data_recipes/ebird_extract.py ebd_US-GA_202306_relJun-2025.txt \\
        --sampling ebd_sampling_relJun-2025.txt --state US-GA --months 6 \\
        --years 2019-2023 --out checklists_ga_june.csv
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

logger = logging.getLogger("ebird_extract")


def _years(text: str | None) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    a, _, b = text.partition("-")
    return f"{int(a):04d}-01-01", f"{int(b or a):04d}-12-31"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Zero-fill an EBD extract with eBird best-practice filters.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("ebd", type=Path, help="EBD observation file (ebd_*.txt, tab-separated, unpacked)")
    p.add_argument("--sampling", type=Path, required=True, help="matching sampling-event file (ebd_sampling_*.txt)")
    p.add_argument("--out", type=Path, required=True, help="output wide table (.csv, .tsv or .parquet)")
    p.add_argument("--taxonomy", type=Path, help="eBird taxonomy CSV for the taxonomic roll-up (optional)")
    p.add_argument("--country", help="comma-separated country codes, e.g. US")
    p.add_argument("--state", help="comma-separated state codes, e.g. US-GA")
    p.add_argument("--months", help="comma-separated months 1-12, e.g. 6 for June")
    p.add_argument("--years", help="year or range, e.g. 2019-2023")
    p.add_argument("--species", help="comma-separated species to keep (default: all in the extract)")
    p.add_argument("--no-best-practice", action="store_true",
                   help="do not apply the protocol/duration/distance/observer limits")
    p.add_argument("--subsample-km", type=float, default=None,
                   help="keep one checklist per cell of this size (km) and week (spatio-temporal thinning)")
    p.add_argument("--min-detections", type=int, default=None,
                   help="drop species detected on fewer checklists (default: 10, eBird best practice)")
    p.add_argument("--memory-limit", default="2GB", help="DuckDB memory limit (it spills to disk beyond it)")
    p.add_argument("--seed", type=int, default=0, help="seed of the subsampling")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def build_filters(args: argparse.Namespace):
    """The :class:`~jsdm_hot.data.ebird.EbirdFilters` for these arguments (auk-style filters)."""
    from jsdm_hot.data.ebird import BEST_PRACTICE, EbirdFilters

    def split(text):
        return tuple(t.strip() for t in text.split(",") if t.strip()) if text else None

    start, end = _years(args.years)
    kw = dict(country=split(args.country), state=split(args.state),
              months=tuple(int(m) for m in split(args.months)) if args.months else None,
              date=(start, end) if start else None)
    if not args.no_best_practice:
        kw.update(BEST_PRACTICE)  # the library's constant, also the defaults of `jsdm-hot prepare`
    return EbirdFilters(**{k: v for k, v in kw.items() if v is not None})


def text_extras_only(data):
    """Keep only the non-empty text checklist fields (date, ids, protocol, ...) as extra columns.

    Numeric checklist fields (raw duration, distance, observers) duplicate the effort
    covariates and, being numeric, would be read back as covariates by
    :func:`jsdm_hot.data.tables.read_wide_csv` (with NaN for stationary distance);
    so would an all-empty text column (e.g. ``county_code`` outside the US).
    """
    from dataclasses import replace

    if data.extra is None:
        return data
    import pandas as pd

    text = [c for c in data.extra.columns
            if not pd.api.types.is_numeric_dtype(data.extra[c]) and data.extra[c].notna().any()
            and not (data.extra[c].astype(str).str.strip() == "").all()]
    return replace(data, extra=data.extra[text].reset_index(drop=True))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from jsdm_hot.data.ebird import BEST_PRACTICE_MIN_DETECTIONS, EBD_REQUIRED, SAMPLING_REQUIRED, load_ebird, read_header
    from jsdm_hot.data.tables import write_wide_csv

    read_header(args.ebd, EBD_REQUIRED, "EBD")              # clear errors before any heavy work
    read_header(args.sampling, SAMPLING_REQUIRED, "sampling")
    filters = build_filters(args)
    species = [s.strip() for s in args.species.split(",")] if args.species else None
    data = load_ebird(args.ebd, args.sampling, filters=filters, taxonomy=args.taxonomy, species=species,
                      min_detections=BEST_PRACTICE_MIN_DETECTIONS if args.min_detections is None else args.min_detections,
                      memory_limit=args.memory_limit)
    if args.subsample_km:
        from jsdm_hot.data.splits import spatiotemporal_subsample

        data = spatiotemporal_subsample(data, args.subsample_km, seed=args.seed)
    data = text_extras_only(data)
    write_wide_csv(data, args.out)
    print(f"{data.n_sites} checklists x {data.n_species} species, {data.n_features} effort covariates -> {args.out}")
    return 0


def run(argv: list[str] | None = None) -> int:
    """``main`` with jsdm-hot input errors turned into a one-line message and exit status 2."""
    from jsdm_hot.errors import JsdmHotError

    try:
        return main(argv)
    except JsdmHotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run())
