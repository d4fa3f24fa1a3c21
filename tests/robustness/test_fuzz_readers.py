"""Property-based tests (hypothesis) of the readers and the metrics, with a bounded budget.

* random valid wide tables are read back exactly (write -> read round trip);
* random corruptions of a real EBD extract + sampling file give either a result
  or a clean :class:`~jsdm_hot.errors.JsdmHotError`, never another exception;
* random valid inputs to the metrics never crash, and emit no RuntimeWarning
  (no 0/0), whatever all-zero species or sites they contain.

Budgets (``max_examples``) keep the file under a minute on 2 cores.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import require_shared_data

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from jsdm_hot.data.community import CommunityData  # noqa: E402
from jsdm_hot.errors import JsdmHotError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"

_SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


def _auk() -> Path:
    return require_shared_data("ebird_auk")


# ----------------------------------------------------------------------------- wide tables
@st.composite
def communities(draw):
    n = draw(st.integers(1, 8))
    p = draw(st.integers(0, 3))
    L = draw(st.integers(1, 4))
    finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12, width=64)
    X = np.array(draw(st.lists(st.lists(finite, min_size=p, max_size=p), min_size=n, max_size=n)),
                 dtype=np.float64).reshape(n, p)
    Y = np.array(draw(st.lists(st.lists(st.integers(0, 1), min_size=L, max_size=L), min_size=n, max_size=n)),
                 dtype=np.uint8)
    ids = draw(st.lists(st.text("abcXYZ019_-", min_size=1, max_size=6), min_size=n, max_size=n, unique=True))
    with_coords = draw(st.booleans())
    coords = None
    if with_coords:
        lon = draw(st.lists(st.floats(-180, 180), min_size=n, max_size=n))
        lat = draw(st.lists(st.floats(-90, 90), min_size=n, max_size=n))
        coords = np.column_stack([lon, lat])
    return CommunityData.from_arrays(
        X, Y, site_ids=[f"s{i}" for i in ids], species=[f"sp_{j}" for j in range(L)],
        covariates=[f"x{j}" for j in range(p)], coords=coords)


@settings(max_examples=40, **_SETTINGS)
@given(data=communities(), suffix=st.sampled_from([".csv", ".tsv", ".csv.gz"]))
def test_wide_table_round_trip(tmp_path, data, suffix):
    from jsdm_hot.data.tables import read_wide_csv, write_wide_csv

    path = write_wide_csv(data, tmp_path / f"sites{suffix}")
    back = read_wide_csv(path, species_prefix="sp_", covariate_cols=list(data.covariates))
    assert list(back.site_ids) == list(data.site_ids)
    assert back.species == data.species and back.covariates == data.covariates
    np.testing.assert_array_equal(back.X, data.X)  # full precision: exact
    np.testing.assert_array_equal(back.Y, data.Y)
    if data.coords is None:
        assert back.coords is None
    else:
        np.testing.assert_array_equal(back.coords, data.coords)


@settings(max_examples=60, **_SETTINGS)
@given(text=st.text(st.sampled_from(list("site_d,lonat01.5\n\"x-eNA\t ")), max_size=120))
def test_arbitrary_csv_text_is_read_or_refused_cleanly(tmp_path, text):
    from jsdm_hot.data.tables import read_wide_csv

    p = tmp_path / "t.csv"
    p.write_text(text)
    try:
        read_wide_csv(p)
    except JsdmHotError:
        pass


# ----------------------------------------------------------------------------- EBD corruption
_CORRUPTIONS = ("delete_column", "garbage_cell", "truncate_line", "inject_tab", "drop_line", "duplicate_line")


@pytest.fixture(scope="module")
def ebd_lines():
    d = _auk()
    ebd = (d / "zerofill-ex_ebd.txt").read_text(encoding="utf-8").splitlines()
    sampling = (d / "zerofill-ex_sampling.txt").read_text(encoding="utf-8").splitlines()
    # keep the fuzz cheap: the header and the first 60 observations; the sampling file (729 events) stays whole,
    # so the uncorrupted pair is a valid extract
    return ebd[:61], sampling


def test_uncorrupted_sample_loads(tmp_path, ebd_lines):
    from jsdm_hot.data.ebird import load_ebird

    ebd, sampling = ebd_lines
    e, s = tmp_path / "ebd.txt", tmp_path / "sampling.txt"
    e.write_text("\n".join(ebd) + "\n", encoding="utf-8")
    s.write_text("\n".join(sampling) + "\n", encoding="utf-8")
    out = load_ebird(e, s, threads=1, tmpdir=tmp_path)
    assert out.n_sites > 100 and out.n_species >= 1 and out.Y.sum() > 0


def _corrupt(lines: list[str], kind: str, draw) -> list[str]:
    lines = list(lines)
    i = draw(st.integers(0, len(lines) - 1))
    cells = lines[i].split("\t")
    if kind == "delete_column":
        j = draw(st.integers(0, len(lines[0].split("\t")) - 1))
        return ["\t".join(c for k, c in enumerate(line.split("\t")) if k != j) for line in lines]
    if kind == "garbage_cell":
        j = draw(st.integers(0, len(cells) - 1))
        cells[j] = draw(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8))
        lines[i] = "\t".join(cells)
    elif kind == "truncate_line":
        lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    elif kind == "inject_tab":
        k = draw(st.integers(0, len(lines[i])))
        lines[i] = lines[i][:k] + "\t" + lines[i][k:]
    elif kind == "drop_line":
        del lines[i]
    elif kind == "duplicate_line":
        lines.insert(i, lines[i])
    return lines


def test_empty_sampling_event_id_in_ebd_is_a_clean_error(tmp_path, ebd_lines):
    from jsdm_hot.data.ebird import zero_fill

    ebd, sampling = ebd_lines
    header = ebd[0].split("\t")
    cells = ebd[1].split("\t")
    cells[header.index("SAMPLING EVENT IDENTIFIER")] = ""
    e, s = tmp_path / "ebd.txt", tmp_path / "sampling.txt"
    e.write_text("\n".join([ebd[0], "\t".join(cells), *ebd[2:]]) + "\n", encoding="utf-8")
    s.write_text("\n".join(sampling) + "\n", encoding="utf-8")
    with pytest.raises(JsdmHotError, match="SAMPLING EVENT IDENTIFIER"):
        zero_fill(e, s)


@settings(max_examples=80, **_SETTINGS)
@given(data=st.data(), kind=st.sampled_from(_CORRUPTIONS), target=st.sampled_from(["ebd", "sampling"]))
def test_corrupted_ebd_gives_result_or_clean_error(tmp_path, ebd_lines, data, kind, target):
    from jsdm_hot.data.ebird import load_ebird

    ebd, sampling = ebd_lines
    if target == "ebd":
        ebd = _corrupt(ebd, kind, data.draw)
    else:
        sampling = _corrupt(sampling, kind, data.draw)
    e, s = tmp_path / "ebd.txt", tmp_path / "sampling.txt"
    e.write_text("\n".join(ebd) + "\n", encoding="utf-8")
    s.write_text("\n".join(sampling) + "\n", encoding="utf-8")
    try:
        out = load_ebird(e, s, threads=1, tmpdir=tmp_path)
    except JsdmHotError as exc:
        assert str(exc)  # a message for the user
        return
    assert out.Y is not None and out.Y.shape[0] == out.n_sites and np.isfinite(out.X).all()


# ----------------------------------------------------------------------------- metrics
@st.composite
def predictions(draw):
    n = draw(st.integers(1, 12))
    L = draw(st.integers(1, 5))
    S = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    mode = draw(st.sampled_from(["random", "all_zero", "all_one", "zero_species", "zero_site"]))
    y = (rng.random((n, L)) < 0.4).astype(np.uint8)
    if mode == "all_zero":
        y[:] = 0
    elif mode == "all_one":
        y[:] = 1
    elif mode == "zero_species":
        y[:, 0] = 0
    elif mode == "zero_site":
        y[0] = 0
    prob = rng.random((n, L))
    if draw(st.booleans()):  # exact 0 / 1 probabilities and ties
        prob = np.round(prob)
    draws = (rng.random((S, n, L)) < prob).astype(np.uint8)
    return y, prob, draws


@settings(max_examples=80, **_SETTINGS)
@given(case=predictions(), threshold=st.floats(0.0, 1.0))
def test_metrics_never_crash_on_valid_input(case, threshold):
    from jsdm_hot.metrics import beta_all, mlc_report, norberg_metrics, richness_summary

    y, prob, draws = case
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # 0/0, log(0) ... would warn
        rep = mlc_report(y, prob, thresholds=threshold)
        table = norberg_metrics(y, prob, draws, n_pairs=10, rng=0)
        beta = beta_all(y, draws[0])
        summary = richness_summary(draws)
    for key in ("ebF1", "miF1", "maF1", "hamming_accuracy"):
        assert 0.0 <= rep[key] <= 1.0, (key, rep[key])
    assert 0 <= rep["n_species_auc"] <= y.shape[1]
    assert set(table.columns) == {"aspect", "measure", "value", "better", "main"}
    for v in beta.values():
        v = np.asarray(v, dtype=float)
        assert np.all(np.isnan(v) | ((v >= 0) & (v <= 1)))
    np.testing.assert_allclose(summary.mean, draws.sum(axis=2).mean(axis=0))
    assert summary.n_draws == draws.shape[0]
