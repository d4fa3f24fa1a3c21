"""PNG map figures with matplotlib (object API, no pyplot state), written atomically."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from jsdm_hot.errors import InputDataError
from jsdm_hot.maps.layers import LAYER_INFO
from jsdm_hot.maps.writers import atomic_path

logger = logging.getLogger(__name__)

__all__ = ["plot_layer", "write_pngs"]

# Probabilities share one scale across species / k; other layers use their data range.
_FIXED_RANGE = {"probability": (0.0, 1.0), "richness_ge": (0.0, 1.0)}


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_")


def _is_geographic(ds: Any) -> bool:
    return ds["x"].attrs.get("units") == "degrees_east"


def plot_layer(ds: Any, layer: str, path: str | Path | None = None, *, index: Any = None,
               points: np.ndarray | None = None, title: str | None = None, overwrite: bool = True,
               dpi: int = 120) -> Any:
    """Draw one map layer (one band of a multi-band layer) as a figure; optionally save a PNG.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`jsdm_hot.maps.predict_map`.
    layer : str
        Variable name.
    path : path, optional
        PNG to write (atomically).
    index : str or int, optional
        Band of a multi-band layer: species name (``probability``), k
        (``richness_ge``) or axis number (``composition_pc``); default the first.
    points : ndarray of shape (n_points, 2), optional
        x/y of training sites, drawn as small dots.
    title : str, optional
    overwrite : bool, default=True
    dpi : int, default=120

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    if layer not in ds.data_vars:
        raise InputDataError(f"layer {layer!r} is not in the map; it has {list(ds.data_vars)}")
    da = ds[layer]
    info = LAYER_INFO.get(layer, {"cmap": "viridis", "label": layer, "long_name": layer})
    band_label = ""
    if da.ndim == 3:
        dim = da.dims[0]
        labels = [str(v) for v in da[dim].values]
        key = labels[0] if index is None else str(index)
        if key not in labels:
            raise InputDataError(f"{layer}: {dim} {index!r} is not in the map; it has {labels[:20]}")
        da = da.isel({dim: labels.index(key)})
        band_label = {"species": key, "k": f"k = {key}", "axis": f"axis {key}"}.get(dim, key)
    values = np.asarray(da.values, dtype=np.float64)
    x, y = np.asarray(ds["x"].values), np.asarray(ds["y"].values)
    dx = abs(x[1] - x[0]) if x.size > 1 else 1.0
    dy = abs(y[1] - y[0]) if y.size > 1 else 1.0
    extent = (x.min() - dx / 2, x.max() + dx / 2, y.min() - dy / 2, y.max() + dy / 2)
    origin = "upper" if y.size < 2 or y[0] > y[-1] else "lower"

    cmap = colormaps[info["cmap"]].with_extremes(bad="#e6e6e6")
    finite = values[np.isfinite(values)]
    if layer in _FIXED_RANGE:
        vmin, vmax = _FIXED_RANGE[layer]
    elif layer == "composition_pc":
        m = float(np.max(np.abs(finite))) if finite.size else 1.0
        vmin, vmax = -m, m
    else:
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if vmin == vmax:
            vmin, vmax = vmin - 0.5, vmax + 0.5

    geographic = _is_geographic(ds)
    height, width = values.shape
    aspect = 1.0
    if geographic:
        aspect = 1.0 / max(np.cos(np.deg2rad(float(np.mean(y)))), 0.1)
    fig_w = 7.5
    map_ratio = ((extent[3] - extent[2]) * aspect) / max(extent[1] - extent[0], 1e-12)
    fig_h = float(np.clip(fig_w * map_ratio * 0.85 + 1.0, 3.5, 10.0))
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(values), extent=extent, origin=origin, cmap=cmap, vmin=vmin, vmax=vmax,
                   interpolation="nearest", aspect=aspect)
    if points is not None:
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise InputDataError(f"points must have shape (n_points, 2), got {pts.shape}")
        ax.scatter(pts[:, 0], pts[:, 1], s=3, c="black", edgecolors="white", linewidths=0.2, alpha=0.7,
                   label="training sites")
        ax.legend(loc="lower right", fontsize=8, markerscale=3, framealpha=0.8)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
    units = ds[layer].attrs.get("units", "")
    cb_label = info["label"] + ("" if units in ("", "1") or units in info["label"] else f" [{units}]")
    if layer == "richness_ge" and band_label:
        cb_label = f"P(richness \u2265 {band_label[4:]})"
    cb = fig.colorbar(im, ax=ax, shrink=0.85)
    cb.set_label(cb_label)
    if geographic:
        ax.set_xlabel("longitude (\u00b0E)")
        ax.set_ylabel("latitude (\u00b0N)")
    else:
        unit = ds["x"].attrs.get("units", "")
        ax.set_xlabel(f"x ({unit})" if unit else "x")
        ax.set_ylabel(f"y ({unit})" if unit else "y")
    if title is None:
        title = info["long_name"] if not band_label else f"{info['long_name']}: {band_label}"
        if layer == "richness_ge" and band_label:
            title = f"posterior probability that species richness \u2265 {band_label[4:]}"
        elif layer == "composition_pc" and band_label:
            evr = np.atleast_1d(ds.attrs.get("pca_explained_variance_ratio", []))
            i = int(band_label.split()[-1]) - 1
            share = f" ({100 * float(evr[i]):.0f}% of variance)" if i < evr.size else ""
            title = f"predicted species composition: principal axis {i + 1}{share}"
        if "n_draws" in ds.attrs and layer not in ("probability", "richness", "composition_pc"):
            title += f"\n({int(ds.attrs['n_draws'])} joint posterior draws)"
    ax.set_title(title, fontsize=10)
    if path is not None:
        with atomic_path(path, overwrite=overwrite) as tmp:
            with open(tmp, "wb") as fh:
                fig.savefig(fh, format="png")
        logger.info("wrote %s", path)
    return fig


def write_pngs(ds: Any, out_dir: str | Path, layers: Sequence[str] | None = None, *,
               points: np.ndarray | None = None, overwrite: bool = True) -> list[Path]:
    """One PNG per layer, and per band of multi-band layers (``probability_<species>.png``, ...).

    Returns
    -------
    list of Path
    """
    out_dir = Path(out_dir)
    names = list(ds.data_vars) if layers is None else list(layers)
    written = []
    for name in names:
        da = ds[name]
        if da.ndim == 3:
            dim = da.dims[0]
            for v in da[dim].values:
                p = out_dir / f"{name}_{_safe(v)}.png"
                plot_layer(ds, name, p, index=v, points=points, overwrite=overwrite)
                written.append(p)
        else:
            p = out_dir / f"{name}.png"
            plot_layer(ds, name, p, points=points, overwrite=overwrite)
            written.append(p)
    return written
