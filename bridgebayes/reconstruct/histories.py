"""Patient histories as searched by the reconstruction, and their endpoints.

A history is one patient's follow-up time, whether they died at its end, and
optional times of relapse and of GVHD (grade III–IV acute or systemic chronic).
Every history is consistent by construction: events happen before the end of
follow-up, PFS ≤ OS and GRFS ≤ PFS, one censoring time per patient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ACUTE_WINDOW", "Histories"]

#: GVHD before this many months (100 days) is written as grade III–IV acute GVHD,
#: later as chronic GVHD needing systemic therapy (the classic 100-day split).
ACUTE_WINDOW = 100 / (365.25 / 12)


@dataclass
class Histories:
    """Mutable arrays of patient histories (one element per patient), times in months.

    Attributes
    ----------
    arm
        0 = reference, 1 = treatment.
    followup
        Time to death or last follow-up.
    dead
        Death at ``followup``.
    relapse, gvhd
        Event times, NaN when the event did not happen.
    """

    arm: np.ndarray
    followup: np.ndarray
    dead: np.ndarray
    relapse: np.ndarray
    gvhd: np.ndarray

    def copy(self) -> Histories:
        """Deep copy."""
        return Histories(self.arm.copy(), self.followup.copy(), self.dead.copy(),
                         self.relapse.copy(), self.gvhd.copy())

    def endpoint(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(time, event)`` for ``os``, ``pfs``, ``grfs``; ``(time, cause)`` for ``cr``
        (cause 1 = relapse, 2 = non-relapse mortality)."""
        has_rel = ~np.isnan(self.relapse)
        if name == "os":
            return self.followup, self.dead.astype(int)
        pfs_time = np.where(has_rel, self.relapse, self.followup)
        if name == "pfs":
            return pfs_time, (has_rel | self.dead).astype(int)
        if name == "cr":
            return pfs_time, np.where(has_rel, 1, np.where(self.dead, 2, 0))
        if name == "grfs":
            has_gvhd = ~np.isnan(self.gvhd)
            time = np.where(has_gvhd, np.fmin(self.gvhd, pfs_time), pfs_time)
            return time, (has_gvhd | has_rel | self.dead).astype(int)
        raise KeyError(name)

    def to_table(self, arms: tuple[str, str]) -> pd.DataFrame:
        """Patient-level table in the :mod:`bridgebayes.data.cohort` format.

        Rows are ordered by arm (reference first) and follow-up; ids are ``P001``, ….
        """
        order = np.lexsort((self.followup, self.arm))
        gvhd = self.gvhd[order]
        acute = gvhd < ACUTE_WINDOW
        return pd.DataFrame({
            "id": [f"P{k:03d}" for k in range(1, order.size + 1)],
            "arm": np.asarray(arms, dtype=object)[self.arm[order]],
            "followup": self.followup[order],
            "death": np.where(self.dead[order], self.followup[order], np.nan),
            "relapse": self.relapse[order],
            "agvhd34": np.where(acute, gvhd, np.nan),
            "cgvhd_sys": np.where(~acute & ~np.isnan(gvhd), gvhd, np.nan),
        })
