"""The HTML report of a real (one-fit) run: sections, self-containment, escaping, atomicity."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from specs import small_run

from bridgebayes.cli.commands import main
from bridgebayes.data.cohort import load_cohort
from bridgebayes.reconstruct.published import load_published
from bridgebayes.reconstruct.summaries import fidelity_table
from bridgebayes.reference.analysis import reference_analysis
from bridgebayes.report import page as report_module
from bridgebayes.report.page import CompetingRisksInput, ReportError, build_report
from bridgebayes.run.bayes import run_bayes
from bridgebayes.run.spec import load_spec

SECTIONS = ("summary", "provenance", "methods", "endpoints", "forest", "landmarks", "decisions",
            "prior-sensitivity", "loo", "diagnostics", "reference", "competing-risks")
OPTIONAL = ("reconstruction-sensitivity", "ppc", "safety")


@pytest.fixture(scope="module")
def run(repo_root, tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    out = small_run(repo_root, base)
    copy = tmp_path_factory.mktemp("report") / "report"
    shutil.copytree(out, copy)
    return copy


@pytest.fixture(scope="module")
def inputs(run, tmp_path_factory):
    """The objects the CLI passed to the report (posterior read back from the cache)."""
    spec = load_spec(tmp_path_factory.getbasetemp() / "report_spec" / "models" / "cao2025.toml")
    cohort = load_cohort(spec.cohort, arms=spec.arms, time_unit=spec.time_unit)
    bayes = run_bayes(spec, cohort, cache=tmp_path_factory.getbasetemp() / "report_run"
                      / ".report.posteriors", progress=lambda _: None)
    return {"spec": spec, "cohort": cohort, "bayes": bayes,
            "reference": reference_analysis(cohort, landmarks=spec.landmarks),
            "fidelity": fidelity_table(cohort, load_published(spec.published))}


def _ids(html: str) -> set[str]:
    return set(re.findall(r'<section id="([^"]+)"', html))


def test_report_has_every_section_and_the_banner(run):
    html = (run / "report.html").read_text()
    # the seed spec names an ensemble; PPC and safety ("not reported") are always run
    assert set(SECTIONS) | set(OPTIONAL) <= _ids(html)
    assert 'id="reconstructed-banner"' in html and "pseudo-patient data" in html
    results = json.loads((run / "results.json").read_text())
    assert results["spec"]["sha256"] in html and results["data"]["sha256"] in html
    p1 = next(r["probability"] for r in results["bayes"]["decisions"]
              if r["quantity"] == "P(HR < c)" and r["threshold"] == 1.0)
    assert (f"Under a skeptical prior, the probability that CAR-T lowers the GVHD-free "
            f"relapse-free survival (GRFS) hazard compared with blinatumomab is "
            f"{100 * p1:.0f}% (Weibull model).") in html
    assert "R-hat ≤ 1.01" in html and "Normal(0.00, 0.42)" in html  # methods: gate, prior
    decisions = html[html.index('<section id="decisions">'):]
    decisions = decisions[:decisions.index("</section>")]
    assert "P(HR &lt; 1)" in decisions and "AFT factor" in decisions
    assert "median survival, CAR-T (months)" in decisions and ">inf<" not in decisions


def test_report_is_self_contained_and_figures_are_written(run):
    html = (run / "report.html").read_text()
    assert not re.search(r"https?://|<script|<link|<iframe|@import|url\(", html, re.I)
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]+)"', html))
    figures = sorted(p.name for p in (run / "figures").iterdir())
    assert figures == ["cif_relapse_nrm.png", "forest.png", "hr_grfs__weibull__skeptical.png",
                       "km_grfs__weibull__skeptical.png", "ppc_grfs_weibull_skeptical_prior.png"]
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in sources}
    assert embedded == {(run / "figures" / name).read_bytes() for name in figures}


def test_optional_sections_render_only_when_given(inputs):
    grid = np.linspace(0, 30, 16)
    arms = inputs["spec"].arms
    ppc = pd.concat([pd.DataFrame({"time": grid, "arm": a, "observed": np.exp(-grid / 20),
                                   "lower": np.exp(-grid / 15), "median": np.exp(-grid / 20),
                                   "upper": np.exp(-grid / 25)}) for a in arms])
    cif = pd.concat([pd.DataFrame({"time": grid, "arm": a, "cause": c, "median": grid / 100,
                                   "lower": grid / 150, "upper": grid / 60})
                     for a in arms for c in ("relapse", "nrm")])
    sensitivity = pd.DataFrame({"endpoint": ["grfs"], "family": ["weibull"],
                                "prior": ["skeptical"], "quantity": ["P(HR < 1)"],
                                "main": [0.84], "min": [0.7], "median": [0.83], "max": [0.9]})
    built = build_report(**inputs, sensitivity=sensitivity, ppc={"GRFS · Weibull": ppc},
                         safety="Grade III–IV acute GVHD: not reported.",
                         competing=CompetingRisksInput(posterior=cif))
    assert set(SECTIONS) | set(OPTIONAL) <= _ids(built.html)
    assert "Grade III–IV acute GVHD: not reported." in built.html
    assert "posterior median and 95% bands" in built.html
    assert "ppc_grfs_weibull" in built.figures
    with pytest.raises(ReportError, match=r"missing column\(s\) \['max'\]"):
        build_report(**inputs, sensitivity=sensitivity.drop(columns="max"))


def test_text_is_escaped_and_banner_only_for_reconstructed_data(inputs):
    spec = dataclasses.replace(inputs["spec"], title="<script>alert('x')</script> & co",
                               reconstructed=False)
    safety = pd.DataFrame({"outcome": ["<img src=x onerror=alert(1)>"], "value": ["n/a"]})
    built = build_report(spec=spec, cohort=inputs["cohort"], reference=inputs["reference"],
                         safety=safety)
    assert "<script>" not in built.html and "<img src=x" not in built.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in built.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in built.html
    assert "reconstructed-banner" not in built.html
    assert "endpoints" in _ids(built.html) and "forest" not in _ids(built.html)  # no [bayes]
    assert sorted(built.figures) == ["km_grfs", "km_os", "km_pfs"]


def test_interrupted_report_leaves_nothing_that_looks_complete(repo_root, tmp_path,
                                                               tmp_path_factory, monkeypatch,
                                                               capsys):
    base = tmp_path_factory.getbasetemp()
    spec = base / "report_spec" / "models" / "cao2025.toml"
    if not spec.is_file():
        small_run(repo_root, base)
    out = tmp_path / "report"
    shutil.copytree(base / "report_run" / ".report.posteriors", tmp_path / ".report.posteriors")
    real_replace = report_module._replace

    def killed_at_the_page(path, data):
        if path.name == "report.html":
            raise KeyboardInterrupt  # as if the run were stopped while writing the report
        return real_replace(path, data)

    monkeypatch.setattr(report_module, "_replace", killed_at_the_page)
    assert main(["--quiet", "run", str(spec), "--out", str(out)]) == 130  # Ctrl-C: exit 130
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.posteriors"]

    monkeypatch.setattr(report_module, "_replace", real_replace)
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out)]) == 0  # resumes from the cache
    assert "grfs__weibull__skeptical: cached" in capsys.readouterr().out
    complete = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert "report.html" in complete and "results.json" in complete
    monkeypatch.setattr(report_module, "_replace", killed_at_the_page)
    assert main(["--quiet", "run", str(spec), "--out", str(out)]) == 130  # Ctrl-C: exit 130
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == complete
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.posteriors", "report"]
