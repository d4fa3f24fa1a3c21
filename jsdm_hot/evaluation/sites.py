"""Which sites to score: never training sites by accident.

``jsdm-hot fit`` records the training and held-out site ids in the model
(``model.metadata_``); scoring a table that contains training sites flatters
the model, so it is flagged here, and the held-out sites can be selected.
"""

from __future__ import annotations

import logging

import numpy as np

from jsdm_hot.data.community import CommunityData
from jsdm_hot.errors import InputDataError

__all__ = ["scoring_sites"]

logger = logging.getLogger(__name__)


def scoring_sites(model, data: CommunityData, *, held_out: bool = False) -> CommunityData:
    """The sites of ``data`` to score ``model`` on.

    Parameters
    ----------
    model : fitted estimator
        Its ``metadata_`` may hold ``train_site_ids`` / ``test_site_ids`` (written by ``jsdm-hot fit``).
    data : CommunityData
    held_out : bool, default=False
        Keep only the sites recorded as held out; otherwise keep all and log a
        WARNING when some of them were used for training.

    Returns
    -------
    CommunityData

    Raises
    ------
    InputDataError
        ``held_out`` without recorded held-out sites, or none of them in ``data``.
    """
    meta = model.metadata_
    ids = np.asarray(data.site_ids).astype(str)
    if held_out:
        test = set(map(str, meta.get("test_site_ids") or []))
        if not test:
            raise InputDataError("this model records no held-out sites (fit with --test-frac > 0 records them)")
        keep = np.isin(ids, list(test))
        if not keep.any():
            raise InputDataError(f"none of the {len(test)} held-out sites recorded in the model are in {data.source}")
        logger.info("scoring the %d held-out sites (of %d in the table)", int(keep.sum()), data.n_sites)
        return data.subset(keep)
    train = set(map(str, meta.get("train_site_ids") or []))
    n_train = int(np.isin(ids, list(train)).sum()) if train else 0
    if n_train:
        logger.warning("%d of the %d sites scored were used to fit the model: their scores are optimistic; "
                       "use --held-out (held_out=True) to score only the sites held out at fit time",
                       n_train, data.n_sites)
    return data
