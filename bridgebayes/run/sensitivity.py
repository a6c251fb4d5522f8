"""Reconstruction sensitivity: the ``[bayes]`` decisions across plausible pseudo-cohorts.

A reconstructed cohort is one of many that reproduce the published figures
(``bridgebayes reconstruct --ensemble``).  :func:`ensemble_sensitivity` repeats every
endpoint × family × prior of a spec's ``[bayes]`` section on each ensemble member by the
family's exact posterior (:meth:`~bridgebayes.models.families.SurvivalFamily.exact_posterior`:
the same family object, priors and cut-point rule as the NUTS fits; well under a second per
member) and reports how far each decision quantity moves.  HR quantities come straight from
the quadrature (no Monte Carlo error); landmark differences from exact joint draws through the
family's survival at the landmarks.  All draws use one seed (``bayes.seed``): every member's
posterior transforms the same uniforms (common random numbers), so differences between
members are not Monte Carlo noise.  Rows follow the decision schema
(:mod:`bridgebayes.summaries.decision`, ``analysis = "ensemble"``, ``member`` = the member).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.cohort import Cohort
from bridgebayes.run.fits import FitKey, family_for
from bridgebayes.run.spec import Spec
from bridgebayes.summaries.decision import new_row, table

__all__ = ["SUMMARY_COLUMNS", "cohort_quantities", "ensemble_sensitivity", "in_spec_order",
           "load_members",
           "posterior_rows"]

#: Columns of the spread table of :func:`ensemble_sensitivity`.
SUMMARY_COLUMNS = ("endpoint", "family", "prior", "quantity", "time", "threshold", "main",
                   "min", "median", "max")
_KEYS = ["endpoint", "family", "prior", "quantity", "time", "threshold"]


def load_members(spec: Spec) -> list[Cohort]:
    """The cohorts of the spec's ``[data] ensemble``, in the spec's format and unit."""
    import dataclasses

    from bridgebayes.core.errors import CohortError
    from bridgebayes.run.study import load_study

    members = []
    for path in spec.data.ensemble:
        try:
            members.append(load_study(dataclasses.replace(
                spec, data=dataclasses.replace(spec.data, file=path))))
        except CohortError as exc:  # say that it is a member; the message names the file
            message = str(exc).removeprefix(f"{path}: ")
            raise CohortError(f"{path}: ensemble member (data.ensemble): {message}") from None
    return members


def posterior_rows(post, family, spec: Spec, *, n_draws: int = 4000,
                   seed: int = 1) -> list[dict]:
    """Decision rows of one exact posterior (HR quantities exact; landmarks from draws)."""
    b = spec.bayes
    lo, hi = b.rope
    rows = [new_row("hr", estimate=float(np.exp(post.log_hr_quantile(0.5))), level=b.ci),
            *[new_row("prob_hr_below", threshold=c, probability=post.prob_hr_below(c))
              for c in b.hr_thresholds],
            new_row("prob_rope", threshold=lo, threshold_upper=hi,
                    probability=post.prob_hr_below(hi) - post.prob_hr_below(lo))]
    draws = post.draws(n_draws, rng=seed)
    at = np.asarray(b.landmarks, float)
    diff = family.survival(draws, at, 1) - family.survival(draws, at, 0)
    pair = f"{spec.arms[1]} - {spec.arms[0]}"
    for j, t in enumerate(at):
        rows.append(new_row("survival_difference", arm=pair, time=t, level=b.ci,
                            estimate=float(np.median(diff[:, j]))))
        rows += [new_row("prob_survival_difference_above", arm=pair, time=t, threshold=d,
                         probability=float(np.mean(diff[:, j] > d))) for d in b.deltas]
    return rows


def cohort_quantities(cohort: Cohort, spec: Spec, *, member: str = "", n_draws: int = 4000,
                      seed: int | None = None, group: tuple[str, str] | None = None
                      ) -> pd.DataFrame:
    """Decision rows of every endpoint × family × prior of ``spec.bayes`` on one cohort, by
    the exact posterior (combinations whose family has none are left out); ``group``:
    only those of one ``(endpoint, prior)``."""
    bayes = spec.bayes
    if bayes is None:
        raise BridgeBayesError(f"{spec.path}: no [bayes] section to repeat across the ensemble")
    seed = bayes.seed if seed is None else seed
    frames = []
    for combo in bayes.combinations():
        key = FitKey(*combo)
        if group is not None and (key.endpoint, key.prior) != tuple(group):
            continue
        family = family_for(spec, cohort, key)
        if not family.has_exact_posterior():
            continue
        post = family.exact_posterior(cohort.endpoint(key.endpoint))
        frames.append(table(posterior_rows(post, family, spec, n_draws=n_draws, seed=seed),
                            analysis="ensemble", endpoint=key.endpoint, family=key.family,
                            prior=key.prior, member=member, role="sensitivity",
                            time_unit=spec.time_unit))
    if not frames:  # no family of the spec has an exact posterior: nothing to repeat
        return table([], analysis="ensemble", member=member, role="sensitivity",
                     time_unit=spec.time_unit)
    return pd.concat(frames, ignore_index=True)


def ensemble_sensitivity(members: Sequence[Cohort], spec: Spec, *, main: Cohort,
                         n_draws: int = 4000, seed: int | None = None,
                         group: tuple[str, str] | None = None
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How much each decision quantity moves across plausible reconstructed cohorts (every
    combination of ``spec.bayes``, or those of one ``group = (endpoint, prior)``).

    Returns
    -------
    rows, spread
        Every member's decision rows (and the main cohort's, ``member = "main"``); and per
        quantity the main cohort's value with the minimum, median and maximum over the
        members (:data:`SUMMARY_COLUMNS`; ``value`` = probability or estimate).
    """
    if not members:
        raise BridgeBayesError(f"{spec.path}: no ensemble members to compare (data.ensemble)")
    rows = pd.concat([cohort_quantities(main, spec, member="main", n_draws=n_draws, seed=seed,
                                        group=group),
                      *[cohort_quantities(m, spec, member=f"member_{j:02d}", n_draws=n_draws,
                                          seed=seed, group=group)
                        for j, m in enumerate(members, start=1)]],
                     ignore_index=True)
    value = rows["probability"].where(rows["probability"].notna(), rows["estimate"])
    frame = rows.assign(value=value)
    spread = (frame[frame["member"] != "main"].groupby(_KEYS, sort=False, dropna=False)
              ["value"].agg(["min", "median", "max"]).reset_index())
    main_values = frame[frame["member"] == "main"][[*_KEYS, "value"]].rename(
        columns={"value": "main"})
    out = main_values.merge(spread, on=_KEYS, how="left", validate="one_to_one")
    return rows, out[list(SUMMARY_COLUMNS)]


def in_spec_order(frames: Sequence[pd.DataFrame], spec: Spec, *, by_member: bool
                  ) -> pd.DataFrame:
    """Per-group tables of :func:`ensemble_sensitivity` put together in the order one call
    for every group gives: the main cohort, then the members (``by_member``), each in the
    order of ``spec.bayes.combinations()``."""
    frame = pd.concat(list(frames), ignore_index=True)
    if frame.empty:
        return frame
    rank = {c: i for i, c in enumerate(spec.bayes.combinations())}
    order = pd.DataFrame({"combo": [rank[c] for c in zip(
        frame["endpoint"], frame["family"], frame["prior"], strict=True)]})
    if by_member:  # "main" first, then member_01, member_02, ...
        order.insert(0, "member", frame["member"].map(lambda m: (m != "main", m)))
    index = order.sort_values(list(order.columns), kind="stable").index
    return frame.loc[index].reset_index(drop=True)

