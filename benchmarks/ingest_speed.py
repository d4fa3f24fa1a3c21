"""Ingest speed: DuckDB zero-fill (jsdm_hot.data.ebird.zero_fill) vs a pandas chunked reader.

Builds a synthetic EBD extract of ``--size-gb`` GB (default 2) and its sampling-event
file by replicating the real auk sample pair (``../shared/data/ebird_auk/
zerofill-ex_*.txt``) with new checklist / group / observation ids; each observation
row is also repeated under ``--species-variants`` renamed species (``"Halcyon
smyrnensis v3"``) so checklists carry ~10 species, like a real EBD, and the EBD is
~6× the size of the sampling file. Files go to a temporary folder (``--tmpdir``) and
are deleted afterwards (unless ``--keep``).

Each implementation runs in its own subprocess, which reports wall time and its peak
RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``); both must give identical
presence/absence tables (checked by a digest).

Usage::

    python benchmarks/ingest_speed.py --size-gb 2 --record benchmarks/results/ingest_speed.md
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
AUK = ROOT.parent / "shared" / "data" / "ebird_auk"

SEI, GROUP = "SAMPLING EVENT IDENTIFIER", "GROUP IDENTIFIER"
TOKEN = "\x00"


# ----------------------------------------------------------------------------- synthetic data
def _templates(species_variants: int) -> tuple[str, str, str, str, int, int]:
    """Header lines and per-replica text templates (TOKEN = replica number)."""
    def read(p):
        lines = p.read_text().splitlines()
        return lines[0], [ln.split("\t") for ln in lines[1:]]

    eh, erows = read(AUK / "zerofill-ex_ebd.txt")
    sh, srows = read(AUK / "zerofill-ex_sampling.txt")
    ecol = {c: i for i, c in enumerate(eh.split("\t"))}
    scol = {c: i for i, c in enumerate(sh.split("\t"))}
    s_lines = []
    for r in srows:
        r = list(r)
        r[scol[SEI]] += f"r{TOKEN}"
        if r[scol[GROUP]]:
            r[scol[GROUP]] += f"r{TOKEN}"
        s_lines.append("\t".join(r))
    e_lines = []
    for v in range(species_variants):
        for r in erows:
            r = list(r)
            r[ecol["GLOBAL UNIQUE IDENTIFIER"]] += f"r{TOKEN}v{v}"
            r[ecol[SEI]] += f"r{TOKEN}"
            if r[ecol[GROUP]]:
                r[ecol[GROUP]] += f"r{TOKEN}"
            if v:
                r[ecol["SCIENTIFIC NAME"]] += f" v{v}"
                r[ecol["COMMON NAME"]] += f" v{v}"
            e_lines.append("\t".join(r))
    return eh, sh, "\n".join(e_lines) + "\n", "\n".join(s_lines) + "\n", len(e_lines), len(s_lines)


def make_synthetic(folder: Path, size_gb: float, species_variants: int = 10) -> dict:
    eh, sh, eblock, sblock, ne, ns = _templates(species_variants)
    approx = len(eblock.encode()) + 5
    n_rep = max(1, int(np.ceil(size_gb * 1e9 / approx)))
    ebd, sam = folder / "ebd.txt", folder / "sampling.txt"
    t0 = time.perf_counter()
    with open(ebd, "w") as fe, open(sam, "w") as fs:
        fe.write(eh + "\n")
        fs.write(sh + "\n")
        for r in range(n_rep):
            tag = str(r)
            fe.write(eblock.replace(TOKEN, tag))
            fs.write(sblock.replace(TOKEN, tag))
    return {"ebd": str(ebd), "sampling": str(sam), "replicas": n_rep, "ebd_rows": n_rep * ne, "sampling_rows": n_rep * ns,
            "ebd_bytes": ebd.stat().st_size, "sampling_bytes": sam.stat().st_size, "generate_s": time.perf_counter() - t0}


# ----------------------------------------------------------------------------- implementations
KEEP_CATEGORIES = ("species", "issf", "form", "intergrade")
FIELDS = ["LATITUDE", "LONGITUDE", "OBSERVATION DATE", "TIME OBSERVATIONS STARTED", "DURATION MINUTES",
          "EFFORT DISTANCE KM", "NUMBER OBSERVERS", "PROTOCOL NAME"]


def pandas_zero_fill(ebd: str, sampling: str, chunksize: int = 500_000) -> tuple[list, list, np.ndarray]:
    """Reference: the same zero-fill with pandas ``read_csv(chunksize=...)`` (complete, approved,
    groups collapsed keeping the smallest sampling event id, roll-up by CATEGORY, counts checked)."""
    kw = dict(sep="\t", quoting=3, dtype=str, keep_default_na=False, chunksize=chunksize, engine="c")
    parts = []
    for ch in pd.read_csv(sampling, usecols=[SEI, GROUP, "ALL SPECIES REPORTED", *FIELDS], **kw):
        ch = ch[ch["ALL SPECIES REPORTED"] == "1"]
        ch = ch.assign(checklist_id=ch[GROUP].where(ch[GROUP] != "", ch[SEI]))
        if pd.to_datetime(ch["OBSERVATION DATE"], format="%Y-%m-%d", errors="coerce").isna().any():
            raise ValueError("bad date in sampling file")
        parts.append(ch.drop(columns=["ALL SPECIES REPORTED"]))
    s = pd.concat(parts, ignore_index=True)
    s = s.sort_values(SEI).drop_duplicates("checklist_id").sort_values("checklist_id")
    del parts
    dets = []
    for ch in pd.read_csv(ebd, usecols=[SEI, GROUP, "SCIENTIFIC NAME", "CATEGORY", "OBSERVATION COUNT",
                                        "ALL SPECIES REPORTED", "APPROVED", "OBSERVATION DATE"], **kw):
        ch = ch[(ch["ALL SPECIES REPORTED"] == "1") & (ch["APPROVED"] == "1")]
        cnt = ch["OBSERVATION COUNT"]
        if not (cnt.eq("X") | cnt.str.fullmatch(r"[0-9]+")).all():
            raise ValueError("bad count")
        if pd.to_datetime(ch["OBSERVATION DATE"], format="%Y-%m-%d", errors="coerce").isna().any():
            raise ValueError("bad date in EBD")
        ch = ch[ch["CATEGORY"].str.lower().isin(KEEP_CATEGORIES)]
        cid = ch[GROUP].where(ch[GROUP] != "", ch[SEI])
        dets.append(pd.DataFrame({"checklist_id": cid.to_numpy(), "species": ch["SCIENTIFIC NAME"].to_numpy()}).drop_duplicates())
    det = pd.concat(dets, ignore_index=True).drop_duplicates()
    del dets
    ids = s["checklist_id"].to_numpy()
    species = sorted(det["species"].unique())
    Y = np.zeros((len(ids), len(species)), np.uint8)
    r = pd.Index(ids).get_indexer(det["checklist_id"])
    c = pd.Index(species).get_indexer(det["species"])
    if (r < 0).any():
        raise ValueError("EBD checklist missing from sampling file")
    Y[r, c] = 1
    return list(ids), species, Y


def duckdb_zero_fill(ebd: str, sampling: str, memory_limit: str, threads: int | None):
    from jsdm_hot.data.ebird import zero_fill

    wide = zero_fill(ebd, sampling, memory_limit=memory_limit, threads=threads)
    sp = wide.attrs["species"]
    return list(wide["checklist_id"]), list(sp), wide[sp].to_numpy(np.uint8)


def _child(args) -> None:
    t_import = time.perf_counter()
    if args.child == "duckdb":  # import cost (jsdm_hot, duckdb) is reported apart from the zero-fill time
        import duckdb  # noqa: F401

        import jsdm_hot.data.ebird  # noqa: F401
    t_import = time.perf_counter() - t_import
    import_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = ru0.ru_utime + ru0.ru_stime
    t0 = time.perf_counter()
    if args.child == "duckdb":
        ids, sp, Y = duckdb_zero_fill(args.ebd, args.sampling, args.memory_limit, args.threads)
    else:
        ids, sp, Y = pandas_zero_fill(args.ebd, args.sampling, args.chunksize)
    wall = time.perf_counter() - t0
    h = hashlib.sha1()
    h.update("\n".join(ids).encode())
    h.update("\n".join(sp).encode())
    h.update(np.ascontiguousarray(Y).tobytes())
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb = ru.ru_maxrss / 1024  # KiB on Linux
    cpu_s = ru.ru_utime + ru.ru_stime - cpu0
    json.dump({"impl": args.child, "wall_s": wall, "cpu_s": cpu_s, "import_s": t_import, "peak_rss_mb": rss_mb, "import_rss_mb": import_rss_mb, "n_checklists": len(ids),
               "n_species": len(sp), "n_presences": int(Y.sum()), "digest": h.hexdigest()}, sys.stdout)


# ----------------------------------------------------------------------------- driver
def read_floor(ebd: str, sampling: str) -> list[tuple[str, float, float]]:
    """Time a bare scan of both files (every row tokenised, nothing else) by each library.

    No zero-fill can finish faster than the fastest bare scan, so
    ``pandas zero-fill time / fastest scan`` bounds the speed-up any implementation
    can reach over the pandas reference on this machine.

    Returns
    -------
    list of (reader, wall s, CPU s)
    """
    import duckdb
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def pandas_scan(path):
        for _ in pd.read_csv(path, sep="\t", usecols=[0], dtype=str, chunksize=500_000, quoting=3):
            pass

    def arrow_scan(path):
        first = open(path).readline().split("\t")[0]
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 24),
                                parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
                                convert_options=pacsv.ConvertOptions(include_columns=[first],
                                                                     column_types={first: pa.string()}))
        for _ in reader:
            pass

    con = duckdb.connect()

    def duckdb_scan(path):
        con.execute(f"SELECT count(*) FROM read_csv('{path}', delim='\t', quote='', escape='', header=true, "
                    "all_varchar=true)").fetchall()

    rows = []
    for name, fn in (("duckdb read_csv", duckdb_scan), ("pyarrow.csv stream", arrow_scan), ("pandas C parser", pandas_scan)):
        w, c = time.perf_counter(), time.process_time()
        fn(ebd)
        fn(sampling)
        rows.append((name, time.perf_counter() - w, time.process_time() - c))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-gb", type=float, default=2.0, help="size of the synthetic EBD file (GB, 1e9 bytes)")
    p.add_argument("--species-variants", type=int, default=10)
    p.add_argument("--impls", default="duckdb,pandas")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit")
    p.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    p.add_argument("--chunksize", type=int, default=500_000, help="pandas rows per chunk")
    p.add_argument("--tmpdir", default=None)
    p.add_argument("--keep", action="store_true", help="keep the synthetic files")
    p.add_argument("--record", default=None, help="append the result table to this markdown file")
    p.add_argument("--read-floor", action="store_true", help="also time bare scans of the files (the speed-up bound)")
    p.add_argument("--child", choices=["duckdb", "pandas"], help=argparse.SUPPRESS)
    p.add_argument("--ebd", help=argparse.SUPPRESS)
    p.add_argument("--sampling", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    if not AUK.is_dir():
        print(f"need the auk samples in {AUK}", file=sys.stderr)
        return 1
    folder = Path(tempfile.mkdtemp(prefix="jsdm_ingest_", dir=args.tmpdir))
    try:
        meta = make_synthetic(folder, args.size_gb, args.species_variants)
        print(f"synthetic EBD: {meta['ebd_bytes'] / 1e9:.2f} GB, {meta['ebd_rows']:,} rows; sampling: "
              f"{meta['sampling_bytes'] / 1e9:.2f} GB, {meta['sampling_rows']:,} rows; generated in {meta['generate_s']:.0f} s",
              flush=True)
        results = []
        for impl in args.impls.split(","):
            cmd = [sys.executable, __file__, "--child", impl, "--ebd", meta["ebd"], "--sampling", meta["sampling"],
                   "--memory-limit", args.memory_limit, "--chunksize", str(args.chunksize)]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            total_bytes = meta["ebd_bytes"] + meta["sampling_bytes"]
            res["ebd_rows_per_s"] = meta["ebd_rows"] / res["wall_s"]
            res["mb_per_s"] = total_bytes / 1e6 / res["wall_s"]
            results.append(res)
            print(json.dumps(res), flush=True)
        digests = {r["digest"] for r in results}
        same = len(digests) == 1
        lines = [
            f"### {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — EBD {meta['ebd_bytes'] / 1e9:.2f} GB "
            f"({meta['ebd_rows']:,} rows) + sampling {meta['sampling_bytes'] / 1e9:.2f} GB ({meta['sampling_rows']:,} rows)",
            "",
            f"Machine: {platform.platform()}, {os.cpu_count()} CPUs (shared), Python {platform.python_version()}; "
            f"DuckDB memory_limit={args.memory_limit}, threads={args.threads or 'all'}; pandas chunksize={args.chunksize:,}. "
            f"Result: {results[0]['n_checklists']:,} checklists × {results[0]['n_species']} species, "
            f"{results[0]['n_presences']:,} presences; identical outputs: {same}.",
            "",
            "| implementation | zero-fill wall (s) | CPU (s, user+sys) | EBD rows/s | MB/s (EBD + sampling) | peak RSS (MB) | RSS after imports (MB) | imports (s, not in wall) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in results:
            lines.append(f"| {r['impl']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['ebd_rows_per_s']:,.0f} | {r['mb_per_s']:.1f} | {r['peak_rss_mb']:.0f} | {r['import_rss_mb']:.0f} | {r['import_s']:.1f} |")
        if len(results) == 2:
            a, b = results
            lines += ["", f"Speed-up {a['impl']} vs {b['impl']}: {b['wall_s'] / a['wall_s']:.1f}× wall, "
                          f"{b['cpu_s'] / a['cpu_s']:.1f}× CPU time."]
        if args.read_floor:
            floor = read_floor(meta["ebd"], meta["sampling"])
            lines += ["", "Bare scan of both files (tokenising every row, no filtering or zero-fill), same data:", "",
                      "| reader | wall (s) | CPU (s) |", "| --- | ---: | ---: |"]
            lines += [f"| {name} | {w:.1f} | {c:.1f} |" for name, w, c in floor]
            pandas = next((r for r in results if r["impl"] == "pandas"), None)
            if pandas:
                best = min(w for _, w, _ in floor)
                lines += ["", f"Upper bound on any zero-fill's speed-up over the pandas reference here: "
                              f"{pandas['wall_s']:.1f} s / {best:.1f} s (fastest bare scan) = {pandas['wall_s'] / best:.1f}×."]
        text = "\n".join(lines) + "\n"
        print(text)
        if args.record:
            with open(args.record, "a") as fh:
                fh.write("\n" + text)
        return 0 if same else 3
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
