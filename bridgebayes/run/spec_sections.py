"""The sections of a spec, each validated on its own (see :mod:`bridgebayes.run.spec`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bridgebayes.core.errors import BridgeBayesError, SpecError
from bridgebayes.core.units import UNITS
from bridgebayes.run.spec_model import (
    FORMATS,
    BayesSpec,
    CompetingSpec,
    DataSpec,
    PrimarySpec,
    SafetySpec,
)
from bridgebayes.run.spec_values import (
    ensemble_members,
    existing_file,
    key_error,
    names,
    numbers,
    prior_tables,
    time_value,
    times,
)

__all__ = ["bayes_section", "competing_section", "covariate_tables", "data_section",
           "endpoint_names", "named_prior", "primary_section", "prior_tables",
           "safety_section"]

#: Time-zero labels of the formats when the spec gives none.
_TIME_ZERO = {"hsct": "transplant", "patient_table": "start of follow-up",
              "survival_table": "start of follow-up"}


def data_section(path: Path, table: dict) -> DataSpec:
    """The ``[data]`` section."""
    fmt = table.get("format", "hsct")
    if fmt not in FORMATS:
        raise key_error(path, "data.format", f"one of {list(FORMATS)}", fmt)
    unit = table.get("time_unit", "months")
    if unit not in UNITS:
        raise key_error(path, "data.time_unit", f"one of {list(UNITS)}", unit)
    columns = dict(table.get("columns", {}))
    endpoint = dict(table.get("endpoint", {}))
    if fmt != "survival_table" and (columns or endpoint):
        raise key_error(path, "data.columns" if columns else "data.endpoint",
                   "only with format = 'survival_table'", columns or endpoint)
    if fmt == "survival_table":
        allowed = {"duration", "event", "arm", "id"}
        if bad := sorted(set(columns) - allowed):
            raise key_error(path, "data.columns", f"keys from {sorted(allowed)}", bad)
        if not all(isinstance(v, str) and v for v in columns.values()):
            raise key_error(path, "data.columns", "column names (strings)", columns)
        if bad := sorted(set(endpoint) - {"name", "label"}):
            raise key_error(path, "data.endpoint", "keys name, label", bad)
        if not all(isinstance(v, str) and v for v in endpoint.values()):
            raise key_error(path, "data.endpoint", "a name and a label (strings)", endpoint)
    if fmt != "patient_table":
        for key in ("followup", "terminal"):
            if key in table:
                raise key_error(path, f"data.{key}", "only with format = 'patient_table'",
                           table[key])
    terminal = table.get("terminal", [])
    if terminal:
        names(path, "data.terminal", terminal, what="column names")
    published, ensemble = table.get("published"), table.get("ensemble")
    return DataSpec(
        format=fmt, file=existing_file(path, "data.file", table["file"]), time_unit=unit,
        time_zero=table.get("time_zero", _TIME_ZERO[fmt]),
        published=None if published is None else existing_file(path, "data.published", published),
        reconstructed=table.get("reconstructed", False),
        randomised=table.get("randomised", False),
        ensemble=() if ensemble is None else ensemble_members(path, ensemble),
        followup=table.get("followup", "followup"), terminal=tuple(terminal),
        followup_endpoint=table.get("followup_endpoint"), columns=columns, endpoint=endpoint)


def endpoint_names(path: Path, doc: dict, data: DataSpec) -> dict[str, dict[str, Any]]:
    """The study's endpoints: the transplant preset, the one endpoint of a one-endpoint table,
    or the ``[endpoints.<name>]`` tables of a patient table (``label``; ``events`` = the
    event-time columns of a first-event endpoint, or ``causes`` = cause -> columns).
    ``data.followup_endpoint`` must name one of them that is not competing."""
    out = _endpoint_tables(path, doc, data)
    chosen = data.followup_endpoint
    if chosen is not None:
        survival = survival_endpoints(out, data.format)
        if chosen not in survival:
            raise key_error(path, "data.followup_endpoint", f"an endpoint without competing "
                            f"causes (its censoring defines follow-up), one of {survival}",
                            chosen)
    return out


def survival_endpoints(endpoints: dict[str, dict[str, Any]], data_format: str) -> list[str]:
    """The endpoints without competing causes, in declaration order."""
    return [n for n, d in endpoints.items()
            if "causes" not in d and not (data_format == "hsct" and n == "relapse_nrm")]


def _endpoint_tables(path: Path, doc: dict, data: DataSpec) -> dict[str, dict[str, Any]]:
    declared = doc.get("endpoints", {})
    if data.format != "patient_table":
        if declared:
            raise key_error(path, "endpoints", "only with data.format = 'patient_table' (the "
                       f"{data.format!r} format defines its endpoints)", sorted(declared))
        if data.format == "survival_table":
            name = data.endpoint.get("name", "endpoint")
            return {name: {"label": data.endpoint.get("label", name)}}
        from bridgebayes.data.endpoints import HSCT_ENDPOINTS

        return {n: {"label": d.label} for n, d in HSCT_ENDPOINTS.items()}
    if not declared:
        raise key_error(path, "endpoints", "one [endpoints.<name>] table per endpoint of the "
                   "patient table", "none")
    out = {}
    for name, table in declared.items():
        key = f"endpoints.{name}"
        if not isinstance(table, dict) or (bad := sorted(set(table) - {
                "label", "events", "causes", "description", "cause_labels"})):
            raise key_error(path, key, "a table of label, events or causes, description",
                       table if not isinstance(table, dict) else bad)
        if ("events" in table) == ("causes" in table):
            raise key_error(path, key, "exactly one of 'events' (first event of these columns) "
                       "or 'causes' (competing causes: cause = [columns])", sorted(table))
        if "events" in table:
            names(path, f"{key}.events", table["events"], what="column names")
        else:
            causes = table["causes"]
            if not isinstance(causes, dict) or len(causes) < 2:
                raise key_error(path, f"{key}.causes", "a table of at least two causes, cause = "
                           "[event-time columns]", causes)
            for cause, cols in causes.items():
                names(path, f"{key}.causes.{cause}", cols, what="column names")
        out[name] = {"label": table.get("label", name), **{
            k: table[k] for k in ("events", "causes", "description", "cause_labels")
            if k in table}}
    return out


def covariate_tables(path: Path, tables: dict) -> dict[str, dict[str, Any]]:
    """``[covariates.<name>]``: ``kind`` numeric or categorical; categorical: ``levels``
    (the first one is the reference)."""
    out = {}
    for name, table in tables.items():
        key = f"covariates.{name}"
        if not isinstance(table, dict) or (bad := sorted(set(table) - {"kind", "levels",
                                                                       "label"})):
            raise key_error(path, key, "a table of kind, levels, label",
                       table if not isinstance(table, dict) else bad)
        kind = table.get("kind")
        if kind not in ("numeric", "categorical"):
            raise key_error(path, f"{key}.kind", "'numeric' or 'categorical'", kind)
        levels = table.get("levels")
        if kind == "categorical":
            if not isinstance(levels, list) or len(levels) < 2:
                raise key_error(path, f"{key}.levels", "the list of levels (>= 2; the first is "
                           "the reference)", levels)
            if len({str(x) for x in levels}) < len(levels):
                raise key_error(path, f"{key}.levels", "distinct levels", levels)
        elif levels is not None:
            raise key_error(path, f"{key}.levels", "no levels for a numeric covariate", levels)
        out[name] = {"kind": kind, "levels": [str(x) for x in (levels or [])],
                     "label": table.get("label", name)}
    return out


def named_prior(name: str, declared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A prior by name: declared in the spec, or a built-in set (``neutral``, ``skeptical``,
    optionally ``-weak``/``-strong``)."""
    if name in declared:
        return declared[name]
    from bridgebayes.models.priors import named_log_hr_prior

    named = named_log_hr_prior(name)
    return {"dist": "Normal", **dict(named.prior.kwargs), "meaning": named.meaning,
            "source": named.source}


def _prior_list(path: Path, key: str, values: list, declared: dict) -> tuple[str, ...]:
    result = names(path, key, values, what="prior names")
    for value in result:
        try:
            named_prior(value, declared)
        except SpecError:
            raise key_error(path, key, "priors declared in [priors] or built in (neutral, "
                       "skeptical, optionally suffixed -weak/-strong)", value) from None
    return result


def _family_options(path: Path, table: dict, families: tuple[str, ...]) -> dict[str, dict]:
    from bridgebayes.models.families import get_family

    out = {}
    for name, options in table.items():
        key = f"bayes.family_options.{name}"
        if name not in families:
            raise key_error(path, key, f"options of a family in bayes.families {list(families)}",
                       name)
        if not isinstance(options, dict):
            raise key_error(path, key, "a table of family options", options)
        prior_keys = {"log_hr_mu", "log_hr_sigma", "log_hr_vague_weight", "log_hr_vague_mu",
                      "log_hr_vague_sigma", "covariates"} & set(options)
        if prior_keys:
            raise key_error(path, key, "family options other than the log-HR prior and the "
                       "covariates (set by bayes.priors and bayes.covariates)",
                       sorted(prior_keys))
        get_family(name).from_options(options, where=f"{path}: {key}")
        out[name] = dict(options)
    return out


# what an empty [bayes] table fits: every endpoint, the two PH families whose exact oracles
# check them, under the two built-in priors (both centred on no difference)
_BAYES_DEFAULTS = {"families": ["piecewise_exponential", "weibull"],
                   "priors": ["neutral", "skeptical"]}
# (key, lowest, highest): a seed is any unsigned 63-bit integer; more than a million draws per
# chain or 64 chains is a typo, not an analysis (it would only exhaust memory)
_SAMPLER_INTEGERS = (("seed", 0, 2**63 - 1), ("chains", 1, 64), ("draws", 1, 1_000_000),
                     ("tune", 1, 1_000_000))


def bayes_section(path: Path, table: dict, endpoints: dict, covariates: dict, priors: dict,
                  unit: str, data_format: str) -> BayesSpec:
    """The ``[bayes]`` section; an empty one fits every endpoint without competing causes
    with the families and priors of :data:`_BAYES_DEFAULTS`."""
    from bridgebayes.models.families import FAMILIES

    table = {"endpoints": survival_endpoints(endpoints, data_format), **_BAYES_DEFAULTS, **table}
    ends = names(path, "bayes.endpoints", table["endpoints"], sorted(endpoints), "endpoints")
    fams = names(path, "bayes.families", table["families"], sorted(FAMILIES), "families")
    if isinstance(table["priors"], dict):
        missing = [e for e in ends if e not in table["priors"]]
        unknown = sorted(set(table["priors"]) - set(ends))
        if missing or unknown:
            raise key_error(path, "bayes.priors", f"one list of priors per endpoint {list(ends)}",
                       {"missing": missing, "unknown": unknown})
        per = {e: _prior_list(path, f"bayes.priors.{e}", table["priors"][e], priors)
               for e in ends}
    else:
        common = _prior_list(path, "bayes.priors", table["priors"], priors)
        per = dict.fromkeys(ends, common)
    out: dict[str, Any] = {"endpoints": ends, "families": fams, "priors": per}
    if "covariates" in table:
        out["covariates"] = names(path, "bayes.covariates", table["covariates"],
                                  sorted(covariates), "declared covariates")
    if "hr_thresholds" in table:
        out["hr_thresholds"] = numbers(path, "bayes.hr_thresholds", table["hr_thresholds"],
                                       positive=True)
    if "landmarks" in table:
        out["landmarks"] = times(path, "bayes.landmarks", table["landmarks"], unit)
    if "deltas" in table:
        out["deltas"] = numbers(path, "bayes.deltas", table["deltas"])
        if not all(-1 < d < 1 for d in out["deltas"]):
            raise key_error(path, "bayes.deltas", "survival differences in (-1, 1)",
                            table["deltas"])
    if "rope" in table:
        rope = numbers(path, "bayes.rope", table["rope"], positive=True)
        if len(rope) != 2 or rope[0] >= rope[1]:
            raise key_error(path, "bayes.rope", "[lower, upper] HR bounds with lower < upper", rope)
        out["rope"] = rope
    if "rmst_tau" in table:
        out["rmst_tau"] = time_value(path, "bayes.rmst_tau", table["rmst_tau"], unit)
    for key, lo, hi in _SAMPLER_INTEGERS:
        if key in table:
            if not lo <= table[key] <= hi:
                raise key_error(path, f"bayes.{key}", f"an integer in [{lo}, {hi:,}]", table[key])
            out[key] = table[key]
    for key, lo, hi in (("target_accept", 0.5, 0.999), ("ci", 0.5, 0.999)):
        if key in table:
            if not (math.isfinite(table[key]) and lo < table[key] <= hi):
                raise key_error(path, f"bayes.{key}", f"a number in ({lo}, {hi}]", table[key])
            out[key] = float(table[key])
    out["family_options"] = _family_options(path, table.get("family_options", {}), fams)
    out |= _extrapolation(path, table, unit)
    return BayesSpec(**out)


#: Default end of the extrapolation: five years, as a round number in the data's unit
#: (1826 days = 5 x 365.25 rounded down, 260 weeks, 60 months, 5 years).
EXTRAPOLATION_DEFAULT = {"days": 1826.0, "weeks": 260.0, "months": 60.0, "years": 5.0}


def _extrapolation(path: Path, table: dict, unit: str) -> dict[str, Any]:
    """``bayes.extrapolation_horizon`` (default five years, :data:`EXTRAPOLATION_DEFAULT`) and
    ``extrapolation_landmarks``
    (times at or before it; default the horizon)."""
    horizon = (time_value(path, "bayes.extrapolation_horizon", table["extrapolation_horizon"],
                          unit) if "extrapolation_horizon" in table
               else EXTRAPOLATION_DEFAULT[unit])
    marks = (times(path, "bayes.extrapolation_landmarks", table["extrapolation_landmarks"],
                   unit) if "extrapolation_landmarks" in table else (horizon,))
    if max(marks) > horizon:
        raise key_error(path, "bayes.extrapolation_landmarks", f"times at or before the "
                        f"extrapolation horizon ({horizon:g} {unit})",
                        table["extrapolation_landmarks"])
    return {"extrapolation_horizon": horizon, "extrapolation_landmarks": marks}


def primary_section(path: Path, table: dict, bayes: BayesSpec | None) -> PrimarySpec:
    """``[primary]``: one endpoint, family and prior of ``[bayes]``, and the decision rule."""
    if bayes is None:
        raise key_error(path, "primary", "a [bayes] section (the primary analysis is one of its "
                   "fits)", "no [bayes]")
    for key in ("endpoint", "family", "prior"):
        if key not in table:
            raise key_error(path, f"primary.{key}", "a value")
    if table["endpoint"] not in bayes.endpoints:
        raise key_error(path, "primary.endpoint", f"one of bayes.endpoints {list(bayes.endpoints)}",
                   table["endpoint"])
    if table["family"] not in bayes.families:
        raise key_error(path, "primary.family", f"one of bayes.families {list(bayes.families)}",
                   table["family"])
    if table["prior"] not in bayes.priors[table["endpoint"]]:
        raise key_error(path, "primary.prior", f"a prior of that endpoint "
                   f"{list(bayes.priors[table['endpoint']])}", table["prior"])
    threshold = float(table.get("hr_threshold", 1.0))
    if not (math.isfinite(threshold) and threshold > 0):
        raise key_error(path, "primary.hr_threshold", "an HR > 0", table["hr_threshold"])
    probability = table.get("decision_probability")
    if probability is not None and not 0 < probability < 1:
        raise key_error(path, "primary.decision_probability", "a probability in (0, 1)",
                   probability)
    return PrimarySpec(table["endpoint"], table["family"], table["prior"], threshold,
                       None if probability is None else float(probability))


def competing_section(path: Path, table: dict, bayes: BayesSpec | None, endpoints: dict,
                      priors: dict, data: DataSpec) -> CompetingSpec:
    """``[competing]``: a competing endpoint of the data, its families and priors."""
    from bridgebayes.models.families import FAMILIES

    if bayes is None:
        raise key_error(path, "competing", "a [bayes] section too (landmarks and seed come "
                        "from it)", "no [bayes]")
    competing = [n for n, d in endpoints.items()
                 if "causes" in d or (data.format == "hsct" and n == "relapse_nrm")]
    if not competing:
        raise key_error(path, "competing", "a study with a competing-risks endpoint (causes)",
                   f"endpoints {sorted(endpoints)}")
    out: dict = {"endpoint": table.get("endpoint", competing[0])}
    if out["endpoint"] not in competing:
        raise key_error(path, "competing.endpoint", f"one of {competing}", out["endpoint"])
    if "families" in table:
        out["families"] = names(path, "competing.families", table["families"],
                                sorted(FAMILIES), "families")
    if "priors" in table:
        out["priors"] = _prior_list(path, "competing.priors", table["priors"], priors)
    if "deltas" in table:
        out["deltas"] = numbers(path, "competing.deltas", table["deltas"])
    if table.get("illness_death"):
        if data.format != "hsct":
            raise key_error(path, "competing.illness_death", "transplant data (format = 'hsct': "
                       "relapse, death and follow-up columns)", data.format)
        out["illness_death"] = True
    return CompetingSpec(**out)


def safety_section(path: Path, table: dict, data: DataSpec) -> SafetySpec:
    """``[safety]`` (transplant data only)."""
    from bridgebayes.models.families import FAMILIES
    from bridgebayes.safety import BETA_PRIORS

    if data.format != "hsct":
        raise key_error(path, "safety", "transplant data (format = 'hsct'): the safety "
                        "outcomes are engraftment and GVHD", data.format)
    out: dict = {}
    if "prior" in table:
        if table["prior"] not in BETA_PRIORS:
            raise key_error(path, "safety.prior", f"one of {sorted(BETA_PRIORS)}", table["prior"])
        out["prior"] = table["prior"]
    if "deltas" in table:
        out["deltas"] = numbers(path, "safety.deltas", table["deltas"])
    if "engraftment_family" in table:
        if table["engraftment_family"] not in FAMILIES:
            raise key_error(path, "safety.engraftment_family", f"one of {sorted(FAMILIES)}",
                       table["engraftment_family"])
        out["engraftment_family"] = table["engraftment_family"]
    try:
        return SafetySpec(**out)
    except BridgeBayesError as exc:  # pragma: no cover - dataclass has no checks
        raise SpecError(f"{path}: safety: {exc}") from None
