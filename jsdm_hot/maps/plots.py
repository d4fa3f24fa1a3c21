"""PNG map figures with matplotlib (object API, no pyplot state), written atomically.

Each figure has a title, a colour bar with units, degree tick labels (E/W,
N/S) for a geographic CRS or kilometres for a projected one, optional
training sites (small semi-transparent dots) and outlines (lines from a
vector file layer) with a legend, and a caption built from the map's
metadata: model, number of species, draws, the constants and standard
effort the values are conditional on, the reference community of βSOR, the
CRS. Colour maps are perceptually uniform and colour-blind safe (viridis
family; a diverging red-blue map centred on 0 for PCA scores).
"""

from __future__ import annotations

import logging
import re
import textwrap
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from jsdm_hot.errors import InputDataError
from jsdm_hot.maps.layers import LAYER_INFO
from jsdm_hot.maps.outlines import Outlines, read_outlines
from jsdm_hot.maps.writers import atomic_path

logger = logging.getLogger(__name__)

__all__ = ["map_caption", "plot_layer", "write_pngs"]

# Probabilities share one scale across species / k; other layers use their data range.
_FIXED_RANGE = {"probability": (0.0, 1.0), "richness_ge": (0.0, 1.0), "extrapolation": (0.0, 1.0)}
_DRAW_LAYERS = ("richness_mean", "richness_sd", "richness_q05", "richness_q95", "richness_ge",
                "composition_uncertainty", "beta_sor_reference")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_")


def _is_geographic(ds: Any) -> bool:
    return ds["x"].attrs.get("units") == "degrees_east"


def _pairs(text: str) -> str:
    return ", ".join(p.replace("=", " = ") for p in str(text).split(",") if p)


def map_caption(ds: Any, layer: str) -> str:
    """The caption of a figure of ``layer``: what the values are conditional on, from the map's attributes.

    Returns
    -------
    str
        Sentences separated by newlines, e.g. ``"HotVAE, 32 modelled species,
        100 joint posterior draws (seed 0).\\nDetection probability on a
        standard checklist: duration_minutes = 60, ..."``.
    """
    a = ds.attrs
    lines = []
    head = f"{a.get('model', 'model')}, {a['n_species']} modelled species" if "n_species" in a else ""
    if layer in _DRAW_LAYERS and "n_draws" in a:
        head += f", {int(a['n_draws'])} joint posterior draws (seed {a.get('seed', 0)})"
    if head:
        lines.append(head + ".")
    effort = str(a.get("effort", ""))
    effort_names = {p.split("=")[0] for p in effort.split(",") if p}
    other = ",".join(p for p in str(a.get("constants", "")).split(",") if p and p.split("=")[0] not in effort_names)
    if effort:
        lines.append(f"Values are for detection on a standard checklist: {_pairs(effort)}.")
    if other:
        lines.append(f"Covariates held constant in every cell: {_pairs(other)}.")
    if layer == "beta_sor_reference" and "reference_community" in ds[layer].attrs:
        ref = [s for s in str(ds[layer].attrs["reference_community"]).split(",") if s]
        rule = str(ds[layer].attrs.get("reference_rule", ""))
        kind = "regional typical community" if rule.startswith("regional") else "user-given community"
        shown = ", ".join(ref[:8]) + (f", ... ({len(ref) - 8} more)" if len(ref) > 8 else "")
        lines.append(f"Reference: {kind} of {len(ref)} species: {shown}.")
    if layer == "extrapolation" or int(a.get("n_cells_outside_training_range", 0)):
        n, n_all = int(a.get("n_cells_outside_training_range", 0)), int(a.get("n_cells_predicted", 0))
        lines.append(f"{n:,} of {n_all:,} cells ({100 * n / max(n_all, 1):.1f}%) have covariates outside the "
                     "training range.")
    if "training_sites_in_grid" in a and int(a["training_sites_in_grid"]) == 0:
        lines.append(f"None of the {int(a.get('n_training_sites', 0)):,} training sites lies within this map's "
                     "extent: the whole map is a spatial extrapolation.")
    where = [f"CRS {a['crs_name']}"] if "crs_name" in a else []
    if a.get("mask"):
        where.append(f"mask {a['mask']}")
    if where:
        lines.append("; ".join(where) + ".")
    return "\n".join(textwrap.fill(line, 125) for line in lines)


def _degrees(hemis: str):
    def fmt(v: float, _pos: Any = None) -> str:
        v = round(float(v), 6)
        h = "" if v == 0 else (hemis[1] if v > 0 else hemis[0])
        return f"{abs(v):g}\u00b0{h}"
    return fmt


def _axis_labels(ax: Any, ds: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    if _is_geographic(ds):
        ax.xaxis.set_major_formatter(FuncFormatter(_degrees("WE")))
        ax.yaxis.set_major_formatter(FuncFormatter(_degrees("SN")))
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        return
    unit = ds["x"].attrs.get("units", "")
    if unit == "m":
        km = FuncFormatter(lambda v, _pos=None: f"{v / 1000:g}")
        ax.xaxis.set_major_formatter(km)
        ax.yaxis.set_major_formatter(km)
        unit = "km"
    ax.set_xlabel(f"x ({unit})" if unit else "x")
    ax.set_ylabel(f"y ({unit})" if unit else "y")


def _to_map_crs(ds: Any, points: Any, points_crs: Any) -> np.ndarray:
    """Points (n, 2) from ``points_crs`` to the map's CRS (unchanged when either is None)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise InputDataError(f"points must have shape (n_points, 2), got {points.shape}")
    crs = ds.rio.crs
    if points_crs is None or crs is None:
        return points
    from pyproj import CRS, Transformer

    if CRS.from_user_input(points_crs) == CRS.from_user_input(crs):
        return points
    x, y = Transformer.from_crs(points_crs, crs, always_xy=True).transform(points[:, 0], points[:, 1])
    return np.column_stack([x, y])


def _as_outlines(ds: Any, outlines: Any, extent: tuple[float, float, float, float]) -> Outlines | None:
    if outlines is None or isinstance(outlines, Outlines):
        return outlines
    path, layer = (outlines if isinstance(outlines, tuple) else (outlines, None))
    return read_outlines(path, layer, crs=ds.rio.crs, bounds=(extent[0], extent[2], extent[1], extent[3]))


def plot_layer(ds: Any, layer: str, path: str | Path | None = None, *, index: Any = None,
               points: np.ndarray | None = None, points_crs: Any = "EPSG:4326", outlines: Any = None,
               caption: bool = True, title: str | None = None, overwrite: bool = True, dpi: int = 120) -> Any:
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
        Training sites, drawn as small semi-transparent dots with a legend entry.
    points_crs : str or None, default="EPSG:4326"
        CRS of ``points`` (longitude, latitude by default); they are
        reprojected to the map's. None: already in the map's CRS.
    outlines : Outlines, path or (path, layer), optional
        Lines to draw (see :func:`jsdm_hot.maps.outlines.read_outlines`), e.g.
        ``("gis-data.gpkg", "ne_states")``.
    caption : bool, default=True
        Add :func:`map_caption` below the map.
    title : str, optional
    overwrite : bool, default=True
    dpi : int, default=120

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection
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

    # cells not mapped: a mid grey, distinct from the light ends of the sequential and diverging maps
    cmap = colormaps[info["cmap"]].with_extremes(bad="#c4c4c4")
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

    aspect = 1.0 / max(np.cos(np.deg2rad(float(np.mean(y)))), 0.1) if _is_geographic(ds) else 1.0
    text = map_caption(ds, layer) if caption else ""
    n_text = text.count("\n") + 1 if text else 0
    fig_w = 7.5
    map_ratio = ((extent[3] - extent[2]) * aspect) / max(extent[1] - extent[0], 1e-12)
    # about 5.4 in of the width is the map (the rest: tick labels, colour bar); 1.2 in for title and x axis
    fig_h = float(np.clip((fig_w - 2.1) * map_ratio + 1.2, 3.0, 11.0)) + 0.16 * n_text
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    bottom = (0.16 * n_text + 0.1) / fig_h if text else 0.0
    # "compressed": constrained layout for fixed-aspect axes (maps), without their white bands
    fig.set_layout_engine("compressed", rect=(0, bottom, 1, 1 - bottom))
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(values), extent=extent, origin=origin, cmap=cmap, vmin=vmin, vmax=vmax,
                   interpolation="nearest", aspect=aspect)
    handles = []
    lines = _as_outlines(ds, outlines, extent)
    if lines is not None and lines.lines:
        handles.append(ax.add_collection(LineCollection(lines.lines, colors="#1a1a1a", linewidths=0.6, alpha=0.85,
                                                        label=f"outlines: {lines.label}")))
    if points is not None:
        pts = _to_map_crs(ds, points, points_crs)
        seen = int(np.sum((pts[:, 0] >= extent[0]) & (pts[:, 0] <= extent[1]) & (pts[:, 1] >= extent[2])
                          & (pts[:, 1] <= extent[3])))
        where = "" if seen == len(pts) else f", {seen:,} within the map"
        handles.append(ax.scatter(pts[:, 0], pts[:, 1], s=0.6, c="black", linewidths=0, alpha=0.25,
                                  rasterized=True, label=f"training sites (n = {len(pts):,}{where})"))
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    if handles:
        leg = ax.legend(handles=handles, loc="lower left", fontsize=7, markerscale=4, framealpha=0.85)
        for h in leg.legend_handles:
            h.set_alpha(1.0)
    units = ds[layer].attrs.get("units", "")
    cb_label = info["label"] + ("" if units in ("", "1") or units in info["label"] else f" [{units}]")
    if layer == "probability" and ds.attrs.get("effort"):
        cb_label = "probability of detection"
    if layer == "richness_ge" and band_label:
        cb_label = f"P(richness \u2265 {band_label[4:]})"
    fig.colorbar(im, ax=ax, shrink=0.85).set_label(cb_label)
    _axis_labels(ax, ds)
    ax.set_title(title if title is not None else _title(ds, layer, info, band_label), fontsize=10)
    if text:
        fig.text(0.01, 0.06 / fig_h, text, ha="left", va="bottom", fontsize=7, color="#333333")
    if path is not None:
        with atomic_path(path, overwrite=overwrite) as tmp:
            with open(tmp, "wb") as fh:
                fig.savefig(fh, format="png")
        logger.info("wrote %s", path)
    return fig


def _title(ds: Any, layer: str, info: dict, band_label: str) -> str:
    title = info["long_name"] if not band_label else f"{info['long_name']}: {band_label}"
    if layer == "probability" and ds.attrs.get("effort"):
        title = f"probability of detection on a standard checklist: {band_label}"
    elif layer == "richness_ge" and band_label:
        title = f"posterior probability that species richness \u2265 {band_label[4:]}"
    elif layer == "composition_pc" and band_label:
        evr = np.atleast_1d(ds.attrs.get("pca_explained_variance_ratio", []))
        i = int(band_label.split()[-1]) - 1
        share = f" ({100 * float(evr[i]):.0f}% of variance)" if i < evr.size else ""
        title = f"predicted species composition: principal axis {i + 1}{share}"
    elif layer == "beta_sor_reference" and ds[layer].attrs.get("reference_community"):
        n_ref = len(str(ds[layer].attrs["reference_community"]).split(","))
        title = f"mean Sorensen dissimilarity to the reference community ({n_ref} species)"
    if "n_draws" in ds.attrs and layer in _DRAW_LAYERS:
        title += f"\n({int(ds.attrs['n_draws'])} joint posterior draws)"
    return title


def write_pngs(ds: Any, out_dir: str | Path, layers: Sequence[str] | None = None, *,
               points: np.ndarray | None = None, points_crs: Any = "EPSG:4326", outlines: Any = None,
               overwrite: bool = True) -> list[Path]:
    """One PNG per layer, and per band of multi-band layers (``probability_<species>.png``, ...).

    ``points``, ``points_crs`` and ``outlines`` are as in :func:`plot_layer`;
    the outlines are read once for all figures.

    Returns
    -------
    list of Path
    """
    out_dir = Path(out_dir)
    names = list(ds.data_vars) if layers is None else list(layers)
    if outlines is not None and not isinstance(outlines, Outlines):
        x0, y0, x1, y1 = ds.rio.bounds()
        outlines = _as_outlines(ds, outlines, (x0, x1, y0, y1))
    if points is not None:
        points = _to_map_crs(ds, points, points_crs)
    kw = dict(points=points, points_crs=None, outlines=outlines, overwrite=overwrite)
    written = []
    for name in names:
        da = ds[name]
        if da.ndim == 3:
            dim = da.dims[0]
            for v in da[dim].values:
                p = out_dir / f"{name}_{_safe(v)}.png"
                plot_layer(ds, name, p, index=v, **kw)
                written.append(p)
        else:
            p = out_dir / f"{name}.png"
            plot_layer(ds, name, p, **kw)
            written.append(p)
    return written
