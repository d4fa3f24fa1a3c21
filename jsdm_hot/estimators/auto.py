"""HotVAE's data- and device-aware defaults (``"auto"``): each a documented rule, resolved in ``fit`` and logged.

* ``graph="auto"``: ``"phylo+prior"`` when a ``tree`` is given (related *or*
  co-occurring species attend to each other; the best maF1 of the roccupy graph
  ablation, ``benchmarks/results/graph_ablation.md``), else ``"complete"``.
* ``lambda2="auto"`` (ranking-loss weight, Eq 16): 0 when the training sites hold
  fewer than :data:`SPARSE_RICHNESS` species on average (checklist data), else 1
  (the paper's grid minimum). On the sparse eBird roccupy checklists (about one
  species per checklist) ``lambda2=1`` predicted a mean richness of 2.7–2.9
  against 0.97 observed, ``lambda2=0`` 0.91 (issue 15); on the dense tarentaise
  communities (nine species per site) ``lambda2=1`` was better (maF1 0.316 vs 0.303).
* ``d_model="auto"``: the paper's 200 on a GPU; :data:`CPU_D_MODEL` on a CPU, so
  a first fit on a laptop takes minutes, not a quarter of an hour.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

__all__ = ["SPARSE_RICHNESS", "CPU_D_MODEL", "GPU_D_MODEL", "resolve_model_values"]

logger = logging.getLogger(__name__)

#: ``lambda2="auto"`` is 0 below this mean number of species per training site.
SPARSE_RICHNESS = 3.0
#: ``d_model="auto"`` on a CPU.
CPU_D_MODEL = 64
#: ``d_model="auto"`` on a GPU (the paper's grid value 200).
GPU_D_MODEL = 200


def resolve_model_values(values: dict[str, Any], *, richness: float, device: torch.device) -> dict[str, Any]:
    """Network settings with ``"auto"`` replaced (see the module docstring).

    Parameters
    ----------
    values : dict
        HotVAE's network parameters (the fields of :class:`~jsdm_hot.model.config.ModelConfig`).
    richness : float
        Mean number of species per training site.
    device : torch.device

    Returns
    -------
    dict
        ``values`` with every ``"auto"`` resolved.
    """
    values = dict(values)
    if values["d_model"] == "auto":
        values["d_model"] = GPU_D_MODEL if device.type == "cuda" else CPU_D_MODEL
        logger.info("d_model='auto': %d on %s", values["d_model"], device.type)
    if values["lambda2"] == "auto":
        if richness < SPARSE_RICHNESS:
            values["lambda2"] = 0.0
            logger.warning("lambda2='auto': 0 (no ranking loss) because the training sites hold %.2f species on "
                           "average (< %g, sparse checklist-like data, where the ranking loss inflates richness); "
                           "set lambda2 to override", richness, SPARSE_RICHNESS)
        else:
            values["lambda2"] = 1.0
            logger.info("lambda2='auto': 1 (%.2f species per training site on average)", richness)
    return values
