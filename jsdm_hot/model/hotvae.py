"""HotVAEModule: the two HOT-VAE branches wired to one shared decoder (Zhao et al. 2021).

Feature branch: ``x → ψ → J Gaussian subspaces → z_x → decoder → logits_x``.
Label branch (training only): ``y → φ → K subspaces → z_y → same decoder → logits_y``.
The KL term (Eq 6-8) pulls the pooled feature posterior towards the pooled label
posterior; inference uses the feature branch alone.

The module sees tensors only. The label graph is held in two persistent buffers,
``attn_mask`` (bool, (L, L)) and ``attn_bias`` (float32, (L, L)), so it is saved with
the weights and follows ``.to(device)``.

Residual association (ours, not in the paper; ``config.residual_factors`` K > 0):
``residual.loadings`` Λ (L, K) add ``λ_l · e_i`` (``e_i ~ N(0, I_K)``) to the
feature-branch logits, fitted with a Monte-Carlo likelihood added to Eq 17; joint
draws then need one decoder pass per site (see :mod:`jsdm_hot.model.residual` for
the model and why). With K = 0 the module is the paper's, parameter for parameter.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from jsdm_hot.errors import InputDataError
from jsdm_hot.model import losses
from jsdm_hot.model import residual as res
from jsdm_hot.model.config import ModelConfig
from jsdm_hot.model.decoder import HotDecoder
from jsdm_hot.model.direct import make_direct_path
from jsdm_hot.model.embeddings import make_feature_encoder
from jsdm_hot.model.encoders import GaussianSubspaceEncoder, MLPEncoder, reparameterize
from jsdm_hot.model.outputs import DecoderOutput, HotVAEOutput, LossOutput

__all__ = ["HotVAEModule"]

logger = logging.getLogger(__name__)


def _as_tensor(a, dtype: torch.dtype, name: str, n_species: int) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a).detach().to("cpu")
    if tuple(t.shape) != (n_species, n_species):
        raise InputDataError(
            f"label graph {name} has shape {tuple(t.shape)}, expected ({n_species}, {n_species}) for {n_species} species"
        )
    return t.to(dtype).clone()


class HotVAEModule(nn.Module):
    """HOT-VAE network (both encoders, shared decoder, loss).

    Parameters
    ----------
    n_features : int
        p, width of ``x``.
    n_species : int
        L, width of ``y``.
    config : ModelConfig, optional
        Architecture and loss weights (default ``ModelConfig()``).
    mask : bool array or Tensor of shape (L, L), optional
        Label graph; ``mask[i, j]`` True lets species i attend to species j. The
        diagonal is forced True. ``None`` means the complete graph.
    bias : float array or Tensor of shape (L, L), optional
        Additive bias on the label→label attention logits (zeros if ``None``).
    feature_encoder, label_encoder : GaussianSubspaceEncoder, optional
        Replace the default ψ / φ: :class:`~jsdm_hot.model.encoders.MLPEncoder`, for ψ
        behind the numeric embedding of ``config.feature_embedding``
        (:func:`~jsdm_hot.model.embeddings.make_feature_encoder`). Their
        ``latent_dim`` must equal ``config.latent_dim``; their ``n_subspaces`` become
        J / K.

    Attributes
    ----------
    encoder_x, encoder_y : GaussianSubspaceEncoder
    decoder : HotDecoder
    residual : ResidualAssociation or None
        The residual loadings Λ (L, ``config.residual_factors``); None when
        ``residual_factors`` is 0.
    attn_mask : bool buffer of shape (L, L)
    attn_bias : float32 buffer of shape (L, L)
    """

    def __init__(
        self,
        n_features: int,
        n_species: int,
        config: ModelConfig | None = None,
        mask=None,
        bias=None,
        *,
        feature_encoder: GaussianSubspaceEncoder | None = None,
        label_encoder: GaussianSubspaceEncoder | None = None,
    ) -> None:
        super().__init__()
        config = config or ModelConfig()
        if n_features < 1 or n_species < 1:
            raise InputDataError(f"need at least one feature and one species, got n_features={n_features}, n_species={n_species}")
        self.config = config
        self.n_features = int(n_features)
        self.n_species = int(n_species)
        L = self.n_species

        m = torch.ones(L, L, dtype=torch.bool) if mask is None else _as_tensor(mask, torch.bool, "mask", L)
        m.fill_diagonal_(True)
        if bias is None:
            b = torch.zeros(L, L, dtype=torch.float32)
        else:
            b = _as_tensor(bias, torch.float32, "bias", L)
            if not torch.isfinite(b).all():
                raise InputDataError("label graph bias contains NaN or infinite values")
        self.register_buffer("attn_mask", m, persistent=True)
        self.register_buffer("attn_bias", b, persistent=True)
        if config.species_weighting != "none":  # per-species BCE weights, set from the training prevalences
            self.register_buffer("species_weight", torch.ones(L), persistent=True)
        else:
            self.species_weight = None

        self.encoder_x = feature_encoder or make_feature_encoder(n_features, config)
        self.encoder_y = label_encoder or MLPEncoder(
            n_species, config.n_subspaces_y, config.latent_dim, config.encoder_hidden, config.dropout
        )
        for name, enc in (("feature_encoder", self.encoder_x), ("label_encoder", self.encoder_y)):
            if enc.latent_dim != config.latent_dim:
                raise InputDataError(f"{name} has latent_dim={enc.latent_dim}, config.latent_dim={config.latent_dim}")
        self.decoder = HotDecoder(L, config.latent_dim, config.d_model, config.n_layers, config.n_heads, config.dropout)
        # created last, so every other parameter starts as in the paper's module for the same seed
        self.residual = res.ResidualAssociation(L, config.residual_factors) if config.residual_factors > 0 else None
        self.direct = make_direct_path(n_features, L, config)  # None: the paper's model
        logger.debug(
            "HotVAEModule: %d features, %d species, J=%d, K=%d, %d of %d label→label edges allowed",
            self.n_features, L, self.encoder_x.n_subspaces, self.encoder_y.n_subspaces, int(m.sum()), L * L,
        )

    # ------------------------------------------------------------------ parts
    def _check(self, t: torch.Tensor, width: int, name: str) -> None:
        if t.dim() != 2 or t.shape[1] != width:
            raise InputDataError(f"{name} must have shape (n_sites, {width}), got {tuple(t.shape)}")

    def encode_x(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Feature encoder ψ: x (B, p) → (mu, logvar), each (B, J, latent_dim)."""
        self._check(x, self.n_features, "x")
        return self.encoder_x(x)

    def encode_y(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Label encoder φ: y (B, L) → (mu, logvar), each (B, K, latent_dim)."""
        self._check(y, self.n_species, "y")
        return self.encoder_y(y.to(torch.float32) if not torch.is_floating_point(y) else y)

    def decode(self, z: torch.Tensor) -> DecoderOutput:
        """Shared decoder: z (B, J or K, latent_dim) → DecoderOutput (logits (B, L), intermediates)."""
        return self.decoder(z, self.attn_mask, self.attn_bias)

    def _latent(self, mu: torch.Tensor, logvar: torch.Tensor, shard: tuple[int, int, int] | None = None) -> torch.Tensor:
        return reparameterize(mu, logvar, shard=shard) if self.training else mu

    # ---------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, *,
                shard: tuple[int, int, int] | None = None) -> HotVAEOutput:
        """Run the feature branch and, when ``y`` is given, the label branch.

        In training mode the latent samples are reparameterised draws; in eval mode
        ``z = mu``. Both branches go through the same decoder (in one batched call
        when J == K).

        Parameters
        ----------
        x : Tensor of shape (B, n_features)
        y : Tensor of shape (B, n_species), optional
        shard : (start, stop, total), optional
            Distributed training: this batch is rows ``start:stop`` of a global
            batch of ``total`` rows; the reparameterisation noise is drawn for the
            global batch and sliced (see :func:`~jsdm_hot.model.encoders.reparameterize`).

        Returns
        -------
        HotVAEOutput
        """
        mu_x, logvar_x = self.encode_x(x)
        z_x = self._latent(mu_x, logvar_x, shard)
        if y is None:
            dec = self.decode(z_x)
            d = self._direct(x)
            return HotVAEOutput(dec.logits + d, None, [t + d for t in dec.intermediate], [], mu_x, logvar_x)
        if y.shape[0] != x.shape[0]:
            raise InputDataError(f"x has {x.shape[0]} sites but y has {y.shape[0]}")
        mu_y, logvar_y = self.encode_y(y)
        z_y = self._latent(mu_y, logvar_y, shard)
        B = x.shape[0]
        if z_x.shape[1] == z_y.shape[1]:
            z = torch.cat([z_x, z_y.to(z_x.dtype)], dim=0)
            dec = self.decode(z)
            logits_x, logits_y = dec.logits[:B], dec.logits[B:]
            inter_x = [t[:B] for t in dec.intermediate]
            inter_y = [t[B:] for t in dec.intermediate]
        else:
            dx, dy = self.decode(z_x), self.decode(z_y)
            logits_x, logits_y, inter_x, inter_y = dx.logits, dy.logits, dx.intermediate, dy.intermediate
        if self.direct is not None:  # the same covariate mean in both branches (see jsdm_hot.model.direct)
            d = self.direct(x)
            logits_x, logits_y = logits_x + d, logits_y + d
            inter_x, inter_y = [t + d for t in inter_x], [t + d for t in inter_y]
        noise = None if self.residual is None else self._residual_noise(B, logits_x.device, shard)
        return HotVAEOutput(logits_x, logits_y, inter_x, inter_y, mu_x, logvar_x, mu_y, logvar_y, noise)

    def _residual_noise(self, n: int, device: torch.device, shard: tuple[int, int, int] | None) -> torch.Tensor:
        """``e ~ N(0, I_K)`` of shape (residual_mc, n, K) for the Monte-Carlo likelihood.

        Training mode: fresh draws per site from torch's default generator; with
        ``shard`` drawn for the global batch and sliced, as in
        :func:`~jsdm_hot.model.encoders.reparameterize`. Eval mode: one fixed set of
        ``residual_mc`` draws (seed 0) shared by every site, so the loss is
        deterministic (like ``z = mu``) and does not depend on how sites are batched.
        """
        M, K = self.config.residual_mc, self.residual.n_factors
        if not self.training:
            g = torch.Generator(device=device).manual_seed(0)
            return torch.randn((M, 1, K), generator=g, device=device).expand(M, n, K)
        if shard is None:
            return torch.randn((M, n, K), device=device)
        start, stop, total = shard
        return torch.randn((M, total, K), device=device)[:, start:stop]

    def loss(self, out: HotVAEOutput, y: torch.Tensor, *, global_counts: tuple[int, int, int] | None = None) -> LossOutput:
        """HOT-VAE objective (Eq 17), computed in float32.

        ``loss = λ0 (BCE_x + BCE_y) + λ1 (inter_x + inter_y) + λ2 (rank_x + rank_y) + β KL
        + λ_res · residual``. Label-branch terms and the KL are 0 when ``out.logits_y``
        is None; ``residual`` (ours, :func:`~jsdm_hot.model.losses.residual_loss` of the
        feature branch) is 0 without residual factors or without ``out.residual_noise``.

        Parameters
        ----------
        out : HotVAEOutput
        y : Tensor of shape (B, n_species)
        global_counts : (n_sites, n_ranked, world_size), optional
            Distributed training: this rank's ``B`` sites are part of a global batch
            of ``n_sites`` sites, ``n_ranked`` of which have both a present and an
            absent species (the sites the ranking loss averages over). Each term is
            rescaled so that the mean of the ranks' losses (what DDP's gradient
            averaging optimises) equals the single-process loss of the global batch:
            batch means by ``B · world / n_sites``, the ranking term by
            ``B_ranked · world / n_ranked``.

        Returns
        -------
        LossOutput
        """
        terms = self._loss_terms(out, y)
        if global_counts is None:
            return terms
        n_sites, n_ranked, world = global_counts
        s = y.shape[0] * world / n_sites
        s_rank = losses.ranked_sites(y) * world / n_ranked if n_ranked else 0.0
        c = self.config
        bce, inter, rank, kl = terms.bce * s, terms.intermediate_bce * s, terms.ranking * s_rank, terms.kl * s
        resid = terms.residual * s
        total = losses.total_loss(bce, inter, rank, kl, lambda0=c.lambda0, lambda1=c.lambda1, lambda2=c.lambda2, beta=c.beta,
                                  residual=resid, lambda_residual=c.lambda_residual)
        return LossOutput(loss=total, bce=bce, intermediate_bce=inter, ranking=rank, kl=kl, residual=resid)

    def _loss_terms(self, out: HotVAEOutput, y: torch.Tensor) -> LossOutput:
        c = self.config
        w = self.species_weight
        bce = losses.bce_loss(out.logits_x, y, w)
        inter = losses.intermediate_bce_loss(out.intermediate_x, y, w)
        rank = losses.ranking_loss(out.logits_x, y)
        kl = torch.zeros((), device=bce.device)
        if out.logits_y is not None:
            bce = bce + losses.bce_loss(out.logits_y, y, w)
            inter = inter + losses.intermediate_bce_loss(out.intermediate_y, y, w)
            rank = rank + losses.ranking_loss(out.logits_y, y)
            if out.mu_y is not None and out.logvar_y is not None:
                kl = losses.kl_alignment(out.mu_y, out.logvar_y, out.mu_x, out.logvar_x)
        resid = torch.zeros((), device=bce.device)
        if self.residual is not None and out.residual_noise is not None:
            resid = losses.residual_loss(out.logits_x, y, self.residual.loadings, out.residual_noise)
        total = losses.total_loss(bce, inter, rank, kl, lambda0=c.lambda0, lambda1=c.lambda1, lambda2=c.lambda2, beta=c.beta,
                                  residual=resid, lambda_residual=c.lambda_residual)
        return LossOutput(loss=total, bce=bce, intermediate_bce=inter, ranking=rank, kl=kl, residual=resid)

    # -------------------------------------------------------------- inference
    def predict_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Point prediction from the feature branch with ``z = mu``.

        Dropout follows the module's mode: call ``eval()`` for deterministic output.

        Parameters
        ----------
        x : Tensor of shape (B, n_features)

        Returns
        -------
        Tensor of shape (B, n_species)
        """
        mu, _ = self.encode_x(x)
        return self.decode(mu).logits + self._direct(x)

    def _direct(self, x: torch.Tensor) -> torch.Tensor | float:
        """The direct path's logit offsets (B, n_species), or 0 without one."""
        return 0.0 if self.direct is None else self.direct(x)

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Occurrence probabilities at ``z = mu``, float32, shape (B, n_species).

        ``sigmoid(predict_logits(x))`` for the paper's model; with residual factors the
        marginal over the residual (:meth:`marginal_proba`), which the residual draws
        average to. The training loop's validation and the estimator's ``predict_proba``
        use this.
        """
        if self.residual is not None:
            return self.marginal_proba(x).float()
        return torch.sigmoid(self.predict_logits(x).float())

    def sample_logits(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits of one joint posterior draw per site: ``z ~ q_ψ(z|x)``, decoded.

        All species of a site come from the same ``z``, so Bernoulli draws from these
        logits keep the co-occurrence structure (joint, not independent, draws).

        Parameters
        ----------
        x : Tensor of shape (B, n_features)
        generator : torch.Generator, optional
            On the same device as the module; the same seeded generator gives the
            same draws.

        Returns
        -------
        Tensor of shape (B, n_species)
        """
        mu, logvar = self.encode_x(x)
        return self.decode(reparameterize(mu, logvar, generator)).logits + self._direct(x)

    # ------------------------------------------------------- residual association
    def residual_loadings(self) -> torch.Tensor:
        """Λ, shape (L, K); shape (L, 0) (no association) when ``residual_factors`` is 0."""
        if self.residual is None:
            return self.attn_bias.new_zeros((self.n_species, 0))
        return self.residual.loadings

    def residual_covariance(self) -> torch.Tensor:
        """Residual covariance ``Λ Λᵀ`` on the logit scale, shape (L, L) (zeros without factors)."""
        return res.residual_covariance(self.residual_loadings())

    def residual_correlation(self) -> torch.Tensor:
        """``cov2cor(Λ Λᵀ)``, shape (L, L) (the identity without factors)."""
        return res.residual_correlation(self.residual_loadings())

    def latent_logits(self, x: torch.Tensor, n_latent: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decoder logits for the residual draws: ``z = mu`` or ``n_latent`` draws of ``z``.

        Parameters
        ----------
        x : Tensor of shape (B, n_features)
        n_latent : int
            1: the posterior mean (one decoder pass per site). More: that many
            ``z ~ q_ψ(z|x)`` per site (``n_latent`` decoder passes per site).
        generator : torch.Generator, optional

        Returns
        -------
        Tensor of shape (n_latent, B, L)
        """
        if n_latent < 1:
            raise InputDataError(f"n_latent must be >= 1, got {n_latent}")
        if n_latent == 1:
            return self.predict_logits(x).unsqueeze(0)
        return self.sample_logits(x.repeat(n_latent, 1), generator).reshape(n_latent, x.shape[0], -1)

    def residual_draw_logits(self, x: torch.Tensor, n_draws: int, generator: torch.Generator | None = None,
                             n_latent: int = 1) -> torch.Tensor:
        """Logits of ``n_draws`` joint draws per site: decoder logits plus ``Λ e``.

        The decoder runs ``n_latent`` times per site (see :meth:`latent_logits`);
        draw ``s`` uses latent ``s mod n_latent`` and its own ``e ~ N(0, I_K)``.

        Parameters
        ----------
        x : Tensor of shape (B, n_features)
        n_draws : int
        generator : torch.Generator, optional
        n_latent : int

        Returns
        -------
        Tensor of shape (n_draws, B, L), float32
        """
        d = self.latent_logits(x, n_latent, generator).float()
        d = d[torch.arange(n_draws, device=d.device) % d.shape[0]]
        lam = self.residual_loadings().float()
        noise = torch.randn((n_draws, x.shape[0], lam.shape[1]), generator=generator, device=d.device)
        flat = d.reshape(n_draws * x.shape[0], -1)
        return res.residual_logits(flat, lam, noise.reshape(1, flat.shape[0], lam.shape[1])).reshape(d.shape)

    def marginal_proba(self, x: torch.Tensor) -> torch.Tensor:
        """``E_e[σ(c · d + Λ e)]`` at ``z = mu`` (Gauss–Hermite; ≈ σ(d)), shape (B, L)."""
        return res.marginal_probability(self.predict_logits(x), self.residual_loadings())

    def conditional_proba(self, x: torch.Tensor, given: torch.Tensor, n_mc: int = 2000,
                          generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Occurrence probabilities given a partial checklist, at ``z = mu``.

        See :func:`jsdm_hot.model.residual.conditional_probability`.

        Parameters
        ----------
        x : Tensor of shape (B, n_features)
        given : Tensor of shape (B, L)
            1 / 0 for species recorded present / absent, NaN for unknown.
        n_mc : int
        generator : torch.Generator, optional

        Returns
        -------
        prob : Tensor of shape (B, L)
        ess : Tensor of shape (B,)
        """
        self._check(given, self.n_species, "given")
        return res.conditional_probability(self.predict_logits(x), self.residual_loadings(), given, n_mc, generator)

    def conditional_draws(self, x: torch.Tensor, given: torch.Tensor, n_draws: int, n_mc: int = 2000,
                          generator: torch.Generator | None = None) -> torch.Tensor:
        """Joint draws given a partial checklist, at ``z = mu``, shape (n_draws, B, L), uint8."""
        self._check(given, self.n_species, "given")
        return res.conditional_draws(self.predict_logits(x), self.residual_loadings(), given, n_draws, n_mc, generator)
