"""Plausibility of a reconstructed cohort's times (issue 19's guard against degenerate shapes).

Landmark figures, tests and follow-up say nothing about *when* events and censorings happen
between landmarks, so a reconstruction can meet every figure with times no real study
would have.  :func:`plausibility_table` measures the shapes a clinician would look at:

* the largest share of the censorings before ``horizon`` months (30) that falls in any
  window of ``width`` months (4), beside the share the censoring model itself puts in its
  densest such window (target: no more than half, unless the model puts them there);
* per endpoint, the share of the events before the landmark that fall in the last
  ``width`` months before it (target: at most a quarter);
* censorings before the landmark, and *early losses* — censorings before the shortest
  administrative follow-up of the censoring model, which only loss to follow-up explains;
* numbers at risk (OS) per arm every 6 months to the landmark.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.integrate import quad

from bridgebayes.data.cohort import Cohort
from bridgebayes.reconstruct.published import PublishedSummary
from bridgebayes.reconstruct.timemodel import CensoringModel

__all__ = ["densest_share", "plausibility_table"]

WIDTH = 4.0
HORIZON = 30.0
MAX_WINDOW_SHARE = 0.5
MAX_LATE_SHARE = 0.25


def densest_share(times: np.ndarray, width: float) -> float:
    """Largest fraction of ``times`` in any half-open window ``[t, t + width)``."""
    t = np.sort(np.asarray(times, float))
    if t.size == 0:
        return 0.0
    counts = np.searchsorted(t, t + width, side="left") - np.arange(t.size)
    return float(counts.max() / t.size)


def _model_share(model: CensoringModel, width: float, horizon: float) -> float:
    """The censoring model's largest share of its mass before ``horizon`` in a window."""
    total = 1.0 - float(model.survival(horizon))
    if total <= 0:
        return 0.0
    grid = np.arange(0.0, horizon - width + 1e-9, 0.05)
    mass = [quad(lambda x: float(model.density(x)), a, a + width,
                 points=[model.shortest_administrative])[0] for a in grid]
    return float(max(mass) / total)


def plausibility_table(cohort: Cohort, summary: PublishedSummary) -> pd.DataFrame:
    """Rows ``measure, group, value, target, meets`` (``meets`` is empty where no target).

    Endpoints are taken from the cohort (OS, PFS, GRFS; relapse and NRM from the competing
    risks endpoint); censoring means alive at last follow-up (OS censored).
    """
    landmark = summary.landmark
    rows = []
    os_ = cohort.endpoint("os")
    censored = os_.time[os_.event == 0]
    early = censored[censored < HORIZON]
    model = summary.censoring
    model_share = np.nan if model is None else _model_share(model, WIDTH, HORIZON)
    limit = MAX_WINDOW_SHARE if model is None else max(MAX_WINDOW_SHARE, model_share)
    share = densest_share(early, WIDTH)
    rows.append({"measure": f"largest share of censorings before {HORIZON:g} months in a "
                 f"{WIDTH:g}-month window", "group": "pooled", "value": share,
                 "target": f"<= {limit:.2f}", "meets": share <= limit})
    rows.append({"measure": "the censoring model's own largest share in such a window",
                 "group": "pooled", "value": model_share, "target": "", "meets": None})
    for arm_code, arm in enumerate(cohort.arms):
        in_arm = os_.arm == arm_code
        cens = os_.time[in_arm & (os_.event == 0)]
        rows.append({"measure": f"censorings before {landmark:g} months", "group": arm,
                     "value": float((cens < landmark).sum()), "target": "", "meets": None})
        if model is not None:
            rows.append({"measure": "early losses to follow-up (censored before "
                         f"{model.shortest_administrative:.2f} months)", "group": arm,
                         "value": float((cens < model.shortest_administrative).sum()),
                         "target": "", "meets": None})
        for t in np.arange(0.0, landmark + 1e-9, 6.0):
            rows.append({"measure": f"OS at risk at {t:g} months", "group": arm,
                         "value": float((os_.time[in_arm] >= t).sum()), "target": "",
                         "meets": None})
    cr = cohort.endpoint("relapse_nrm")
    events = {name: (d.time, d.event > 0) for name, d in
              ((e, cohort.endpoint(e)) for e in ("os", "pfs", "grfs"))}
    for k, cause in enumerate(cr.causes, start=1):
        events[cause] = (cr.time, cr.event == k)
    for name, (time, event) in events.items():
        before = time[event & (time <= landmark)]
        late = float(np.mean(before > landmark - WIDTH)) if before.size else 0.0
        rows.append({"measure": f"share of {name} events before {landmark:g} months in the "
                     f"last {WIDTH:g} months", "group": "pooled", "value": late,
                     "target": f"<= {MAX_LATE_SHARE:.2f}", "meets": late <= MAX_LATE_SHARE})
    return pd.DataFrame(rows)
