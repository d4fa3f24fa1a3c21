"""Validation-based hyper-parameter search for HOT-VAE within a wall-time budget (optuna).

::

    from jsdm_hot.estimators.tuning import tune
    result = tune(train, budget_seconds=600, random_state=0)   # CommunityData with occurrences
    result.model          # the fitted HotVAE of the best trial
    result.trials         # DataFrame: one row per trial (parameters, score, seconds, state)

The first trial is always the estimator's defaults (laid over ``params``), so the
result is never worse on the validation sites than a plain ``fit``; later trials
are proposed by optuna's TPE sampler (seeded) from :data:`SEARCH_SPACE`. Every
trial trains on the same training sites and is scored on the same validation
sites (``X_val``, or one seeded ``val_fraction`` hold-out drawn once), by the
mean Bernoulli log-likelihood of the validation occurrences (``metric="loglik"``,
a proper score) or by validation maF1. No trial starts once the budget is spent,
and one is not started when the slowest trial so far would not fit in what is
left; a trial that overruns the budget finishes (its model is complete).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from jsdm_hot.errors import InputDataError

__all__ = ["SEARCH_SPACE", "TuneResult", "tune"]

logger = logging.getLogger(__name__)

#: What ``tune`` searches: parameter → ("categorical", choices) | ("log", low, high) | ("float", low, high).
SEARCH_SPACE: dict[str, tuple] = {
    "lr": ("log", 3e-4, 5e-3),
    "weight_decay": ("log", 1e-5, 1e-1),
    "d_model": ("categorical", (32, 64, 128)),
    "n_layers": ("categorical", (1, 2, 3)),
    "dropout": ("categorical", (0.0, 0.1, 0.2, 0.3)),
    "latent_dim": ("categorical", (16, 32, 64)),
    "encoder_hidden": ("categorical", (128, 256, 512)),
    "feature_embedding": ("categorical", ("none", "ple")),
    "lambda2": ("categorical", (0.0, 1.0)),
    "beta": ("categorical", (0.0, 1e-4, 1e-3)),
}


@dataclass
class TuneResult:
    """What :func:`tune` returns.

    Attributes
    ----------
    model : HotVAE
        Fitted with the best trial's parameters (the trial's own fit, not a refit).
    best_params : dict
        The searched parameters of that trial.
    best_score : float
    trials : DataFrame
        One row per trial: ``trial``, ``score``, ``val_maf1``, ``val_loglik``,
        ``seconds``, ``best_epoch``, ``state`` and one column per searched parameter.
    """

    model: Any
    best_params: dict[str, Any]
    best_score: float
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)


def _suggest(trial, space: Mapping[str, tuple]) -> dict[str, Any]:
    out = {}
    for name, spec in space.items():
        kind = spec[0]
        if kind == "categorical":
            out[name] = trial.suggest_categorical(name, list(spec[1]))
        elif kind == "log":
            out[name] = trial.suggest_float(name, spec[1], spec[2], log=True)
        elif kind == "float":
            out[name] = trial.suggest_float(name, spec[1], spec[2])
        else:
            raise InputDataError(f"search space entry {name!r}: unknown kind {kind!r} (categorical, log, float)")
    return out


def _check_space(space: Mapping[str, tuple], params: Mapping[str, Any]) -> None:
    from jsdm_hot.estimators.hotvae import HotVAE

    valid = set(HotVAE().get_params())
    unknown = sorted((set(space) | set(params)) - valid)
    if unknown:
        raise InputDataError(f"tune: unknown HotVAE parameter(s) {unknown}")


def tune(X, Y=None, *, X_val=None, Y_val=None, budget_seconds: float = 600.0, n_trials: int | None = None,
         params: Mapping[str, Any] | None = None, space: Mapping[str, tuple] | None = None, metric: str = "loglik",
         random_state: int = 0, label_graph=None,
         callback: Callable[[dict[str, Any]], None] | None = None) -> TuneResult:
    """Search HOT-VAE hyper-parameters on validation sites within ``budget_seconds``.

    Parameters
    ----------
    X, Y : training sites, as :meth:`HotVAE.fit` takes them
    X_val, Y_val : validation sites, optional
        Without them one seeded ``val_fraction`` hold-out of ``X`` (``params`` or
        the default 0.1) is drawn once and shared by all trials.
    budget_seconds : float, default=600
        Wall-time budget of the whole search (see the module docstring).
    n_trials : int, optional
        Stop after this many trials even with budget left.
    params : mapping, optional
        Fixed HotVAE parameters (e.g. ``max_epochs``, ``tree``); searched ones override them.
    space : mapping, optional
        Search space in the form of :data:`SEARCH_SPACE` (the default).
    metric : {"loglik", "maf1"}, default="loglik"
        Validation score to maximise.
    random_state : int, default=0
        Seeds the hold-out, the sampler and every trial's model.
    label_graph : LabelGraph, optional
        Passed to every fit.
    callback : callable, optional
        Called with each trial's row as soon as it finishes (progress display).

    Returns
    -------
    TuneResult
    """
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - optuna is in the tune extra
        raise InputDataError("tuning needs optuna: pip install 'jsdm-hot[tune]'") from exc
    from jsdm_hot.estimators.hotvae import HotVAE
    from jsdm_hot.metrics.mlc import macro_f1
    from jsdm_hot.training.loop import validation_loglik
    from jsdm_hot.training.thresholds import select_thresholds

    if metric not in ("loglik", "maf1"):
        raise InputDataError(f"tune: metric must be 'loglik' or 'maf1', got {metric!r}")
    if not budget_seconds > 0:
        raise InputDataError(f"tune: budget_seconds must be > 0, got {budget_seconds}")
    space = dict(SEARCH_SPACE if space is None else space)
    fixed = dict(params or {})
    _check_space(space, fixed)
    fixed["random_state"] = int(random_state)
    (xt, yt), (xv, yv_arg), yv = _fixed_split(X, Y, X_val, Y_val, fixed.get("val_fraction", 0.1), random_state)

    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    best: dict[str, Any] = {"score": -np.inf, "model": None, "params": {}}

    def run(trial_params: dict[str, Any], number: int) -> tuple[float, Any]:
        t0 = time.perf_counter()
        model = HotVAE(**{**fixed, **trial_params}).fit(xt, yt, X_val=xv, Y_val=yv_arg, label_graph=label_graph)
        prob = model.predict_proba(xv)
        y = _val_occurrences(xv, yv_arg, yv, model)
        maf1 = float(macro_f1(y, (prob >= select_thresholds(y, prob, mode=model.threshold_mode)).astype(np.uint8)))
        ll = validation_loglik(y, prob)
        score = ll if metric == "loglik" else maf1
        used = _resolved(model)
        row = {"trial": number, "score": score, "val_maf1": maf1, "val_loglik": ll,
               "seconds": time.perf_counter() - t0, "best_epoch": int(model.best_epoch_), "state": "complete",
               **{k: used.get(k, trial_params.get(k)) for k in space}}
        rows.append(row)
        logger.info("tune trial %d: %s %.5f (%.0f s) %s", number, metric, score, row["seconds"], trial_params)
        if callback is not None:
            callback(row)
        if score > best["score"]:
            best.update(score=score, model=model, params={k: row[k] for k in space})
        return score, used

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=int(random_state)))
    # trial 0: the defaults, told to the sampler with the values "auto" resolved to
    score0, used0 = run({}, 0)
    known = {k: used0[k] for k in space if k in used0 and _in_space(used0[k], space[k])}
    study.add_trial(optuna.trial.create_trial(params=known, distributions={k: _distribution(space[k]) for k in known},
                                              value=score0))
    while True:
        elapsed = time.perf_counter() - start
        slowest = max(r["seconds"] for r in rows)
        if elapsed + slowest > budget_seconds or (n_trials is not None and len(rows) >= int(n_trials)):
            break
        trial = study.ask()
        score, _ = run(_suggest(trial, space), trial.number)
        study.tell(trial, score)
    trials = pd.DataFrame(rows)
    logger.info("tune: %d trials in %.0f s; best %s %.5f with %s", len(rows), time.perf_counter() - start, metric,
                best["score"], best["params"])
    return TuneResult(model=best["model"], best_params=best["params"], best_score=float(best["score"]), trials=trials)


def _fixed_split(X, Y, X_val, Y_val, val_fraction, seed):
    """((X_train, Y_train), (X_val, Y_val argument), Y_val array): the one validation split every trial shares."""
    from jsdm_hot.data.community import CommunityData
    from jsdm_hot.estimators.inputs import prepare_fit

    if X_val is not None:
        yv = X_val.Y if isinstance(X_val, CommunityData) else np.asarray(Y_val)
        if yv is None:
            raise InputDataError("tune: X_val has no occurrences")
        return (X, Y), (X_val, Y_val), np.asarray(yv)
    if val_fraction is None:
        raise InputDataError("tune needs validation sites: give X_val or a val_fraction")
    if isinstance(X, CommunityData):
        from jsdm_hot.data.splits import holdout_split

        vi, ti = holdout_split(X.n_sites, float(val_fraction), seed)
        val = X.subset(vi)
        return (X.subset(ti), None), (val, None), val.Y
    data = prepare_fit(X, Y, None, None, val_fraction=val_fraction, seed=seed, owner="tune")
    cols, sp = list(data.covariates), list(data.species)
    return ((pd.DataFrame(data.X, columns=cols), pd.DataFrame(data.Y, columns=sp)),
            (pd.DataFrame(data.X_val, columns=cols), pd.DataFrame(data.Y_val, columns=sp)), data.Y_val)


def _val_occurrences(xv, yv_arg, yv: np.ndarray, model) -> np.ndarray:
    """Validation occurrences (n_val, n_species) in the fitted model's species order."""
    from jsdm_hot.data.community import CommunityData

    if isinstance(xv, CommunityData):
        return xv.select_species(list(model.species_)).Y
    if isinstance(yv_arg, pd.DataFrame):
        return yv_arg[list(model.species_)].to_numpy()
    return np.asarray(yv)


def _resolved(model) -> dict[str, Any]:
    """A fitted HotVAE's parameters with ``"auto"`` replaced by the values it used."""
    out = dict(model.get_params())
    out.update(model.model_config_.to_dict())
    out.update({k: v for k, v in model.train_config_.to_dict().items() if k in out})
    return out


def _distribution(spec: tuple):
    import optuna

    if spec[0] == "categorical":
        return optuna.distributions.CategoricalDistribution(list(spec[1]))
    return optuna.distributions.FloatDistribution(spec[1], spec[2], log=spec[0] == "log")


def _in_space(value: Any, spec: tuple) -> bool:
    """Whether a default value is a valid point of a search-space entry (to enqueue it as the first trial)."""
    if spec[0] == "categorical":
        return value in spec[1]
    return isinstance(value, (int, float)) and not isinstance(value, bool) and spec[1] <= value <= spec[2]
