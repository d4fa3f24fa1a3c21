"""The ``jsdm-hot`` command line: a thin typer layer over the public Python API.

Each command group lives in its own module and registers itself on :data:`app`
when imported; the list of modules is :data:`_COMMAND_MODULES`.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from jsdm_hot.errors import JsdmHotError

__all__ = ["app", "main"]

app = typer.Typer(
    name="jsdm-hot",
    help="Joint species distribution modelling with HOT-VAE: fit, predict, evaluate, map.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = [
    "jsdm_hot.cli.model_commands",
    "jsdm_hot.cli.simulate",
    "jsdm_hot.cli.tree",
    "jsdm_hot.cli.map",
    "jsdm_hot.cli.prepare",
    "jsdm_hot.cli.benchmark",
    "jsdm_hot.cli.explain",
]

for _name in _COMMAND_MODULES:
    importlib.import_module(_name)


def main() -> None:
    """Console entry point: run the app, turning jsdm-hot errors into a one-line message."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except JsdmHotError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)


if __name__ == "__main__":
    main()
