"""LaMP: label message passing (Lanchantin, Sekhon & Qi, ECML-PKDD 2019), without a VAE.

HOT-VAE's decoder grew out of LaMP; LaMP is the same idea with a deterministic
feature embedding in place of the latent subspaces. As in the paper and its
public code (``QData/LaMP``, ``lamp/Models.py``, ``Layers.py``, ``Encoders.py``) for
vector (non-sequential) inputs:

* **Feature encoder** (``MLPEncoder`` of the code): one linear map of ``x`` to
  ``n_tokens`` feature node(s) of width ``d_model`` (the code has one token).
* **Label nodes**: learnt embeddings ``E ∈ R^{L×d}``, one per species.
* **Each layer** (``DecoderLayer`` of the code): feature→label attention (species
  nodes query the feature nodes) then a position-wise feed-forward network, then
  label→label self-attention restricted by the label graph mask then a second
  feed-forward network; every sublayer is post-norm ``LayerNorm(u + Dropout(f(u)))``.
* **Readout** (the code's ``proj_share_weight``): ``logit_i = u_i · E_i`` — the
  projection shares its weights with the label embeddings, without bias.
* **Loss**: binary cross-entropy (the code's ``-loss ce``), Adam.

Deviations (ours): the label embeddings start at ``N(0, 1/d)`` (the code's
``nn.Embedding`` starts at ``N(0, 1)``, giving initial logits of size ``√d``);
the optional intermediate-prediction loss of the code is left out; early
stopping is on validation maF1 (the code keeps the best validation epoch too).
The label graph ``mask[i, j]`` (True = species i may attend to j, diagonal
always True) and an optional additive ``bias`` come from
:class:`jsdm_hot.graph.LabelGraph`, as for HOT-VAE.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import nn

from jsdm_hot.baselines.torch_base import TorchBaseline, check_positive_ints
from jsdm_hot.errors import InputDataError
from jsdm_hot.estimators.base import JsdmEstimator

__all__ = ["LaMP", "LaMPModule"]

log = logging.getLogger(__name__)


class _FeedForward(nn.Module):
    """``LayerNorm(u + Dropout(W2 relu(W1 u)))`` (the code's ``PositionwiseFeedForward``)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.norm(u + self.drop(self.net(u)))


class _LaMPLayer(nn.Module):
    """Feature→label attention + FFN, then masked label→label attention + FFN."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.enc_attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(d_model)
        self.ff1 = _FeedForward(d_model, d_ff, dropout)
        self.self_attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff2 = _FeedForward(d_model, d_ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, u: torch.Tensor, tokens: torch.Tensor, attn_mask: torch.Tensor) -> torch.Tensor:
        """u (B, L, d), tokens (B, T, d), attn_mask (L, L) float additive → (B, L, d)."""
        a, _ = self.enc_attn(u, tokens, tokens, need_weights=False)
        u = self.ff1(self.norm1(u + self.drop(a)))
        a, _ = self.self_attn(u, u, u, attn_mask=attn_mask, need_weights=False)
        return self.ff2(self.norm2(u + self.drop(a)))


class LaMPModule(nn.Module):
    """The LaMP network (tensors only).

    Parameters
    ----------
    n_features, n_species : int
    d_model : int
        Width of feature and species nodes.
    n_layers : int
        Message-passing layers.
    n_heads : int
        Attention heads (must divide ``d_model``).
    d_ff : int
        Hidden width of the feed-forward sublayers (the code: ``2 d_model``).
    dropout : float
    n_tokens : int
        Feature nodes made from ``x`` (the code: 1).
    mask : ndarray of shape (n_species, n_species), bool, optional
        Label→label attention mask (default: complete).
    bias : ndarray of shape (n_species, n_species), optional
        Additive attention bias on allowed pairs.

    Buffers ``attn_mask`` (bool) and ``attn_bias`` (float) hold the graph, so it is
    saved with the weights.
    """

    def __init__(self, n_features: int, n_species: int, d_model: int, n_layers: int, n_heads: int, d_ff: int,
                 dropout: float, n_tokens: int = 1, mask: np.ndarray | None = None,
                 bias: np.ndarray | None = None) -> None:
        super().__init__()
        L, d = int(n_species), int(d_model)
        self.n_species = L
        self.n_tokens, self.d_model = int(n_tokens), d
        self.encoder = nn.Linear(int(n_features), self.n_tokens * d)
        self.label_emb = nn.Parameter(torch.randn(L, d) / d ** 0.5)
        self.layers = nn.ModuleList(_LaMPLayer(d, int(n_heads), int(d_ff), float(dropout)) for _ in range(int(n_layers)))
        m = torch.ones(L, L, dtype=torch.bool) if mask is None else torch.as_tensor(np.asarray(mask, dtype=bool))
        m = m | torch.eye(L, dtype=torch.bool)
        b = torch.zeros(L, L) if bias is None else torch.as_tensor(np.asarray(bias, dtype=np.float32))
        self.register_buffer("attn_mask", m)
        self.register_buffer("attn_bias", b)

    def float_mask(self) -> torch.Tensor:
        """Additive (L, L) mask: ``attn_bias`` where allowed, ``-inf`` elsewhere."""
        neg = torch.full_like(self.attn_bias, float("-inf"))
        return torch.where(self.attn_mask, self.attn_bias, neg)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, L) from standardised covariates (B, p); ``y`` is not used (the training loop passes it)."""
        B = x.shape[0]
        tokens = self.encoder(x).view(B, self.n_tokens, self.d_model)
        u = self.label_emb.unsqueeze(0).expand(B, -1, -1)
        mask = self.float_mask().to(u.dtype)
        for layer in self.layers:
            u = layer(u, tokens, mask)
        return (u * self.label_emb.unsqueeze(0)).sum(-1)

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Binary cross-entropy (the code's ``-loss ce``)."""
        return {"loss": nn.functional.binary_cross_entropy_with_logits(logits.float(), y)}

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Occurrence probabilities (B, L)."""
        return torch.sigmoid(self.forward(x).float())


class LaMP(TorchBaseline, JsdmEstimator):
    """LaMP baseline behind the estimator contract (see the module docstring).

    Parameters
    ----------
    graph : {"complete", "prior"}, default="complete"
        Label graph built from the training occurrences when ``fit`` gets no
        ``label_graph`` (``prior``: species never co-occurring do not attend to each other).
    d_model : int, default=64
        Node width (code default 512; small for CPU speed).
    n_layers : int, default=2
    n_heads : int, default=4
    d_ff : int or None, default=None
        Feed-forward width; ``None`` = ``2 d_model`` (the code's rule).
    dropout : float, default=0.1
    n_tokens : int, default=1
    lr : float, default=1e-3
        (Code default 2e-4 for 50 epochs of much larger data.)
    weight_decay : float, default=0.0
    batch_size : int, default=64
    max_epochs : int, default=100
    patience : int, default=20
    val_fraction : float or None, default=0.1
        Share of the training sites held out (at random, seeded by ``random_state``)
        for the thresholds and early stopping when ``fit`` gets no validation data, as HotVAE does;
        ``None`` trains on all sites and uses thresholds of 0.5.
    threshold_mode : {"per_label", "global"}, default="per_label"
    device : str, default="auto"
    random_state : int or None, default=0

    Attributes
    ----------
    module_ : LaMPModule
    label_graph_ : LabelGraph
    best_epoch_ : int
    history_ : list of dict
    """

    _uses_label_graph = True

    def __init__(self, graph: str = "complete", d_model: int = 64, n_layers: int = 2, n_heads: int = 4,
                 d_ff: int | None = None, dropout: float = 0.1, n_tokens: int = 1, lr: float = 1e-3,
                 weight_decay: float = 0.0, batch_size: int = 64, max_epochs: int = 100, patience: int = 20,
                 val_fraction: float | None = 0.1, threshold_mode: str = "per_label", device: str = "auto",
                 random_state: int | None = 0) -> None:
        self.graph = graph
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.d_ff = d_ff
        self.dropout = dropout
        self.n_tokens = n_tokens
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.threshold_mode = threshold_mode
        self.device = device
        self.random_state = random_state

    # ---------------------------------------------------------------- hooks
    def _build_module(self, n_features: int, n_species: int, label_graph: Any) -> LaMPModule:
        d_ff = 2 * int(self.d_model) if self.d_ff is None else int(self.d_ff)
        mask = None if label_graph is None else label_graph.mask
        bias = None if label_graph is None else label_graph.bias
        return LaMPModule(n_features, n_species, int(self.d_model), int(self.n_layers), int(self.n_heads), d_ff,
                          float(self.dropout), int(self.n_tokens), mask, bias)

    def _validate_params(self) -> None:
        check_positive_ints("LaMP", self, ("d_model", "n_layers", "n_heads", "n_tokens", "batch_size", "max_epochs",
                                           "patience"))
        if int(self.d_model) % int(self.n_heads):
            raise InputDataError(f"LaMP: n_heads={self.n_heads} must divide d_model={self.d_model}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise InputDataError(f"LaMP: dropout must be in [0, 1), got {self.dropout}")
        if self.graph not in ("complete", "prior"):
            raise InputDataError(f"LaMP: graph must be 'complete' or 'prior', got {self.graph!r}")

    def _fit_core(self, X, Y, X_val, Y_val, label_graph) -> None:
        from jsdm_hot.graph import LabelGraph

        if label_graph is None:
            label_graph = LabelGraph.complete(self.species_) if self.graph == "complete" else LabelGraph.prior(Y, self.species_)
        if label_graph.n_species != Y.shape[1]:
            raise InputDataError(f"label_graph has {label_graph.n_species} species, the data {Y.shape[1]}")
        self.label_graph_ = label_graph
        self._train_module(X, Y, X_val, Y_val, label_graph)

    def _state_config(self) -> dict[str, Any]:
        cfg = self._torch_state_config()
        cfg["label_graph"] = self.label_graph_.to_dict()
        return cfg

    def _restore_state(self, tensors, config, device) -> None:
        from jsdm_hot.graph import LabelGraph

        self._restore_module(tensors, config, device)
        bias = None
        if config["label_graph"].get("has_bias"):
            bias = self.module_.attn_bias.detach().cpu().numpy()
        self.label_graph_ = LabelGraph.from_dict(config["label_graph"], bias)
