"""Exception types raised by jsdm-hot.

Every error caused by the user's input derives from :class:`JsdmHotError`, so a
caller (the CLI, a notebook) can catch one type and show its message. Messages
name the file, row, column or species at fault and say what was expected.
"""

from __future__ import annotations

__all__ = [
    "JsdmHotError",
    "InputDataError",
    "ModelFileError",
    "NotFittedError",
    "TreeError",
]


class JsdmHotError(Exception):
    """Base class of all errors jsdm-hot raises on bad input or state."""


class InputDataError(JsdmHotError, ValueError):
    """A data file or array does not have the expected content or shape."""


class TreeError(JsdmHotError, ValueError):
    """A phylogeny cannot be read or reconciled with the species in the data."""


class ModelFileError(JsdmHotError, ValueError):
    """A saved model directory is missing, foreign, tampered or from another version."""


class NotFittedError(JsdmHotError, AttributeError):
    """An estimator method that needs a fitted model was called before ``fit``."""
