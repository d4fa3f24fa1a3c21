"""Which sites explain a model: the held-out ones, never the ones it was trained on."""

from __future__ import annotations

import logging

import numpy as np

from jsdm_hot.data.community import CommunityData
from jsdm_hot.data.splits import train_test_split

__all__ = ["explain_sites"]

logger = logging.getLogger(__name__)


def explain_sites(model, data: CommunityData, *, test_fraction: float = 0.2, split: str = "random", seed: int = 0,
                  block_km: float = 50.0) -> tuple[CommunityData | None, CommunityData]:
    """``(training sites, held-out sites)`` of ``data`` for explaining ``model``.

    The held-out sites recorded in ``model.metadata_`` (``jsdm-hot fit`` records
    them) win; otherwise the split of :func:`jsdm_hot.data.splits.train_test_split`
    is redrawn with the same settings as ``fit`` (``test_fraction=0``: every site
    is held out and the training part is None).
    """
    test_ids = set(map(str, model.metadata_.get("test_site_ids") or []))
    if test_ids:
        held = np.isin(np.asarray(data.site_ids).astype(str), list(test_ids))
        if held.any():
            logger.info("explaining on the %d held-out sites recorded in the model", int(held.sum()))
            return (data.subset(~held) if (~held).any() else None), data.subset(held)
        logger.warning("none of the held-out sites recorded in the model are in %s; redrawing the split", data.source)
    train, test = train_test_split(data, test_fraction, kind=split, block_km=block_km, seed=seed)
    return (None, data) if test is None else (train, test)
