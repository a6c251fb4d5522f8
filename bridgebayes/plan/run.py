"""Planning jobs: scenarios cut into chunks, each chunk simulated and analysed on its own.

A :class:`PlanJob` is everything a run needs (scenarios, design prior, analysis plan, seed,
chunk size); :func:`run_chunk` computes one chunk from the job alone, so any worker can do
it.  Chunk ``c`` of scenario ``s`` draws from ``numpy.random.SeedSequence(seed,
spawn_key=(s, c))`` — the same child ``SeedSequence(seed).spawn(...)[s].spawn(...)[c]`` would
give — so the results depend on the seed and the chunk size, never on how many workers ran
which chunks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.provenance import code_version
from bridgebayes.plan.analyse import AnalysisPlan, analyse_trials
from bridgebayes.plan.design_prior import DesignPrior
from bridgebayes.plan.simulate import TrialDesign, simulate_trials

__all__ = ["PlanJob", "Scenario", "run_chunk"]


@dataclass(frozen=True)
class Scenario:
    """One design under one truth.

    Attributes
    ----------
    name
        Label, e.g. ``"assurance"``, ``"hr=0.7"``, ``"null"``.
    design
        The trial design (sample size, accrual, analysis timing).
    log_hr
        ``None``: the log HR is drawn from the design prior (assurance); a number: fixed on
        every effect piece, baselines still drawn from the design prior (power; 0 = null).
    n_sims
        Number of simulated trials.
    """

    name: str
    design: TrialDesign
    log_hr: float | None
    n_sims: int

    def __post_init__(self) -> None:
        if isinstance(self.n_sims, bool) or not isinstance(self.n_sims, int) or self.n_sims < 1:
            raise BridgeBayesError(f"scenario {self.name!r}: n_sims must be an integer >= 1, "
                                   f"got {self.n_sims!r}")
        if self.log_hr is not None and not np.isfinite(self.log_hr):
            raise BridgeBayesError(f"scenario {self.name!r}: log_hr must be finite")


@dataclass(frozen=True, eq=False)
class PlanJob:
    """Scenarios, design prior, analysis plan, seed and chunk size of a planning run."""

    scenarios: tuple[Scenario, ...]
    design_prior: DesignPrior
    analysis: AnalysisPlan
    seed: int
    chunk_size: int = 1000

    def __post_init__(self) -> None:
        if not self.scenarios:
            raise BridgeBayesError("plan job: no scenarios")
        if isinstance(self.chunk_size, bool) or not isinstance(self.chunk_size, int) or (
                self.chunk_size < 1):
            raise BridgeBayesError(f"chunk_size: expected an integer >= 1, got "
                                   f"{self.chunk_size!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise BridgeBayesError(f"seed: expected an integer >= 0, got {self.seed!r}")

    def chunks(self) -> list[tuple[int, int, int]]:
        """``(scenario index, chunk index, number of trials)`` of every chunk."""
        out = []
        for s, scenario in enumerate(self.scenarios):
            for c, start in enumerate(range(0, scenario.n_sims, self.chunk_size)):
                out.append((s, c, min(self.chunk_size, scenario.n_sims - start)))
        return out

    def fingerprint(self) -> str:
        """SHA-256 of everything that determines the results, the code version included
        (resumed runs must match it: a chunk simulated by other code is not reused)."""
        h = hashlib.sha256()
        prior = self.design_prior
        settings = {
            "code": code_version(),
            "scenarios": [asdict(s) for s in self.scenarios], "seed": self.seed,
            "chunk_size": self.chunk_size,
            "analysis": {"cuts": self.analysis.cuts, "threshold": self.analysis.threshold,
                         "a0": self.analysis.a0,
                         "priors": [(n, asdict(p)) for n, p in self.analysis.priors]},
            "design_prior": {"family": prior.family.name, "options": prior.family.options(),
                             "a0": prior.a0,
                             "vague": [prior.vague_weight, prior.vague_mean, prior.vague_sd],
                             "explicit": prior.explicit,
                             "bias": [prior.bias_mu, prior.bias_sigma],
                             "source": prior.source, "components": prior.components},
        }
        h.update(json.dumps(settings, sort_keys=True, default=str).encode())
        for name in sorted(prior.draws):
            h.update(name.encode() + np.ascontiguousarray(prior.draws[name], float).tobytes())
        h.update(b"|" + np.asarray(prior.hr_cuts, float).tobytes())
        return h.hexdigest()


def run_chunk(job: PlanJob, scenario: int, chunk: int) -> pd.DataFrame:
    """Simulate and analyse chunk ``chunk`` of scenario ``scenario`` (one row per trial).

    Adds ``scenario``, ``sim`` (index within the scenario) and ``true_log_hr`` (first effect
    piece) to the columns of :func:`~bridgebayes.plan.analyse.analyse_trials`.

    Examples
    --------
    >>> run_chunk(job, 0, 0).head()  # doctest: +SKIP
    """
    size = dict(((s, c), n) for s, c, n in job.chunks()).get((scenario, chunk))
    if size is None:
        raise BridgeBayesError(f"no chunk {chunk} in scenario {scenario}")
    rng = np.random.default_rng(np.random.SeedSequence(job.seed, spawn_key=(scenario, chunk)))
    spec = job.scenarios[scenario]
    truths = job.design_prior.sample(size, rng)
    if spec.log_hr is not None:
        truths = truths.with_log_hr(spec.log_hr)
    table = analyse_trials(simulate_trials(spec.design, truths, rng), job.analysis)
    table.insert(0, "true_log_hr", truths.log_hr[:, 0])
    table.insert(0, "sim", np.arange(size) + chunk * job.chunk_size)
    table.insert(0, "scenario", scenario)
    return table
