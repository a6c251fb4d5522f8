"""Published summary figures (``published.toml``): loading and validation.

The file holds what a paper reports — arm sizes, landmark Kaplan–Meier
survival, landmark cumulative incidence, p-values with the test assumed,
follow-up, accrual — together with its source.  See
``data/cao2025/published.toml`` for a documented example.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from bridgebayes.core.errors import PublishedSummaryError
from bridgebayes.core.readers import read_toml
from bridgebayes.reconstruct.timemodel import CensoringModel, fit_censoring

MAX_MONTHS = 1200.0  # 100 years: the published summaries are in months

__all__ = ["Figure", "PublishedSummary", "load_published"]

SURVIVAL_ENDPOINTS = ("os", "pfs", "grfs")
INCIDENCE_ENDPOINTS = ("nrm", "relapse")
TESTS = {"survival": ("log-rank",), "cumulative_incidence": ("gray",)}
TOP_KEYS = {"source", "arms", "landmark", "survival", "cumulative_incidence", "followup",
            "accrual", "censoring", "tolerance"}
#: Largest arm size accepted: the reconstruction is meant for small studies.
MAX_ARM_SIZE = 10_000
#: Keys of a figure table besides the arm labels (an arm cannot be named like them).
FIGURE_KEYS = ("pooled", "p_value", "test")


@dataclass(frozen=True)
class Figure:
    """One published number that a reconstruction must reproduce.

    Attributes
    ----------
    key
        Stable identifier, e.g. ``"survival.os.CAR-T"`` or ``"p_value.grfs"``.
    kind
        ``"survival"``, ``"cumulative_incidence"``, ``"p_value"`` or ``"followup"``.
    endpoint
        ``"os"``, ``"pfs"``, ``"grfs"``, ``"nrm"``, ``"relapse"`` or ``"followup"``.
    group
        Arm label, ``"pooled"``, or the statistic (``"median"``, ``"min"``, ``"max"``).
    target
        Published value (proportions for percentages, months for follow-up).
    tolerance
        Largest absolute error that still counts as a match.
    required
        Whether a reconstruction must match it (pooled figures are best effort,
        since they may not be jointly reachable with the per-arm ones).
    """

    key: str
    kind: str
    endpoint: str
    group: str
    target: float
    tolerance: float
    required: bool


@dataclass(frozen=True)
class PublishedSummary:
    """Validated contents of a ``published.toml`` file."""

    path: Path
    sha256: str
    source: dict
    arms: tuple[str, str]
    n: dict[str, int]
    landmark: float
    figures: tuple[Figure, ...]
    followup: dict[str, float]
    #: shortest potential follow-up (cut-off minus end of accrual), used by the annealing
    #: search of :mod:`bridgebayes.reconstruct.search`
    censoring_floor: float
    #: the censoring model of ``[censoring]`` (:mod:`bridgebayes.reconstruct.timemodel`);
    #: ``None`` without ``[accrual]``
    censoring: CensoringModel | None
    test_of: dict[str, str]

    def figure(self, key: str) -> Figure:
        """Return the figure with this key."""
        for fig in self.figures:
            if fig.key == key:
                return fig
        raise KeyError(key)


def _fail(path: Path, key: str, expected: str, got: object = None) -> PublishedSummaryError:
    tail = "" if got is None else f", got {got!r}"
    return PublishedSummaryError(f"{path}: key {key!r}: expected {expected}{tail}")


def _number(path: Path, table: dict, key: str, where: str, *, lo: float, hi: float) -> float:
    if key not in table:
        raise _fail(path, f"{where}.{key}", "a number (missing)")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or (isinstance(value, float) and not math.isfinite(value)) or not lo <= value <= hi:
        raise _fail(path, f"{where}.{key}", f"a number in [{lo}, {hi}]", value)
    return float(value)


def _no_unknown(path: Path, table: dict, allowed: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise _fail(path, where, "a table", table)
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise PublishedSummaryError(
            f"{path}: unknown key(s) {unknown} in [{where}]; allowed: {sorted(allowed)}")


def _months_between(path: Path, key: str, start: str, end: str) -> float:
    if not all(isinstance(x, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}", x)
               for x in (start, end)):
        raise _fail(path, key, "year-month strings like '2017-03'", (start, end))
    y0, m0 = (int(x) for x in start.split("-"))
    y1, m1 = (int(x) for x in end.split("-"))
    if not (1 <= m0 <= 12 and 1 <= m1 <= 12):
        raise _fail(path, key, "months between 01 and 12", (start, end))
    months = (y1 - y0) * 12 + (m1 - m0)
    if months < 0:
        raise _fail(path, key, "an end after the start", (start, end))
    return float(months)


def _landmark_figures(path: Path, doc: dict, arms: tuple[str, str], half_unit: float,
                      p_tol: float) -> tuple[list[Figure], dict[str, str]]:
    figures, test_of = [], {}
    for kind, allowed in (("survival", SURVIVAL_ENDPOINTS),
                          ("cumulative_incidence", INCIDENCE_ENDPOINTS)):
        section = doc.get(kind, {})
        _no_unknown(path, section, set(allowed), kind)
        for endpoint, table in section.items():
            where = f"{kind}.{endpoint}"
            _no_unknown(path, table, {*arms, "pooled", "p_value", "test"}, where)
            for group in (*arms, "pooled"):
                if group == "pooled" and group not in table:
                    continue
                value = _number(path, table, group, where, lo=0.0, hi=100.0) / 100.0
                figures.append(Figure(f"{where}.{group}", kind, endpoint, group, value,
                                      half_unit, required=group != "pooled"))
            if "p_value" in table:
                test = table.get("test")
                if test not in TESTS[kind]:
                    raise _fail(path, f"{where}.test", f"one of {TESTS[kind]}", test)
                value = _number(path, table, "p_value", where, lo=0.0, hi=1.0)
                figures.append(Figure(f"p_value.{endpoint}", "p_value", endpoint, test, value,
                                      p_tol, required=True))
                test_of[endpoint] = test
    return figures, test_of


def _arms(path: Path, arms_doc: dict, expected: tuple[str, str] | None) -> tuple[str, str]:
    _no_unknown(path, arms_doc, {"reference", "treatment", "n"}, "arms")
    arms = (arms_doc.get("reference"), arms_doc.get("treatment"))
    if not all(isinstance(a, str) and a.strip() == a and a for a in arms) or arms[0] == arms[1]:
        raise _fail(path, "arms.reference/arms.treatment",
                    "two distinct labels without surrounding spaces", arms)
    clash = [a for a in arms if a in FIGURE_KEYS]
    if clash:
        raise _fail(path, "arms.reference/arms.treatment",
                    f"labels other than {list(FIGURE_KEYS)} (keys of the figure tables)", clash)
    if expected is not None and set(arms) != set(expected):
        raise PublishedSummaryError(
            f"{path}: keys 'arms.reference'/'arms.treatment': the arm labels {list(arms)} are "
            f"not those of the analysis {list(expected)}; use the same labels in both files")
    return arms[0], arms[1]


def _arm_sizes(path: Path, n_doc: object, arms: tuple[str, str]) -> dict[str, int]:
    _no_unknown(path, n_doc, set(arms), "arms.n")
    n = {}
    for arm in arms:
        value = n_doc.get(arm)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ARM_SIZE:
            raise _fail(path, f"arms.n.{arm}", f"an integer from 1 to {MAX_ARM_SIZE}", value)
        n[arm] = value
    return n


def _censoring(path: Path, table: object, window: float,
               followup: dict[str, float]) -> CensoringModel:
    """The ``[censoring]`` model: accrual shape stated; cut-off and loss rate fitted to the
    published follow-up (``"fit"``, the default) or stated as numbers (assumptions)."""
    _no_unknown(path, table, {"accrual_shape", "cutoff", "loss_per_year"}, "censoring")
    if window <= 0:
        raise _fail(path, "accrual.start/end", "an accrual window of at least one month")
    shape = _number(path, {"accrual_shape": 1.0, **table}, "accrual_shape", "censoring",
                    lo=0.1, hi=20.0)
    cutoff = None
    if table.get("cutoff", "fit") != "fit":
        if isinstance(table["cutoff"], str):
            raise _fail(path, "censoring.cutoff", "'fit' or a number of months",
                        table["cutoff"])
        cutoff = _number(path, table, "cutoff", "censoring", lo=window, hi=MAX_MONTHS)
        if cutoff < followup["max"]:
            raise _fail(path, "censoring.cutoff", f"'fit' or a number >= followup.max "
                        f"({followup['max']:g}): nobody is followed beyond the cut-off", cutoff)
    if table.get("loss_per_year", "fit") != "fit":
        if isinstance(table["loss_per_year"], str):
            raise _fail(path, "censoring.loss_per_year", "'fit' or a number in [0, 0.99]",
                        table["loss_per_year"])
        loss = _number(path, table, "loss_per_year", "censoring", lo=0.0, hi=0.99)
        cutoff = followup["max"] if cutoff is None else cutoff
        return CensoringModel(window, shape, cutoff, -math.log1p(-loss) / 12.0)
    return fit_censoring(window=window, shape=shape, followup=followup, cutoff=cutoff,
                         where=f"{path}: key 'censoring.loss_per_year' = 'fit'")


def load_published(path: str | os.PathLike[str], *,
                   arms: tuple[str, str] | None = None) -> PublishedSummary:
    """Load and validate a published-summary TOML file.

    Parameters
    ----------
    path
        Path to the file.
    arms
        The analysis' ``(reference, treatment)`` labels, when known (a spec's ``[arms]``):
        the file must use the same two labels.

    Returns
    -------
    PublishedSummary

    Raises
    ------
    bridgebayes.core.errors.PublishedSummaryError
        Naming the file, the key and what was expected.
    """
    path = Path(path)
    raw, doc = read_toml(path, PublishedSummaryError)
    _no_unknown(path, doc, TOP_KEYS, "top level")
    for section in ("source", "arms", "landmark", "followup"):
        if not isinstance(doc.get(section), dict):
            raise _fail(path, section, "a table")
    arms = _arms(path, doc["arms"], expected=arms)
    n = _arm_sizes(path, doc["arms"].get("n", {}), arms)
    landmark_doc = doc["landmark"]
    _no_unknown(path, landmark_doc, {"time", "time_unit", "percent_decimals"}, "landmark")
    if landmark_doc.get("time_unit") != "months":
        raise _fail(path, "landmark.time_unit", "'months'", landmark_doc.get("time_unit"))
    landmark = _number(path, landmark_doc, "time", "landmark", lo=1e-9, hi=MAX_MONTHS)
    decimals = landmark_doc.get("percent_decimals")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6:
        raise _fail(path, "landmark.percent_decimals", "an integer 0-6", decimals)
    half_unit = 0.5 * 10.0 ** (-decimals) / 100.0
    tol_doc = doc.get("tolerance", {})
    _no_unknown(path, tol_doc, {"p_value", "median_followup"}, "tolerance")
    p_tol = _number(path, {"p_value": 0.02, **tol_doc}, "p_value", "tolerance", lo=0, hi=1)
    med_tol = _number(path, {"median_followup": 0.5, **tol_doc}, "median_followup",
                      "tolerance", lo=0, hi=1e3)
    figures, test_of = _landmark_figures(path, doc, arms, half_unit, p_tol)
    fu_doc = doc["followup"]
    _no_unknown(path, fu_doc, {"median", "min", "max", "median_method"}, "followup")
    if fu_doc.get("median_method", "reverse-km") != "reverse-km":
        raise _fail(path, "followup.median_method", "'reverse-km'", fu_doc.get("median_method"))
    followup = {k: _number(path, fu_doc, k, "followup", lo=1e-9, hi=MAX_MONTHS)
                for k in ("median", "min", "max")}
    if not followup["min"] <= followup["median"] <= followup["max"]:
        raise _fail(path, "followup", "min <= median <= max", followup)
    if landmark > followup["max"]:
        raise _fail(path, "landmark.time", f"a time within the follow-up (<= followup.max = "
                    f"{followup['max']:g} months): figures beyond it are not estimable",
                    landmark)
    figures += [
        Figure("followup.median", "followup", "followup", "median", followup["median"], med_tol,
               True),
        Figure("followup.min", "followup", "followup", "min", followup["min"], 1e-9, True),
        Figure("followup.max", "followup", "followup", "max", followup["max"], 1e-9, True),
    ]
    censoring, censoring_floor = None, 0.0
    if "censoring" in doc and "accrual" not in doc:
        raise _fail(path, "accrual", "a table (the censoring model needs the accrual window)")
    if "accrual" in doc:
        acc = doc["accrual"]
        _no_unknown(path, acc, {"start", "end", "cutoff", "cutoff_is_inferred"}, "accrual")
        if not isinstance(acc.get("cutoff_is_inferred", False), bool):
            raise _fail(path, "accrual.cutoff_is_inferred", "true or false",
                        acc["cutoff_is_inferred"])
        window = _months_between(path, "accrual.start/end", acc.get("start"), acc.get("end"))
        censoring_floor = _months_between(path, "accrual.end/cutoff", acc.get("end"),
                                          acc.get("cutoff"))
        censoring_floor = min(censoring_floor, followup["max"])
        censoring = _censoring(path, doc.get("censoring", {}), window, followup)
    return PublishedSummary(
        path=path, sha256=hashlib.sha256(raw).hexdigest(), source=dict(doc["source"]),
        arms=(arms[0], arms[1]), n=n, landmark=landmark, figures=tuple(figures),
        followup=followup, censoring_floor=censoring_floor, censoring=censoring,
        test_of=test_of,
    )
