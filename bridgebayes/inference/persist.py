"""What a fit stores in its NetCDF so that it can be rebuilt (:meth:`Fit.load`).

``idata.attrs`` hold the family (canonical name and options), the endpoint name, arms, time
unit and causes, seed, sampler settings, versions, the diagnostics gate and the guardrail
notes; the ``observed_data`` group holds the per-patient data (time, event, arm, id and the
covariate design), so a reloaded fit evaluates, checks and plots exactly like the original.
"""

from __future__ import annotations

import json
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.diagnostics import Gate
from bridgebayes.models.families import SurvivalFamily, get_family

__all__ = ["data_attrs", "data_from", "family_attr", "family_from", "gate_attr", "gate_from",
           "observed_group"]


def observed_group(data: EndpointData) -> xr.Dataset:
    """The per-patient data as a dataset (dim ``patient``)."""
    values = {"time": ("patient", np.asarray(data.time, float)),
              "event": ("patient", np.asarray(data.event, int)),
              "arm": ("patient", np.asarray(data.arm, int))}
    for column in data.covariates.columns:
        values[f"covariate:{column}"] = ("patient", data.covariates[column].to_numpy(float))
    return xr.Dataset(values, coords={"patient": np.asarray(data.ids).astype(str)})


def data_attrs(data: EndpointData) -> dict[str, str]:
    """The endpoint's name, arms, causes and unit as attributes."""
    return {"endpoint": data.name, "arms": json.dumps(list(data.arms)),
            "causes": json.dumps(list(data.causes)), "time_unit": data.time_unit}


def data_from(idata: az.InferenceData) -> EndpointData:
    """The endpoint data a fit was made on."""
    if "observed_data" not in idata.groups():
        raise BridgeBayesError("posterior file: no observed_data group (not written by "
                               "Fit.save of this bridgebayes)")
    obs, attrs = idata.observed_data, idata.attrs
    covariates = pd.DataFrame({name.removeprefix("covariate:"): obs[name].to_numpy()
                               for name in obs.data_vars if name.startswith("covariate:")})
    return EndpointData(name=str(attrs["endpoint"]), time=obs["time"].to_numpy(),
                        event=obs["event"].to_numpy(), arm=obs["arm"].to_numpy(),
                        arms=tuple(json.loads(attrs["arms"])),
                        ids=obs["patient"].to_numpy().astype(object),
                        causes=tuple(json.loads(attrs.get("causes", "[]"))),
                        covariates=covariates, time_unit=str(attrs.get("time_unit", "months")))


def family_attr(family: SurvivalFamily) -> str:
    """The family as ``{"name": ..., options}`` JSON."""
    return json.dumps({"name": family.name, **family.options()}, sort_keys=True)


def family_from(idata: az.InferenceData) -> SurvivalFamily:
    """The family object a fit was made with (registry lookup of its canonical name)."""
    options: dict[str, Any] = json.loads(idata.attrs["family"])
    return get_family(options.pop("name")).from_options(options, where="posterior file")


def gate_attr(gate: Gate) -> str:
    """The gate's checks and per-variable diagnostics as JSON."""
    return json.dumps({"checks": gate.checks.to_dict(orient="split"),
                       "per_variable": gate.per_variable.to_dict(orient="split")})


def gate_from(idata: az.InferenceData) -> Gate:
    """The stored gate of a fit."""
    record = json.loads(idata.attrs["gate"])
    checks = pd.DataFrame(**record["checks"])
    checks["passed"] = checks["passed"].astype(bool)
    return Gate(bool(checks["passed"].all()), checks, pd.DataFrame(**record["per_variable"]))
