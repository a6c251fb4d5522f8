"""The ``bridgebayes sbc`` command: run SBC, write results, rank plots and a markdown report."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bridgebayes.core.io import (
    atomic_write_bytes,
    atomic_write_text,
    check_output_file,
    check_output_folder,
)
from bridgebayes.sbc.loop import ALPHA, SBCResult, results_csv, run_sbc
from bridgebayes.sbc.models import SCENARIOS
from bridgebayes.sbc.registry import MODELS, get_model, get_scenario
from bridgebayes.sbc.report import rank_figure

__all__ = ["ALL_MODELS", "sbc_command"]


#: Every calibrated model, in report order.
ALL_MODELS = tuple(MODELS)


def sbc_command(*, models: Sequence[str] = ALL_MODELS,
                scenarios: Sequence[str] = ("small", "large"), n_sims: int = 1000,
                nuts_sims: int = 0, nuts_scenarios: Sequence[str] = ("small",),
                seed: int = 20261124, out: str | os.PathLike[str] = "sbc",
                report: str | os.PathLike[str] | None = None,
                echo: Callable[[str], None] = print) -> int:
    """Run the SBC suite and write ``out/results.csv``, ``out/figures/*.png`` and a report.

    Parameters
    ----------
    models, scenarios
        Which models (:data:`ALL_MODELS`) and scenarios (``small``, ``large``).
    n_sims
        Simulations per model and scenario on the exact path (release: 1000).
    nuts_sims, nuts_scenarios
        NUTS simulations (through :func:`bridgebayes.inference.fit.fit`) per model in these
        scenarios.
    seed
        Root seed.
    out
        Results folder; finished chunks are reused on a rerun (resumable).
    report
        Markdown report path (e.g. ``docs/sbc.md``); figures are copied next to it
        into ``figures/``.  ``None``: ``out/report.md``.
    echo
        Where progress lines go.

    Returns
    -------
    int
        0 if every χ² p-value and P(HR < 1) check exceeds 0.005, else 3 (results written).

    Examples
    --------
    >>> sbc_command(n_sims=100, out="sbc-smoke")  # doctest: +SKIP
    0
    """
    for name in models:
        get_model(name)
    for name in (*scenarios, *nuts_scenarios):
        get_scenario(name)
    out = check_output_folder(out, replace=False)  # finished chunks in it are reused
    report = check_output_file(report if report is not None else out / "report.md",
                               what="--report")
    figures = report.parent / "figures"
    results: list[SBCResult] = []
    seconds: list[float] = []
    plan = [(m, s, "exact", n_sims) for m in models for s in scenarios
            if get_model(m).has_exact]  # models without an exact posterior: NUTS only
    plan += [(m, s, "nuts", nuts_sims) for m in models for s in nuts_scenarios if nuts_sims]
    started = time.perf_counter()
    for model, scenario, method, n in plan:
        tic = time.perf_counter()
        result = run_sbc(model, scenario, n_sims=n, seed=seed, method=method,
                         out=out / "chunks")
        results.append(result)
        seconds.append(time.perf_counter() - tic)
        fig = rank_figure(result)
        path = figures / f"sbc-{model}-{scenario}-{method}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.png")
        fig.savefig(tmp, dpi=110)
        atomic_write_bytes(path, tmp.read_bytes())
        tmp.unlink()
        echo(f"{model:13s} {scenario:6s} {method:6s} {n:5d} sims  "
             f"{'pass' if result.passed() else 'FAIL'}  ({seconds[-1]:.0f} s)")
    atomic_write_text(out / "results.csv", results_csv(results))
    atomic_write_text(report, markdown(results, report=report, figures=figures, seed=seed,
                                       elapsed=time.perf_counter() - started,
                                       seconds=seconds))
    ok = all(r.passed() for r in results)
    echo(f"SBC {'passed' if ok else 'FAILED'}; report {report}")
    return 0 if ok else 3


def _models_text(names: Sequence[str]) -> list[str]:
    """One line per calibrated model: its families and their fixed priors (from the
    registry, so the report states what was run)."""
    lines = ["| model | families and fixed priors (family options) |", "|---|---|"]
    for name in names:
        settings = get_model(name).settings()
        if "family" in settings:
            text = f"`{name}`: " + ", ".join(f"{k} = {v}" for k, v in settings["family"].items())
        else:
            text = "; ".join(f"{component}: `{opts['family']}` " + ", ".join(
                f"{k} = {v}" for k, v in opts.items() if k != "family")
                for component, opts in settings["families"].items())
        lines.append(f"| `{name}` | {text} |")
    return lines


def _git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown(results: list[SBCResult], *, report: Path, figures: Path, seed: int,
             elapsed: float, seconds: Sequence[float] | None = None) -> str:
    """The markdown report: settings, per-result tables, rank plots, pass/fail;
    ``seconds``: what each result took in this run (reused chunks take none)."""
    from bridgebayes.core import provenance

    versions = provenance.versions()
    lines = [
        "# Validation: simulation-based calibration", "",
        f"Generated by `bridgebayes.sbc.command.sbc_command` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, git revision "
        f"`{_git_revision()}`, root seed {seed}, this run {elapsed / 60:.1f} min (finished "
        "chunks of an earlier run are reused); "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".", "",
        "Reproduce: `python3 -m pytest -m slow tests/sbc/test_release.py` (same "
        "seed and checks), or this report with `bridgebayes sbc --nuts-sims 100 --report "
        "docs/sbc.md`; each section below states the seconds its simulations took when they "
        "were computed (on 2 shared cores, most of it the NUTS refits).", "",
        "Method (Talts et al. 2018; Modrák et al. 2023): per simulation, parameters are drawn "
        "from the prior, a censored two-arm trial is simulated, the posterior is computed and "
        "the rank of each true quantity among the posterior draws is recorded "
        "(`bridgebayes/sbc/loop.py`).  Ranked: `log_hr`, the log baseline hazards (PEM) or `log k`"
        " and `log lam` (Weibull), and the total log-likelihood of the simulated data at the "
        "true parameters (Modrák et al.'s data-dependent test quantity).  Uniformity: χ² test "
        "on 20 rank bins (pass: p > 0.005 for every quantity) and the ECDF of the ranks inside "
        "its 95% simultaneous band (ArviZ, Säilynoja et al. 2022; informative).  `P(HR < 1)` "
        "is a posterior probability, not a parameter: its check is the data-averaged "
        "posterior identity E[P(HR < 1 | data)] = prior P(HR < 1) = 0.5 (z-test, pass: "
        "p > 0.005).  Exact path: independent draws of the quadrature oracle "
        "(199 per simulation).  NUTS path: `bridgebayes.inference.fit.fit` (default backend), 2 "
        "chains "
        "x 1000 draws thinned to 99.", "",
        "Priors are the families' defaults (`log_hr ~ Normal(0, 1)`, `a0 = 0.1`, "
        "`log k ~ Normal(0, 1)`) with the data-driven baseline scale fixed (the family options "
        "`crude_rate`, `mean_time`), so that the prior is proper and the same in the "
        "simulator, the exact oracle and the PyMC model; the models with several hazards "
        "(competing risks: cause-specific hazards; illness–death: relapse, NRM and death after "
        "relapse with clock reset, one family per transition; `bridgebayes/sbc/multistate.py`) "
        "use a proper Gamma shape a0 = 1 so that most simulated trials have events in every "
        "transition, and rank besides each hazard's parameters a derived quantity computed "
        "from truth and draws by the same library code (the treatment arm's first-cause CIF "
        "or OS at 24 months) and the total log-likelihood.  Every model, as run "
        "(`bridgebayes/sbc/registry.py`):", "",
        *_models_text(list(dict.fromkeys(r.model for r in results)) or ALL_MODELS),
        "",
        "| scenario | patients per arm | censoring (months) | PEM cut points |",
        "|---|---|---|---|"]
    for s in SCENARIOS.values():
        lines.append(f"| {s.name} | {s.n_per_arm} | uniform {s.analysis - s.accrual:g}–"
                     f"{s.analysis:g} | {', '.join(f'{c:g}' for c in s.cuts)} |")
    lines += ["", "Reading the results: the default baseline prior (`a0 = 0.1`) is very diffuse "
              "on the data scale, so many simulated trials have few or no events (stated per "
              "run below) and their posteriors are close to the prior; the ranks must be "
              "uniform for those trials too, and the large scenario adds data-dominated ones.  "
              "On the NUTS path the diagnostics gate (bulk and tail ESS >= 400) often fails "
              "with 2 chains when an interval has no events (the posterior of its log hazard "
              "has a long left tail) and `fit()` retries; the ranks use 99 evenly thinned "
              "draws, fewer than the ESS in most fits (the smallest ESS per run is stated; "
              "below 99 the thinned draws are still autocorrelated).  The ECDF "
              "band is simultaneous over the 20 evaluation points of one quantity only: with "
              "about 20 quantities per report a few excursions are expected by chance."]
    n_tests = sum(len(r.summary()) for r in results)
    lines[-1] += (f"  Likewise the χ² p-values: with {n_tests} tests in this report the smallest "
                  f"is expected near 1/{n_tests} ≈ {1 / max(n_tests, 1):.3f} even when every "
                  "model is calibrated; the pass threshold 0.005 is per test.")
    overall = all(r.passed() for r in results)
    lines += ["", f"**Overall: {'PASS' if overall else 'FAIL'}** (every χ² p-value and every "
              f"P(HR < 1) check > {ALPHA}).", ""]
    for i, r in enumerate(results):
        summary, check = r.summary(), r.prob_check()
        events = r.sims["events_reference"] + r.sims["events_treatment"]
        lines += [f"## {r.model}, {r.scenario} scenario, {r.method} path "
                  f"({r.n_sims} simulations): {'pass' if r.passed() else 'FAIL'}", "",
                  f"Events per simulated trial: median {events.median():g}, trials without "
                  f"events {100 * (events == 0).mean():.0f}%.  Data-averaged P(HR < 1) = "
                  f"{check['mean']:.3f} (SE {check['se']:.3f}; prior 0.5; p = "
                  f"{check['p_value']:.3f})."
                  + (f"  Computed in {seconds[i]:.0f} s in this run (finished chunks of an "
                     "earlier run are reused and cost nothing)." if seconds else "")]
        if r.method == "nuts":
            lines[-1] += (f"  NUTS: minimum bulk ESS of the free parameters median "
                          f"{r.sims['ess_bulk_min'].median():.0f} (smallest "
                          f"{r.sims['ess_bulk_min'].min():.0f}, vs {r.n_draws} ranked draws); "
                          "diagnostics gate passed in "
                          f"{100 * r.sims['gate_passed'].mean():.0f}% of fits "
                          f"({int(r.sims['retried'].sum())} retried).")
        lines += ["", "| quantity | χ² (19 df) | p | ECDF in 95% band | coverage 50% | 90% "
                  "| 95% |", "|---|---|---|---|---|---|---|"]
        for row in summary.itertuples():
            lines.append(f"| `{row.quantity}` | {row.chi2:.1f} | {row.p_value:.3f} | "
                         f"{'yes' if row.ecdf_in_band else 'no'} | {row.coverage50:.3f} | "
                         f"{row.coverage90:.3f} | {row.coverage95:.3f} |")
        figure = figures / f"sbc-{r.model}-{r.scenario}-{r.method}.png"
        lines += ["", f"![SBC ranks {r.model} {r.scenario} {r.method}]"
                  f"({os.path.relpath(figure, report.parent)})", ""]
    return "\n".join(lines)
