"""Fit a survival family with NUTS, gate it with diagnostics, keep provenance.

``fit(data, family=..., seed=...)`` → :class:`Fit` holding the ArviZ
``InferenceData``, the diagnostics gate and everything needed to reproduce it.
A fit failing the gate is retried once with longer tuning and a higher target
acceptance, then flagged (``fit.gate.passed`` is False) — never silently used.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd

from bridgebayes.core import provenance
from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.io import atomic_write_with
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference import persist
from bridgebayes.inference.diagnostics import Gate
from bridgebayes.inference.driver import SamplerSettings, diagnose, run_nuts
from bridgebayes.inference.inputs import resolve_data, resolve_family
from bridgebayes.models.families import SurvivalFamily, posterior_draws
from bridgebayes.reference.analysis import followup_landmarks
from bridgebayes.summaries.decide import Decision, decide

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bridgebayes.data.cohort import Cohort

__all__ = ["FEW_EVENTS", "LOG_LIKELIHOOD_AUTO_MAX", "PRIOR_DOMINANCE", "Fit", "FitWarning",
           "SamplerSettings", "compare", "diagnose", "fit"]

#: An arm with fewer events than this gets a warning.
FEW_EVENTS = 5
#: Posterior SD of log HR above this fraction of the prior SD: the prior dominates.
PRIOR_DOMINANCE = 0.8
#: ``fit(log_likelihood=None)`` stores the per-patient log-likelihood up to this many
#: patients; above, it is computed when LOO needs it (draws × patients: 4,000 draws of
#: 100,000 patients are 3.2 GB, and most of a large PEM fit's time)
LOG_LIKELIHOOD_AUTO_MAX = 10_000


class FitWarning(UserWarning):
    """A fit is valid but its answer rests mostly on the prior (small-sample guardrail)."""


@dataclass(frozen=True)
class Fit:
    """A fitted survival model.

    Attributes
    ----------
    idata
        Posterior, sample stats and observed data; ``idata.attrs`` carries seed,
        sampler settings, family settings and package versions.
    family
        The family object that was fitted.
    data
        The endpoint data.
    gate
        Diagnostics gate of the final attempt.
    retried
        Whether the automatic retry was needed.
    notes
        Small-sample guardrail messages (also emitted as :class:`FitWarning`).
    """

    idata: az.InferenceData
    family: SurvivalFamily
    data: EndpointData
    gate: Gate
    retried: bool
    notes: tuple[str, ...] = ()

    def draws(self) -> dict[str, np.ndarray]:
        """Posterior draws flattened over chains (the families' numpy functions read them)."""
        return posterior_draws(self.idata)

    def decide(self, **options) -> Decision:
        """Decision quantities (see :func:`bridgebayes.summaries.decide.decide`) for this fit,
        with the family's own quantities (e.g. the Weibull AFT factor) and the MCSE of every
        row from the chains. Landmarks default to round times of the data's own unit within
        its follow-up (:func:`~bridgebayes.reference.analysis.followup_landmarks`), the RMST
        horizon to the later of them."""
        draws = self.draws()
        landmarks = options.setdefault("landmarks", followup_landmarks(self.data))
        options.setdefault("rmst_tau", float(max(landmarks)))
        options.setdefault("endpoint", self.data.name.upper())
        options.setdefault("chains", int(self.idata.posterior.sizes["chain"]))
        options.setdefault("followup", float(np.max(self.data.time)))
        options.setdefault("time_unit", self.data.time_unit)
        for key, value in self.family.decision_options(draws).items():
            options.setdefault(key, value)
        return decide(draws["log_hr"], arms=self.data.arms,
                      survival=lambda t, arm: self.family.survival(draws, t, arm), **options)

    def summary(self) -> pd.DataFrame:
        """ArviZ summary (mean, sd, HDI, MCSE, ESS, R-hat) of the parameters and ``hr``."""
        names = [n for n, v in self.idata.posterior.data_vars.items() if "unit" not in v.dims]
        return az.summary(self.idata, var_names=names)

    def plot_survival(self, *, title: str | None = None, horizon: float | None = None
                      ) -> Figure:
        """Kaplan–Meier per arm with the posterior survival median and band and the
        number-at-risk table (:func:`bridgebayes.plots.km_posterior_figure`)."""
        from bridgebayes.plots import km_posterior_figure
        from bridgebayes.reference.curves import at_risk_table, km_curves

        curves = self.decide().curves
        end = float(horizon if horizon is not None else curves["time"].max())
        return km_posterior_figure(km_curves(self.data), at_risk_table(self.data, end), curves,
                                   arms=self.data.arms, endpoint=self.data.name.upper(),
                                   time_unit=self.data.time_unit, title=title, horizon=end)

    def plot_hr(self, thresholds: tuple[float, ...] = (1.0, 0.8)) -> Figure:
        """Posterior HR density with P(HR < c) shaded
        (:func:`bridgebayes.plots.hr_density_figure`)."""
        from bridgebayes.plots import hr_density_figure
        from bridgebayes.summaries.densities import hr_density

        log_hr = np.asarray(self.draws()["log_hr"], float)
        return hr_density_figure(hr_density(log_hr),
                                 {c: float(np.mean(log_hr < np.log(c))) for c in thresholds},
                                 median=float(np.exp(np.median(log_hr))), arms=self.data.arms,
                                 endpoint=self.data.name.upper())

    def add_log_likelihood(self) -> Fit:
        """Add the per-patient log-likelihood group (``obs``) if the fit has none; ``self``.

        ``fit()`` stores it up to :data:`LOG_LIKELIHOOD_AUTO_MAX` patients; :meth:`loo`,
        :func:`compare` and :func:`bridgebayes.inference.checks.prior_sensitivity` call this first.
        """
        if "log_likelihood" not in self.idata.groups():
            _add_log_likelihood(self.idata, self.family, self.data)
        return self

    def loo(self) -> az.ELPDData:
        """PSIS-LOO (ArviZ) from the per-patient log-likelihood, with Pareto k per patient."""
        return az.loo(self.add_log_likelihood().idata, pointwise=True)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fit (draws, data, family, gate, provenance) to a NetCDF, atomically;
        :meth:`load` rebuilds it."""
        return atomic_write_with(path, lambda tmp: self.idata.to_netcdf(str(tmp)))

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, key: str | None = None) -> Fit:
        """Rebuild a fit from the NetCDF :meth:`save` wrote.

        Parameters
        ----------
        path
            The file.
        key
            If given, the fit key the file must carry (``idata.attrs["fit_key"]``); another
            key raises :class:`~bridgebayes.core.errors.BridgeBayesError`.

        Examples
        --------
        >>> again = Fit.load("reports/cao2025/posteriors/os__weibull__neutral.nc")  # doctest: +SKIP
        >>> again.decide().summary()  # doctest: +SKIP
        """
        idata = read_posterior(path)
        if key is not None and idata.attrs.get("fit_key") != key:
            raise BridgeBayesError(f"{path}: a fit with key {idata.attrs.get('fit_key')!r}, "
                                   f"expected {key!r}")
        try:
            return cls(idata=idata, family=persist.family_from(idata),
                       data=persist.data_from(idata), gate=persist.gate_from(idata),
                       retried=bool(idata.attrs["retried"]),
                       notes=tuple(json.loads(idata.attrs.get("notes", "[]"))))
        except (KeyError, ValueError, TypeError) as exc:
            raise BridgeBayesError(f"{path}: not a posterior written by Fit.save ({exc})"
                                   ) from None


def read_posterior(path: str | os.PathLike[str]) -> az.InferenceData:
    """An InferenceData from a NetCDF, loaded into memory (the file is closed), or a
    :class:`~bridgebayes.core.errors.BridgeBayesError` for a missing, truncated or foreign
    file."""
    path = Path(path)
    if not path.is_file():
        raise BridgeBayesError(f"{path}: posterior file not found")
    try:
        idata = az.from_netcdf(str(path))
        for group in idata.groups():
            idata[group] = idata[group].load()
        return idata
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise BridgeBayesError(f"{path}: not a readable posterior file ({exc})") from None


def fit(data: EndpointData | Cohort | pd.DataFrame, family: SurvivalFamily | str = "weibull",
        *, seed: int, endpoint: str | None = None, prior: str | None = None,
        arms: tuple[str, str] | None = None, sampler: SamplerSettings | None = None,
        log_likelihood: bool | None = None) -> Fit:
    """Fit ``family`` to ``data`` with NUTS.

    Parameters
    ----------
    data
        Endpoint data (``Cohort.endpoint(...)`` or ``load_survival_table``), a ``Cohort``
        (with ``endpoint``) or a lifelines-style DataFrame ``duration, event, arm`` (with
        ``arms``).
    family
        A family object, e.g. ``WeibullPH(log_hr_sigma=0.42)``, or a name
        (``"weibull"``, ``"piecewise_exponential"``).
    endpoint
        Endpoint of a ``Cohort`` (``"os"``, ``"pfs"``, ``"grfs"``), or the name of a
        DataFrame's endpoint.
    prior
        A built-in log-HR prior (``"neutral"``, ``"skeptical"``, optionally
        ``-weak``/``-strong``) replacing the family's ``log_hr_mu``/``log_hr_sigma``.
    arms
        ``(reference, treatment)`` labels of a DataFrame's ``arm`` column.
    seed
        Random seed: the same seed, data, settings and versions give identical draws.
    sampler
        NUTS settings, including the backend (default nutpie: a refit of the same model
        structure — another endpoint, prior or simulated trial — reuses the compiled model).
    log_likelihood
        Store the per-patient log-likelihood group (``obs``, for PSIS-LOO) in ``idata``:
        ``True``, ``False``, or ``None`` (default) for data of at most
        :data:`LOG_LIKELIHOOD_AUTO_MAX` patients.  Without it :meth:`Fit.loo` computes it
        on demand; the posterior is the same either way.

    Returns
    -------
    Fit

    Examples
    --------
    >>> from bridgebayes.models.families import WeibullPH
    >>> result = fit(cohort.endpoint("os"), WeibullPH(), seed=1)  # doctest: +SKIP
    >>> result = fit(cohort, "weibull", endpoint="grfs", prior="skeptical",
    ...              seed=1)  # doctest: +SKIP
    >>> result.summary(); result.decide().summary(); result.plot_survival()  # doctest: +SKIP
    """
    data = resolve_data(data, endpoint=endpoint, arms=arms)
    family = resolve_family(family, prior)
    sampler = sampler or SamplerSettings()
    if log_likelihood is None:
        log_likelihood = np.size(data.time) <= LOG_LIKELIHOOD_AUTO_MAX
    elif not isinstance(log_likelihood, bool | np.bool_):
        raise BridgeBayesError(f"log_likelihood: expected True, False or None, got "
                               f"{log_likelihood!r}")
    result = run_nuts(data, family, sampler, seed=seed)
    idata, gate, retried = result.idata, result.gate, result.retried
    if bool(log_likelihood):
        _add_log_likelihood(idata, family, data)
    notes = guardrails(data, idata, prior_sigma=family.log_hr_prior().sd())
    notes += family.guardrail_notes(posterior_draws(idata), data)
    for note in notes:
        warnings.warn(note, FitWarning, stacklevel=2)
    idata.add_groups(observed_data=persist.observed_group(data))
    idata.attrs.update({
        "notes": json.dumps(list(notes)),
        "seed": seed, "retried": int(retried), "gate_passed": int(gate.passed),
        "gate": persist.gate_attr(gate), "sampler": json.dumps(dataclasses.asdict(sampler)),
        "family": persist.family_attr(family), "versions": json.dumps(provenance.versions()),
        **persist.data_attrs(data),
    })
    return Fit(idata=idata, family=family, data=data, gate=gate, retried=retried, notes=notes)


def guardrails(data: EndpointData, idata: az.InferenceData, *, prior_sigma: float
               ) -> tuple[str, ...]:
    """Warnings for arms with few or no events and for a prior-dominated log HR (a family
    adds its own: :meth:`~bridgebayes.models.families.SurvivalFamily.guardrail_notes`).

    ``prior_sigma`` is the prior SD of the log HR (of the whole mixture for a robust prior).
    """
    notes = []
    for code, label in enumerate(data.arms):
        events = int(np.sum(np.asarray(data.event)[np.asarray(data.arm) == code] > 0))
        if events < FEW_EVENTS:
            notes.append(f"{data.name}: arm {label!r} has {events} event(s); its hazard and the "
                         "hazard ratio rest largely on the priors")
    ratio = float(idata.posterior["log_hr"].std()) / prior_sigma
    if ratio > PRIOR_DOMINANCE:
        notes.append(f"{data.name}: the posterior SD of log HR is {100 * ratio:.0f}% of the "
                     "prior SD — the data add little; report the prior's influence")
    return tuple(notes)


def _add_log_likelihood(idata: az.InferenceData, family: SurvivalFamily,
                        data: EndpointData) -> None:
    """Per-patient log-likelihood group (``obs``, dims chain, draw, patient) for LOO."""
    posterior = idata.posterior
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    loglik = family.log_likelihood(posterior_draws(idata), data)
    group = az.from_dict(log_likelihood={"obs": loglik.reshape(n_chain, n_draw, -1)},
                         dims={"obs": ["patient"]}, coords={"patient": np.asarray(data.ids)})
    idata.extend(group)


def compare(fits: dict[str, Fit]) -> pd.DataFrame:
    """Compare fits of the same data by PSIS-LOO with stacking weights (``az.compare``).

    Examples
    --------
    >>> compare({"pem": pem_fit, "weibull": weibull_fit})  # doctest: +SKIP
    """
    return az.compare({name: f.add_log_likelihood().idata for name, f in fits.items()},
                      ic="loo", method="stacking")
