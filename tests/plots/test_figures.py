"""Figures built from tidy tables of synthetic data and draws: artists, labels and numbers
against references (lifelines, scipy)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter, KaplanMeierFitter
from lifelines.plotting import add_at_risk_counts
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from scipy import stats

from bridgebayes import plots
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.reference.curves import (
    aalen_johansen_curves,
    at_risk_table,
    at_risk_times,
    km_curves,
    number_at_risk,
)
from bridgebayes.summaries.decide import decide
from bridgebayes.summaries.densities import hr_density

ARMS = ("blinatumomab", "CAR-T")


def _data(simulate, seed: int = 3) -> EndpointData:
    d = simulate(seed, 20, shape=1.2, scale=20.0, time_ratio=1.6, censor=(10.0, 40.0))
    return EndpointData("grfs", d.time, d.event, d.arm, ARMS, d.ids)


def _curves(seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    log_hr = rng.normal(-0.4, 0.3, 2000)
    rate = rng.gamma(30.0, 0.002, 2000)

    def survival(t, arm):
        return np.exp(-rate[:, None] * np.asarray(t)[None, :] * np.exp(log_hr[:, None] * arm))

    return log_hr, decide(log_hr, survival=survival, arms=ARMS).curves


def _by_gid(fig: Figure, gid: str) -> list:
    return [a for a in fig.findobj() if a.get_gid() == gid]


def _km_figure(data: EndpointData, curves: pd.DataFrame | None = None, **options) -> Figure:
    horizon = float(curves["time"].max()) if curves is not None else float(data.time.max())
    return plots.km_posterior_figure(km_curves(data), at_risk_table(data, horizon), curves,
                                     arms=ARMS, endpoint="GRFS", time_zero="transplant",
                                     **options)


def _hr_figure(log_hr: np.ndarray, thresholds=(1.0, 0.8)) -> Figure:
    return plots.hr_density_figure(hr_density(log_hr),
                                   {c: float(np.mean(log_hr < np.log(c))) for c in thresholds},
                                   median=float(np.exp(np.median(log_hr))), arms=ARMS,
                                   endpoint="GRFS")


def test_km_figure_has_km_posterior_and_band_per_arm(simulate):
    data = _data(simulate)
    _, curves = _curves()
    fig = _km_figure(data, curves)
    ax, table_ax = fig.axes
    for code, arm in enumerate(ARMS):
        (km,) = _by_gid(fig, f"km:{arm}")
        mask = data.arm == code
        sf = KaplanMeierFitter().fit(data.time[mask], data.event[mask]).survival_function_
        np.testing.assert_allclose(km.get_ydata(), sf.iloc[:, 0].to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(km.get_xdata(), sf.index.to_numpy(), rtol=1e-12)
        (median,) = _by_gid(fig, f"posterior:{arm}")
        part = curves[curves["arm"] == arm]
        np.testing.assert_allclose(median.get_ydata(), part["median"].to_numpy())
        (band,) = _by_gid(fig, f"band:{arm}")
        assert isinstance(band, PolyCollection)
        (censor,) = _by_gid(fig, f"censor:{arm}")
        assert len(censor.get_xdata()) == int(np.sum(mask & (data.event == 0)))
    assert len(ax.get_lines()) == 6  # KM, posterior median, censor marks per arm
    assert ax.get_ylabel() == "GRFS probability"
    assert table_ax.get_xlabel() == "Months since transplant"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"CAR-T: Kaplan–Meier (n = {int(np.sum(data.arm == 1))})" in legend
    assert any(text.startswith("blinatumomab: posterior median") for text in legend)


def _lifelines_at_risk(data: EndpointData, ticks: np.ndarray) -> list[list[int]]:
    """Numbers at risk as lifelines' own add_at_risk_counts prints them, per tick."""
    fig = Figure()
    ax = fig.add_subplot()
    fitters = [KaplanMeierFitter(label=arm).fit(data.time[data.arm == code],
                                                data.event[data.arm == code])
               for code, arm in enumerate(ARMS)]
    for f in fitters:
        f.plot_survival_function(ax=ax)
    ax.set_xlim(0, ticks[-1])
    add_at_risk_counts(*fitters, ax=ax, fig=fig, rows_to_show=["At risk"], xticks=ticks)
    labels = [t.get_text() for t in fig.axes[-1].get_xticklabels()]
    return [[int(n) for n in re.findall(r"(?<![\w-])\d+(?![\w-])", label)] for label in labels]


def test_numbers_at_risk_equal_lifelines_counts(simulate):
    data = _data(simulate, seed=5)
    _, curves = _curves()
    fig = _km_figure(data, curves)
    ticks = at_risk_times(float(curves["time"].max()))
    expected = _lifelines_at_risk(data, ticks)
    for code, arm in enumerate(ARMS):
        shown = [int(t.get_text()) for t in _by_gid(fig, f"at_risk:{arm}")]
        assert shown == [row[code] for row in expected]
        assert shown[0] == int(np.sum(data.arm == code))
    # ticks that are themselves event times
    times = np.sort(data.time)[[3, 10, 20]]
    ours = number_at_risk(data.time[data.arm == 1], np.concatenate([[0.0], times]))
    assert ours.tolist() == [row[1] for row in _lifelines_at_risk(
        data, np.concatenate([[0.0], times]))]


def test_km_figure_without_posterior_and_bad_curves(simulate):
    data = _data(simulate)
    fig = _km_figure(data)
    assert not _by_gid(fig, "posterior:CAR-T") and _by_gid(fig, "km:CAR-T")
    assert fig.axes[0].get_xlim()[1] == pytest.approx(float(data.time.max()))
    _, curves = _curves()
    with pytest.raises(plots.PlotError, match=r"label\(s\) \['placebo'\]"):
        _km_figure(data, curves.replace({"arm": {"CAR-T": "placebo"}}))
    with pytest.raises(plots.PlotError, match=r"missing column\(s\) \['upper'\]"):
        _km_figure(data, curves.drop(columns="upper"))
    with pytest.raises(plots.PlotError, match=r"Kaplan–Meier table: missing column\(s\) "
                                              r"\['censored'\]"):
        plots.km_posterior_figure(km_curves(data).drop(columns="censored"),
                                  at_risk_table(data, 30.0), arms=ARMS, endpoint="GRFS")


def test_hr_density_shades_probabilities_and_labels_direction():
    log_hr, _ = _curves()
    fig = _hr_figure(log_hr)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert "HR < 1 favours CAR-T" in ax.get_xlabel()
    assert "CAR-T vs blinatumomab" in ax.get_xlabel()
    text = _by_gid(fig, "probabilities")[0].get_text()
    for c in (1.0, 0.8):
        p = np.mean(log_hr < np.log(c))
        assert f"P(HR < {c:g}) = {100 * p:.1f}%" in text
        (fill,) = _by_gid(fig, f"p_below:{c:g}")
        vertices = fill.get_paths()[0].vertices
        assert vertices[:, 0].max() <= c
        # shaded area (in log-HR units) is the KDE mass below log c: close to the draw fraction
        x, y = np.log(vertices[:, 0]), vertices[:, 1]
        area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
        assert area == pytest.approx(p, abs=0.02)
    (density,) = _by_gid(fig, "density")
    hr, dens = density.get_xdata(), density.get_ydata()
    np.testing.assert_allclose(dens, stats.gaussian_kde(log_hr)(np.log(hr)), rtol=1e-9)
    assert np.trapezoid(dens, np.log(hr)) == pytest.approx(1.0, abs=0.01)
    (median,) = _by_gid(fig, "median")
    assert median.get_xdata()[0] == pytest.approx(np.exp(np.median(log_hr)))


def test_hr_density_rejects_degenerate_draws():
    from bridgebayes.core.errors import BridgeBayesError

    with pytest.raises(BridgeBayesError, match="at least 2 distinct"):
        hr_density(np.zeros(10))
    with pytest.raises(plots.PlotError, match="at least 2 points"):
        plots.hr_density_figure(hr_density(np.arange(10.0)).iloc[:1], {1.0: 0.5}, median=1.0,
                                arms=ARMS, endpoint="OS")


FOREST = pd.DataFrame({
    "label": ["OS · Weibull", "OS · PEM", "GRFS · Weibull", "GRFS · PEM"],
    "prior": ["neutral", "skeptical"] * 2, "median": [0.9, 1.2, 0.5, 0.6],
    "lower": [0.3, 0.5, 0.2, 0.3], "upper": [2.5, 3.0, 1.1, 1.2]})


def test_forest_has_one_row_per_combination():
    fig = plots.forest_figure(FOREST, arms=ARMS)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == FOREST["label"].tolist()  # top to bottom, in the table's order
    ys = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    assert [ys[label] for label in FOREST["label"]] == sorted(ys.values(), reverse=True)
    (segments,) = _by_gid(fig, "intervals")
    bounds = sorted(tuple(s[:, 0]) for s in segments.get_segments())
    assert bounds == sorted(zip(FOREST["lower"], FOREST["upper"], strict=True))
    medians = np.concatenate([line.get_xdata() for line in ax.get_lines()
                              if str(line.get_gid()).startswith("medians:")])
    assert sorted(medians) == sorted(FOREST["median"])
    (neutral,) = _by_gid(fig, "medians:neutral")  # one marker series per prior
    assert sorted(neutral.get_xdata()) == [0.5, 0.9]
    assert ax.get_xscale() == "log" and "HR < 1 favours CAR-T" in ax.get_xlabel()


def test_forest_rejects_bad_tables():
    with pytest.raises(plots.PlotError, match=r"\['prior'\]"):
        plots.forest_figure(FOREST.drop(columns="prior"), arms=ARMS)
    with pytest.raises(plots.PlotError, match="positive finite"):
        plots.forest_figure(FOREST.assign(lower=0.0), arms=ARMS)


def _competing(seed: int = 2) -> EndpointData:
    rng = np.random.default_rng(seed)
    n = 60
    time = rng.exponential(20.0, n)  # continuous: no ties
    cause = rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3])
    arm = np.repeat([0, 1], n // 2)
    return EndpointData("relapse_nrm", time, cause, arm, ARMS, np.arange(n),
                        ("relapse", "nrm"))


def test_aalen_johansen_curves_match_lifelines():
    data = _competing()
    table = aalen_johansen_curves(data)
    for code, arm in enumerate(ARMS):
        mask = data.arm == code
        for k, cause in enumerate(data.causes, start=1):
            ajf = AalenJohansenFitter(calculate_variance=False).fit(
                data.time[mask], data.event[mask], event_of_interest=k)
            ours = table[(table["arm"] == arm) & (table["component"] == cause)]
            theirs = ajf.cumulative_density_.iloc[:, 0]
            np.testing.assert_allclose(
                ours["estimate"].to_numpy(),
                theirs.reindex(ours["time"].to_numpy(), method="ffill").to_numpy(), atol=1e-12)


def test_cif_figure_panels_steps_and_bands():
    data = _competing()
    aj = aalen_johansen_curves(data)
    grid = np.linspace(0, 60, 50)
    posterior = pd.concat([pd.DataFrame({"time": grid, "arm": arm, "component": cause,
                                         "median": 1 - np.exp(-grid / 40),
                                         "lower": 1 - np.exp(-grid / 60),
                                         "upper": 1 - np.exp(-grid / 25)})
                           for arm in ARMS for cause in data.causes])
    names = {"relapse": "relapse", "nrm": "NRM"}
    fig = plots.cif_figure(aj, posterior, arms=ARMS, cause_labels=names, time_zero="transplant")
    assert [ax.get_title() for ax in fig.axes] == ["relapse", "NRM"]  # reader-facing labels
    for ax, cause in zip(fig.axes, data.causes, strict=True):
        assert ax.get_ylabel() == f"Cumulative incidence of {names[cause]}"
        assert ax.get_xlabel() == "Months since transplant"
        gids = {a.get_gid() for a in ax.get_children()}
        assert {f"aj:{arm}:{cause}" for arm in ARMS} <= gids
        assert {f"band:{arm}:{cause}" for arm in ARMS} <= gids
    (step,) = _by_gid(fig, "aj:CAR-T:relapse")
    part = aj[(aj["arm"] == "CAR-T") & (aj["component"] == "relapse")]
    np.testing.assert_allclose(step.get_ydata()[:-1], part["estimate"].to_numpy())
    fig = plots.cif_figure(aj, arms=ARMS)
    assert not _by_gid(fig, "band:CAR-T:nrm")
    assert [ax.get_title() for ax in fig.axes] == ["relapse", "nrm"]  # default: the codes
    with pytest.raises(plots.PlotError, match=r"\['component'\]"):
        plots.cif_figure(aj.drop(columns="component"), arms=ARMS)


def _ppc_table(grid: np.ndarray) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"time": grid, "arm": arm, "observed": np.exp(-grid / 20),
                                    "lower": np.exp(-grid / 15), "median": np.exp(-grid / 20),
                                    "upper": np.exp(-grid / 25)}) for arm in ARMS])


def test_ppc_figure_observed_and_replicated_bands():
    grid = np.linspace(0, 30, 31)
    table = _ppc_table(grid)
    fig = plots.ppc_figure(table, arms=ARMS, title="OS: observed vs replicated KM")
    (ax,) = fig.axes
    for arm in ARMS:
        (observed,) = _by_gid(fig, f"observed:{arm}")
        np.testing.assert_allclose(observed.get_ydata(), np.exp(-grid / 20))
        assert _by_gid(fig, f"band:{arm}") and _by_gid(fig, f"replicated:{arm}")
    assert ax.get_title() == "OS: observed vs replicated KM"
    with pytest.raises(plots.PlotError, match="'observed'"):
        plots.ppc_figure(table.drop(columns="observed"), arms=ARMS, title="OS")


def test_figures_are_png_and_leave_no_pyplot_state(simulate):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    log_hr, curves = _curves()
    km_png = plots.figure_png(_km_figure(_data(simulate), curves))
    png = km_png + plots.figure_png(_hr_figure(log_hr))
    assert png.startswith(b"\x89PNG")
    assert plots.figure_png(_km_figure(_data(simulate), curves)) == km_png  # no date stamp
    assert plt.get_fignums() == before


def test_ppc_title_fits_inside_the_figure():
    fig = plots.ppc_figure(_ppc_table(np.linspace(0, 30, 16)), arms=ARMS,
                           title="GRFS — Weibull (enthusiastic prior): observed vs "
                                 "replicated KM")
    fig.canvas.draw()
    title = fig.axes[0].title.get_window_extent(fig.canvas.get_renderer())
    width = fig.get_size_inches()[0] * fig.dpi
    assert title.x0 >= 0 and title.x1 <= width
