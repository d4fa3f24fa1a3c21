"""The package version (one place; read by the package and by model files)."""

__version__ = "0.2.0"
