"""Mutation testing of the core modules with mutmut 3: a benchmark, not a CI step.

The configuration is the ``[tool.mutmut]`` section of ``pyproject.toml`` (which files
are mutated, which test files run, the per-mutant CPU-time limit). mutmut records which
tests reach each function, so every mutant runs only the tests that call the mutated
function (``-x``: the first failure kills it).

Usage, from the repository root::

    python benchmarks/mutation.py run io metrics         # mutate and test one group at a time
    python benchmarks/mutation.py run training --max-children 1
    python benchmarks/mutation.py summary                # Markdown table by module
    python benchmarks/mutation.py survivors metrics      # surviving mutants not judged equivalent
    python benchmarks/mutation.py show jsdm_hot.io.x_read_model__mutmut_7

Surviving mutants judged equivalent (or irrelevant: log text, error-message wording)
are listed with the reason in ``benchmarks/mutation_equivalent.tsv`` (``mutant<TAB>reason``);
the summary reports the kill rate over the others. Mutant numbers are mutmut's and
change when a function's source changes: re-judge the survivors of a changed function.

mutmut 3 mutates function and method bodies only: module-level constants, class bodies
(dataclass fields) and functions with a decorator other than ``staticmethod`` /
``classmethod`` (``property``, ``torch.no_grad``) are left alone; the summary counts
what exists.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).with_name("mutmut")
EQUIVALENT = ROOT / "benchmarks" / "mutation_equivalent.tsv"

#: mutmut name patterns of each group (run one group at a time on a small machine).
GROUPS = {
    "io": ["jsdm_hot.io.*"],
    "metrics": ["jsdm_hot.metrics.*"],
    "training": ["jsdm_hot.training.*"],
    "model": ["jsdm_hot.model.*"],
    "estimators": ["jsdm_hot.estimators.*"],
}

# mutmut's exit-code meaning (mutmut.stats.status_by_exit_code).
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          -11: "segfault", -9: "segfault", None: "not checked"}


def load_results() -> dict[str, dict[str, str]]:
    """Status of every mutant, ``{file: {mutant: status}}``, from mutmut's ``mutants/**/*.meta``."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        name = str(meta.relative_to(ROOT / "mutants"))[: -len(".meta")]
        for mutant, code in codes.items():
            out[name][mutant] = STATUS.get(code, "suspicious")
    return dict(out)


def load_equivalent() -> dict[str, str]:
    """``{mutant: reason}`` of the survivors judged equivalent or irrelevant."""
    if not EQUIVALENT.exists():
        return {}
    rows = [line.split("\t", 1) for line in EQUIVALENT.read_text().splitlines() if line and not line.startswith("#")]
    return {name.strip(): reason.strip() for name, reason in rows}


def summary() -> str:
    """Markdown table: mutants, killed, survived, timeouts, no tests and the kill rate by file."""
    results, equivalent = load_results(), load_equivalent()
    header = ("| module | mutants | killed | timeout | survived | equivalent | no tests | not run | "
              "killed / non-equivalent |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines, total = [header], Counter()
    for name, statuses in sorted(results.items()):
        c = Counter(statuses.values())
        eq = sum(1 for m, s in statuses.items() if s == "survived" and m in equivalent)
        row = Counter(mutants=len(statuses), killed=c["killed"] + c["segfault"], timeout=c["timeout"],
                      survived=c["survived"] - eq, equivalent=eq, no_tests=c["no tests"],
                      not_run=c["not checked"] + c["skipped"] + c["suspicious"])
        total.update(row)
        lines.append(_row(name, row))
    lines.append(_row("**all**", total))
    return "\n".join(lines)


def _row(name: str, c: Counter) -> str:
    judged = c["mutants"] - c["equivalent"] - c["not_run"]
    rate = f"{100 * (c['killed'] + c['timeout']) / judged:.1f} %" if judged else "–"
    return (f"| {name} | {c['mutants']} | {c['killed']} | {c['timeout']} | {c['survived']} | {c['equivalent']} | "
            f"{c['no_tests']} | {c['not_run']} | {rate} |")


def survivors(groups: list[str]) -> list[str]:
    """Surviving (and untested) mutants of the groups that are not listed as equivalent."""
    results, equivalent = load_results(), load_equivalent()
    prefixes = [p.rstrip("*") for g in groups for p in GROUPS[g]] or [""]
    return sorted(m for statuses in results.values() for m, s in statuses.items()
                  if s in ("survived", "no tests") and m not in equivalent and m.startswith(tuple(prefixes)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="mutate and test the groups (or named mutants)")
    run.add_argument("groups", nargs="+", help=f"groups {sorted(GROUPS)} or mutmut mutant names")
    run.add_argument("--max-children", type=int, default=2)
    sub.add_parser("summary", help="Markdown table by module")
    surv = sub.add_parser("survivors", help="survivors not judged equivalent")
    surv.add_argument("groups", nargs="*", choices=sorted(GROUPS))
    show = sub.add_parser("show", help="the diff of mutants")
    show.add_argument("mutants", nargs="+")
    args = parser.parse_args(argv)

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)  # mutmut puts mutants/ first on the path itself
    if args.command == "run":
        names = [p for g in args.groups for p in GROUPS.get(g, [g])]
        cmd = [str(MUTMUT), "run", "--max-children", str(args.max_children), *names]
        print("$", " ".join(cmd), flush=True)
        return subprocess.call(cmd, cwd=ROOT, env=env)
    if args.command == "summary":
        print(summary())
    elif args.command == "survivors":
        print("\n".join(survivors(args.groups)))
    elif args.command == "show":
        for mutant in args.mutants:
            subprocess.call([str(MUTMUT), "show", mutant], cwd=ROOT, env=env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
