"""Posterior NetCDF files as ``bridgebayes run`` writes them (the attributes the readers
use), and a run folder of saved results around them, for tests of what reads them back."""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az


def write_posterior(path: Path, family: dict, posterior: dict,
                    constant: dict | None = None, *, time_unit: str | None = None) -> Path:
    """``path``: a NetCDF of ``posterior`` (arrays ``(chain, draw, ...)``) whose ``family``
    attribute is the JSON of ``family`` (name and options)."""
    idata = az.from_dict(posterior=posterior, constant_data=constant or {})
    idata.attrs["family"] = json.dumps(family)
    if time_unit is not None:
        idata.attrs["time_unit"] = time_unit
    idata.to_netcdf(str(path))
    return path


def write_run(folder: Path, summary: dict) -> Path:
    """``folder/results.json`` holding ``summary``, and an empty ``folder/posteriors/``."""
    (folder / "posteriors").mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(summary, allow_nan=False))
    return folder


def weight_rows(endpoint: str, prior: str, weights: dict[str, float]) -> list[dict]:
    """``model_averaging.weights`` rows of ``results.json`` (the columns the run saves)."""
    return [{"endpoint": endpoint, "prior": prior, "family": f, "label": f"{f} model", "weight": w,
             "elpd_loo": -100.0, "se": 5.0, "max_pareto_k": 0.3, "fragile": False}
            for f, w in weights.items()]
