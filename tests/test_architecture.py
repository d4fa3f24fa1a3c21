"""The package's shape, checked: layers, the module map in docs/architecture.md, a thin CLI, small modules."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "jsdm_hot"
DOC = ROOT / "docs" / "architecture.md"

#: Modules allowed above MAX_LINES; docs/architecture.md says why each is one thing.
MAX_LINES = 520


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def test_import_contracts_hold():
    """import-linter's contracts in pyproject.toml (layers, pure model/metrics, torch-free data layer)."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.fail("lint-imports is not installed (it is a dev dependency: pip install -e '.[dev]')")
    res = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_architecture_doc_names_every_module_and_only_real_ones():
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"`(jsdm_hot/[\w/]+\.py)`", text))
    real = {_rel(p) for p in _modules()}
    missing_files = sorted(named - real)
    assert not missing_files, f"docs/architecture.md names modules that do not exist: {missing_files}"
    undocumented = sorted(m for m in real - named if not m.endswith("__init__.py") and not m.endswith("__main__.py"))
    assert not undocumented, f"modules missing from docs/architecture.md: {undocumented}"


def test_long_modules_are_explained():
    text = DOC.read_text(encoding="utf-8")
    long = [(_rel(p), n) for p in _modules() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    section = text.split("## Long modules", 1)[-1] if "## Long modules" in text else ""
    unexplained = [(m, n) for m, n in long if f"`{m}`" not in section]
    assert not unexplained, f"modules over {MAX_LINES} lines without a note under '## Long modules': {unexplained}"


def _is_command(fn: ast.FunctionDef) -> bool:
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if isinstance(target, ast.Attribute) and target.attr in ("command", "callback"):
            return True
    return False


@pytest.mark.parametrize("path", sorted((PKG / "cli").glob("*.py")), ids=lambda p: p.name)
def test_cli_defines_no_library_logic(path: Path):
    """A CLI module parses options and calls the API: no classes, only short helpers besides the commands."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    assert not classes, f"{path.name} defines classes {classes}: library code belongs in the package, not the CLI"
    for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
        n_lines = fn.end_lineno - fn.lineno + 1
        body = fn.body[1:] if fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(getattr(fn.body[0], "value", None), ast.Constant) else fn.body
        stmt_lines = sum(s.end_lineno - s.lineno + 1 for s in body)
        if _is_command(fn):
            assert stmt_lines <= 60, f"{path.name}:{fn.name} runs {stmt_lines} lines of logic; move it into the library"
        else:
            assert n_lines <= 40, f"{path.name}:{fn.name} is a {n_lines}-line helper; move it into the library"
    banned = {"torch", "sklearn", "scipy"}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            hit = [n for n in names if n.split(".")[0] in banned]
            assert not hit, f"{path.name} imports {hit}: numerical work belongs in the library"
