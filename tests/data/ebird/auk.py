"""The auk EBD samples (../shared/data/ebird_auk) and helpers to write broken copies (not a test module)."""

from __future__ import annotations

import csv
from pathlib import Path

from conftest import require_shared_data


def auk() -> Path:
    """The folder of the auk EBD samples; skips the test when it is absent."""
    return require_shared_data("ebird_auk")


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a tab-separated EBD-style file."""
    with open(path, newline="") as fh:
        r = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return r[0], r[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write ``header`` and ``rows`` as a tab-separated file; returns ``path``."""
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    return path
