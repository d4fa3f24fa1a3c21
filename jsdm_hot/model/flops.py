"""Analytic matmul FLOP counts of :class:`~jsdm_hot.model.hotvae.HotVAEModule`, per site.

Used by ``benchmarks/gpu_speed.py`` to turn measured times into achieved TFLOP/s.
Only matrix products are counted, at ``2·m·n·k`` FLOPs for an ``(m, k) @ (k, n)``
product (one multiply and one add per term), the convention of
:class:`torch.utils.flop_counter.FlopCounterMode`. Element-wise work (biases, ReLU,
LayerNorm, softmax, the attention scaling and mask, dropout, reparameterisation,
the losses of Eq 17 — including the O(L²) pairwise ranking loss — and the optimiser
update) is not counted; at the sizes of interest it is well under 1 % of the total.

Symbols: ``p`` = ``n_features``, ``L`` = ``n_species``, ``H`` = ``encoder_hidden``,
``D`` = ``latent_dim``, ``J`` / ``K`` = ``n_subspaces_x`` / ``n_subspaces_y``,
``d`` = ``d_model``, ``n`` = ``n_layers``; ``S`` is the number of latent nodes a
decoder pass attends to (J for the feature branch, K for the label branch). The
number of heads does not matter: ``h`` heads of width ``d/h`` cost the same as one
head of width ``d``.

Per site, term by term (keys of the returned dicts):

* ``encoder_x`` (ψ, :class:`~jsdm_hot.model.encoders.MLPEncoder`):
  ``2·(p·H + H·H + H·H) + 2·(2·H·J·D)`` — three hidden layers, then the ``mu`` and
  ``logvar`` heads.
* ``encoder_y`` (φ, training forward only): ``2·(L·H + 2·H²) + 2·(2·H·K·D)``.
* Decoder (:class:`~jsdm_hot.model.decoder.HotDecoder`), per pass with ``S`` latent nodes:

  - ``latent_proj``: ``2·S·D·d``;
  - ``cross_attn_proj`` (per layer): q and out projections of the L species nodes,
    ``2·(2·L·d²)``, plus k and v projections of the S latent nodes, ``2·(2·S·d²)``;
    with S = 1 (the default J = K = 1) the attention is a broadcast: v of the one
    latent node, ``2·d²``, and the out projection, ``2·L·d²`` in training with
    dropout, else ``2·d²``;
  - ``cross_attn_scores`` (per layer): ``Q Kᵀ`` and ``softmax · V``, ``2·(2·L·S·d)``
    (0 with S = 1);
  - ``cross_ffn`` (per layer): ``d → 2d → d`` over L nodes, ``2·(2·L·d·2d) = 8·L·d²``;
  - ``self_attn_proj`` (per layer): q, k, v, out over L nodes, ``4·(2·L·d²)``;
  - ``self_attn_scores`` (per layer): ``Q Kᵀ`` and ``softmax · V`` over the dense
    L × L logits, ``2·(2·L²·d)``. The label-graph mask is additive (``-inf``), so
    blocked pairs are still computed: a sparse graph saves no FLOPs;
  - ``self_ffn`` (per layer): ``8·L·d²``;
  - ``readout``: n per-label readouts (the final one and the ``n - 1`` intermediate
    ones of Eq 15), ``n·(2·L·d)``.

  So one decoder pass costs ``2·S·D·d + n·(28·L·d² + 4·S·d² + 4·L·S·d + 4·L²·d) + 2·n·L·d``
  for S > 1, and ``2·D·d + n·(24·L·d² + 2·d² + 2·(L or 1)·d² + 4·L²·d) + 2·n·L·d`` for S = 1.

The training forward ``module(x, y)`` runs ψ, φ and two decoder passes (S = J and
S = K; when J == K they are one pass over the concatenated 2B batch, which costs the
same FLOPs); ``predict_logits`` and ``sample_logits`` (posterior draws) run ψ and
one decoder pass with S = J.

Training (``training_flops_per_site``) uses the usual convention
**training = forward + backward ≈ 3 × forward**: the backward of a matmul costs two
matmuls of the same size (gradient of the input and of the weight). It slightly
over-counts the first encoder layers, whose inputs (x, y) need no gradient, and
counts the backward of the fused attention as two matmuls per forward matmul
(flash-attention kernels recompute the scores, which real hardware does but this
count does not credit).

With residual factors (``config.residual_factors`` = R > 0, :mod:`jsdm_hot.model.residual`),
a training step also multiplies the ``M = residual_mc`` draws of the factors by the
loadings in the loss, ``(M, R) @ (R, L)``, and back-propagates to the loadings only:
``residual`` = ``2 · (2·M·R·L)`` per site in :func:`training_flops_per_site` (0 when
R = 0; about 1e-4 of the total at eBird scale). Forward passes and draws do not
include it.

The counts assume the default :class:`~jsdm_hot.model.encoders.MLPEncoder` for both
branches (plugged-in encoders are not introspected).
"""

from __future__ import annotations

from jsdm_hot.errors import InputDataError
from jsdm_hot.model.config import ModelConfig

__all__ = ["DECODER_TERMS", "forward_flops_per_site", "training_flops_per_site", "BACKWARD_FACTOR"]

#: Keys of the decoder terms in the returned dicts (summed over the branches decoded).
DECODER_TERMS = (
    "latent_proj",
    "cross_attn_proj",
    "cross_attn_scores",
    "cross_ffn",
    "self_attn_proj",
    "self_attn_scores",
    "self_ffn",
    "readout",
)

#: training FLOPs = BACKWARD_FACTOR × forward FLOPs (forward + backward ≈ 3 × forward).
BACKWARD_FACTOR = 3


def _encoder(n_inputs: int, hidden: int, n_subspaces: int, latent_dim: int) -> int:
    """MLPEncoder: three hidden layers plus the mu and logvar heads, per site."""
    return 2 * (n_inputs * hidden + 2 * hidden * hidden) + 2 * (2 * hidden * n_subspaces * latent_dim)


def _decoder(n_species: int, n_latent: int, latent_dim: int, d: int, n_layers: int,
             dropout_active: bool = False) -> dict[str, int]:
    """One HotDecoder pass attending to ``n_latent`` latent nodes, per site.

    With one latent node the feature→label attention is a broadcast of its projected
    value (:meth:`~jsdm_hot.model.decoder.MultiHeadAttention.forward`): no query or key
    projection and no scores; the output projection runs over the L species nodes
    only while attention dropout is active (training with dropout > 0), else once.
    """
    L, S, n = n_species, n_latent, n_layers
    if S == 1:
        cross_proj = n * (2 * d * d + 2 * (L if dropout_active else 1) * d * d)
        cross_scores = 0
    else:
        cross_proj = n * (2 * (2 * L * d * d) + 2 * (2 * S * d * d))
        cross_scores = n * 2 * (2 * L * S * d)
    return {
        "latent_proj": 2 * S * latent_dim * d,
        "cross_attn_proj": cross_proj,
        "cross_attn_scores": cross_scores,
        "cross_ffn": n * 8 * L * d * d,
        "self_attn_proj": n * 4 * (2 * L * d * d),
        "self_attn_scores": n * 2 * (2 * L * L * d),
        "self_ffn": n * 8 * L * d * d,
        "readout": n * 2 * L * d,
    }


def forward_flops_per_site(config: ModelConfig, n_features: int, n_species: int, *, mode: str = "train") -> dict[str, int]:
    """Matmul FLOPs of one forward pass, per site (see the module docstring for the formula).

    Parameters
    ----------
    config : ModelConfig
    n_features, n_species : int
        p and L.
    mode : {"train", "predict"}
        ``"train"``: ``module(x, y)`` (both encoders, two decoder passes);
        ``"predict"``: ``predict_logits(x)`` / ``sample_logits(x)`` (ψ and one
        decoder pass), i.e. the cost of one posterior draw at one site.

    Returns
    -------
    dict of str to int
        ``encoder_x``, ``encoder_y`` (0 in predict mode), the :data:`DECODER_TERMS`
        summed over the decoder passes, and ``total``.
    """
    if mode not in ("train", "predict"):
        raise InputDataError(f"mode must be 'train' or 'predict', got {mode!r}")
    if n_features < 1 or n_species < 1:
        raise InputDataError(f"need at least one feature and one species, got n_features={n_features}, n_species={n_species}")
    c = config
    out = {
        "encoder_x": _encoder(n_features, c.encoder_hidden, c.n_subspaces_x, c.latent_dim),
        "encoder_y": _encoder(n_species, c.encoder_hidden, c.n_subspaces_y, c.latent_dim) if mode == "train" else 0,
    }
    passes = [c.n_subspaces_x] + ([c.n_subspaces_y] if mode == "train" else [])
    dec = {k: 0 for k in DECODER_TERMS}
    for s in passes:
        for k, v in _decoder(n_species, s, c.latent_dim, c.d_model, c.n_layers,
                             dropout_active=mode == "train" and c.dropout > 0).items():
            dec[k] += v
    out.update(dec)
    out["total"] = sum(out.values())
    return out


def training_flops_per_site(config: ModelConfig, n_features: int, n_species: int) -> dict[str, int]:
    """Matmul FLOPs of one training step, per site: ``3 ×`` the training forward.

    Forward of ``module(x, y)`` plus its backward, with the convention backward ≈ 2 ×
    forward (see the module docstring). The loss and the Adam update are
    element-wise and not counted.

    Returns
    -------
    dict of str to int
        The keys of :func:`forward_flops_per_site` (``mode="train"``), each × 3,
        and ``residual`` (the residual likelihood's product, see the module
        docstring), included in ``total``.
    """
    fwd = forward_flops_per_site(config, n_features, n_species, mode="train")
    out = {k: BACKWARD_FACTOR * v for k, v in fwd.items()}
    out["residual"] = 2 * (2 * config.residual_mc * config.residual_factors * n_species)
    out["total"] += out["residual"]
    return out
