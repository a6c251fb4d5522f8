"""The HTML report: a view of a saved output folder only — rebuilt from a copy alone, self-
contained, escaped, described, first screen first, details collapsed, failures flagged."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from specs import SEED_FIT, fake_fit, survival_spec, trial_spec

import bridgebayes.inference.fit as fit_module
from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.report import write_report
from bridgebayes.report.format import fixed, pct
from bridgebayes.report.view import load_view
from bridgebayes.run.pipeline import run

SECTIONS = ["answer", "study", "methods", "endpoint-grfs", "hazard-ratios", "checks",
            "prior-weight", "model-averaging", "reconstruction-sensitivity", "competing-risks",
            "safety", "reference", "provenance"]
COLLAPSED = ["checks", "reconstruction-sensitivity", "safety", "reference", "provenance"]
HSCT_WORDS = re.compile(r"transplant|GVHD|HSCT|relapse|CAR-T|blinatumomab|NRM", re.I)


@pytest.fixture(scope="module")
def out(seed_run) -> Path:
    return seed_run / "report"


@pytest.fixture(scope="module")
def html(out) -> str:
    return (out / "report.html").read_text()


def section_html(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start:page.index("</section>", start)]


def visible_text(fragment: str) -> str:
    """The text of an HTML fragment (tags removed, entities as written)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


def copy_output(out: Path, target: Path) -> Path:
    """The output folder alone (no spec, no data, no store), as someone would mail it."""
    shutil.copytree(out, target, ignore=shutil.ignore_patterns(".bridgebayes-cache"))
    return target


# --- the seed run's page ------------------------------------------------------------------

def test_every_section_in_order_with_a_table_of_contents(html):
    assert re.findall(r'<section id="([^"]+)"', html) == SECTIONS
    nav = html[html.index('<nav id="contents">'):html.index("</nav>")]
    assert re.findall(r'<a href="#([^"]+)"', nav) == SECTIONS
    for anchor in re.findall(r'href="#([^"]+)"', html):
        assert f'id="{anchor}"' in html, anchor


def test_the_page_is_self_contained(html, out):
    assert not re.search(r"https?://|<script|<link|<iframe|<object|<embed|@import|url\(",
                         html, re.I)
    assert not re.search(r"\son\w+=", html)  # no event handlers
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]+)"', html))
    embedded = sorted(base64.b64decode(s.split(",", 1)[1]) for s in sources)
    assert embedded == sorted(p.read_bytes() for p in (out / "figures").glob("*.png"))


def test_the_style_sheet_is_inlined_verbatim(html):
    from importlib import resources

    css = (resources.files("bridgebayes.report") / "templates" / "report.css").read_text()
    style = html[html.index("<style>") + 7:html.index("</style>")]
    assert style == css  # not HTML-escaped: "details>summary", quoted font names
    assert "details>summary" in style and "&gt;" not in style and "&#34;" not in style


def test_every_figure_has_alt_text_equal_to_its_caption(html, out):
    figures = re.findall(r'<figure id="fig-([^"]+)"><img src="[^"]+" alt="([^"]*)">'
                         r"<figcaption>([^<]*)</figcaption></figure>", html)
    assert len(figures) == len(list((out / "figures").glob("*.png"))) == 7
    for name, alt, caption in figures:
        assert alt and alt == caption and len(alt) > 40, name


def test_the_first_screen_asks_warns_and_answers(html, out):
    results = json.loads((out / "results.json").read_text())
    first = html[html.index('<header id="first-screen">'):html.index("</header>")]
    assert html.index("</header>") < html.index('<nav id="contents">')
    text = visible_text(first)
    assert "Question: How likely is it that bridging with CAR-T" in text
    caveats = re.findall(r'<div class="box caveat">(.*?)</div>', first)
    assert len(caveats) == 2
    assert "Reconstructed pseudo-patient data" in caveats[0]
    assert "Non-randomised comparison" in caveats[1]
    assert "Time zero is the transplant" in caveats[1]  # selection, in the study's words
    assert "No covariates were available" in caveats[1]
    box, = re.findall(r'<div class="box primary">(.*?)</div>', first)
    p = results["primary"]
    hr = p["hr"]
    assert (f"GVHD-free relapse-free survival, Weibull model, skeptical prior: posterior median "
            f"HR {fixed(hr['estimate'], 2)} (95% credible interval {fixed(hr['lower'], 2)} to "
            f"{fixed(hr['upper'], 2)})") in box
    assert f"P(HR &lt; 1) = {pct(p['probability'])}" in box
    assert f"exceeds 90% — {p['decision'].upper()}" in box
    assert "FAILED" not in box
    assert 'id="fig-summary"' in first
    assert "27 vs 9 patients" in text  # treatment vs reference, from the saved counts


def test_the_summary_figure_is_drawn_from_the_saved_headline_table(out, html):
    """tables/headline.csv holds exactly results.json's decisions (HR, P(HR < c), ROPE of
    every fit) and the ensemble's range; the first screen keys the figure's labels."""
    results = json.loads((out / "results.json").read_text())
    headline = pd.read_csv(out / "tables" / "headline.csv")
    saved = {(r["endpoint"], r["family"], r["prior"], r["quantity"], r["threshold"]):
             r["estimate"] if r["quantity"] == "hr" else r["probability"]
             for r in results["decisions"] if r["analysis"] == "two_arm"
             and r["quantity"] in ("hr", "prob_hr_below", "prob_rope")}
    shown = {(r["endpoint"], r["family"], r["prior"], r["quantity"],
              None if pd.isna(r["threshold"]) else r["threshold"]): r["value"]
             for r in headline.to_dict(orient="records")}
    assert shown.keys() == saved.keys()  # CSV round trip: equal to the last digit or two
    assert all(shown[k] == pytest.approx(saved[k], rel=1e-14) for k in saved)
    spread = {(r["quantity"], r["threshold"]): (r["min"], r["max"])
              for r in results["reconstruction_sensitivity"]["spread"]
              if r["quantity"] in ("hr", "prob_hr_below", "prob_rope")}
    for r in headline.to_dict(orient="records"):
        key = (r["quantity"], None if r["quantity"] == "hr" else r["threshold"])
        assert (r["ensemble_min"], r["ensemble_max"]) == pytest.approx(spread[key], rel=1e-14)
        assert r["ensemble_members"] == len(results["reconstruction_sensitivity"]["members"])
    first = visible_text(html[html.index('<header id="first-screen">'):html.index("</header>")])
    assert "Priors on log HR: skeptical Normal(0.00, 0.42)." in first


def test_long_sections_are_collapsed(html):
    assert "<details open" not in html
    for anchor in COLLAPSED:
        body = section_html(html, anchor)
        assert body.split("</h2>", 1)[1].startswith("<details><summary>Show "), anchor
    for anchor in ("answer", "study", "methods", "endpoint-grfs", "hazard-ratios"):
        assert not section_html(html, anchor).split("</h2>", 1)[-1].startswith("<details>")


def test_numbers_and_words_come_from_the_saved_results(html, out):
    results = json.loads((out / "results.json").read_text())
    methods = visible_text(section_html(html, "methods"))
    assert "2 chains, 500 draws after 500 tuning steps" in methods and "seed 3" in methods
    assert "R-hat ≤ 1.01" in methods and "Normal(0.00, 0.42)" in methods
    assert "survival at 12, 24 months" in methods
    endpoint = section_html(html, "endpoint-grfs")
    for sentence in results["sentences"][SEED_FIT]:
        assert sentence.replace("<", "&lt;").replace(">", "&gt;") in endpoint
    assert "S(12 months), CAR-T" in endpoint and "S(12 months), blinatumomab" in endpoint
    assert ">inf<" not in endpoint and "nan" not in visible_text(endpoint).lower().split()
    study = visible_text(section_html(html, "study"))
    assert "blinatumomab: 9, CAR-T: 27" in study  # reference first
    assert "16 of 19 within tolerance" in study
    assert "AFT factor (ratio of medians)" in endpoint and "P(HR &lt; 1)" in endpoint
    assert "Illness–death model" in section_html(html, "competing-risks")
    checks = section_html(html, "checks")
    assert "Power-scaling sensitivity" in checks and "Posterior predictive check" in checks
    assert "Pareto k" in checks
    prov = visible_text(section_html(html, "provenance"))
    assert results["provenance"]["spec"]["sha256"] in prov
    assert results["provenance"]["files"]["data"]["sha256"] in prov
    assert "../data/cao2025/cohort.csv" in prov


def test_competing_rows_name_their_cause_or_state(html):
    body = section_html(html, "competing-risks")
    tables = re.findall(r"<table>(.*?)</table>", body)
    header = re.findall(r"<th>([^<]*)</th>", tables[0])
    assert header == ["analysis", "model", "prior", "cause or state", "quantity", "arm",
                      "value"]
    rows = [tuple(re.findall(r"<td[^>]*>([^<]*)</td>", r))
            for r in re.findall(r"<tr>(.*?)</tr>", tables[0].split("</thead>")[1])]
    assert {r[3] for r in rows if r[0] == "competing_risks"} == {"relapse", "NRM"}
    assert len({r[:6] for r in rows}) == len(rows)  # no two rows that read the same


def test_a_copied_output_folder_alone_rebuilds_the_same_page(out, html, tmp_path):
    copy = copy_output(out, tmp_path / "mailed")
    figures = {p.name: p.read_bytes() for p in (copy / "figures").glob("*.png")}
    (copy / "report.html").unlink()
    shutil.rmtree(copy / "figures")
    page = write_report(copy)  # no spec, no data, no store, no posterior needed
    assert page == copy / "report.html"
    assert page.read_text() == html
    assert {p.name: p.read_bytes() for p in (copy / "figures").glob("*.png")} == figures


def test_the_report_reads_nothing_but_the_folder(out, tmp_path):
    copy = copy_output(out, tmp_path / "view")
    shutil.rmtree(copy / "posteriors")
    view = load_view(copy)
    assert view.arms == ("blinatumomab", "CAR-T") and view.unit == "months"
    assert set(view.tables) == {p.stem for p in (copy / "tables").glob("*.csv")}
    write_report(copy)
    text = (copy / "results.json").read_text()
    (copy / "results.json").write_text(text[: len(text) // 2])  # interrupted copy
    with pytest.raises(BridgeBayesError, match=r"results\.json: not valid JSON"):
        write_report(copy)
    (copy / "results.json").write_text("[1, 2]")
    with pytest.raises(BridgeBayesError, match=r"results\.json: not a results file"):
        write_report(copy)
    (copy / "results.json").unlink()
    with pytest.raises(BridgeBayesError, match=r"results\.json: file not found \(expected a "
                       r"results file\)"):
        write_report(copy)


def _edit_results(folder: Path, change) -> None:
    path = folder / "results.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_text_is_escaped(out, tmp_path):
    copy = copy_output(out, tmp_path / "escaped")

    def change(data):
        data["study"]["title"] = "<script>alert('x')</script> & co"
        data["study"]["question"] = "Is <b>bold</b> better?"
        data["sentences"][SEED_FIT] = ["<img src=x onerror=alert(1)>"]
        data["study"]["endpoints"]["grfs"]["label"] = "GRFS <i>&</i>"

    _edit_results(copy, change)
    page = write_report(copy).read_text()
    assert "<script>" not in page and "<img src=x" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in page
    assert "Is &lt;b&gt;bold&lt;/b&gt; better?" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "GRFS &lt;i&gt;&amp;&lt;/i&gt;" in page
    assert not re.search(r"\son\w+=", page.replace("onerror=alert", ""))


def test_a_fit_that_failed_its_diagnostics_is_flagged_everywhere(out, tmp_path):
    copy = copy_output(out, tmp_path / "failed")
    decisions = pd.read_csv(copy / "tables" / "decisions.csv")
    decisions.assign(gate_passed=False).to_csv(copy / "tables" / "decisions.csv", index=False)
    diagnostics = pd.read_csv(copy / "tables" / "diagnostics.csv")
    diagnostics.assign(passed=False).to_csv(copy / "tables" / "diagnostics.csv", index=False)
    _edit_results(copy, lambda d: d["primary"].update(gate_passed=False))
    page = write_report(copy).read_text()
    box, = re.findall(r'<div class="box primary">(.*?)</div>', page)
    assert box.endswith("The fit FAILED its diagnostics: do not use.")
    endpoint = section_html(page, "endpoint-grfs")
    assert "<th>Weibull — FAILED diagnostics, do not use</th>" in endpoint
    assert '<td class="fail">FAIL</td>' in section_html(page, "checks")


def test_extrapolated_rows_are_labelled(out, tmp_path):
    copy = copy_output(out, tmp_path / "extrapolated")
    decisions = pd.read_csv(copy / "tables" / "decisions.csv")
    late = decisions["time"] == 24.0
    decisions.loc[late, "extrapolated"] = True
    decisions.loc[decisions["quantity"] == "median_survival", "extrapolated"] = True
    decisions.to_csv(copy / "tables" / "decisions.csv", index=False)
    table = section_html(write_report(copy).read_text(), "endpoint-grfs")
    assert "<td>S(24 months), CAR-T (extrapolated)</td>" in table
    assert "<td>S(24 months) difference (extrapolated)</td>" in table
    assert "<td>S(12 months), CAR-T</td>" in table  # within the follow-up: no label
    assert "(model extrapolation)" in table  # the median survival's own wording
    assert "S(12 months), CAR-T (extrapolated)" not in table


# --- studies that are not the seed study ----------------------------------------------------

@pytest.fixture(scope="module")
def trial_report(tmp_path_factory) -> Path:
    """A randomised trial from a patient table, reference analysis only (no [bayes])."""
    folder = tmp_path_factory.mktemp("trial")
    spec = trial_spec(folder)
    result = run(spec, out=folder / "report", say=lambda _: None)
    assert result.gates_passed
    return folder / "report"


def test_a_reference_only_report_of_a_generic_study(trial_report):
    page = (trial_report / "report.html").read_text()
    assert re.findall(r'<section id="([^"]+)"', page) == [
        "answer", "study", "methods", "endpoint-os", "endpoint-pfs", "reference", "provenance"]
    assert not HSCT_WORDS.search(visible_text(page)), HSCT_WORDS.search(visible_text(page))
    assert "Read this first" not in page  # randomised, patient-level data: no caveat
    assert "No Bayesian analysis in this spec" in page
    assert "Time zero is the randomisation; times are in weeks" in visible_text(page)
    assert sorted(p.name for p in (trial_report / "figures").iterdir()) == ["km_os.png",
                                                                          "km_pfs.png"]
    assert not (trial_report / "posteriors").exists()
    results = json.loads((trial_report / "results.json").read_text())
    assert "primary" not in results and "decisions" not in results
    assert results["study"]["endpoints"]["stop"]["causes"] == {"progression": "progression",
                                                               "toxicity": "toxicity stop"}
    aj = pd.read_csv(trial_report / "tables" / "aalen_johansen.csv")
    assert set(aj["component"]) == {"progression", "toxicity"}
    reference = visible_text(section_html(page, "reference"))
    assert "at 26 weeks" in reference and "at 52 weeks" in reference
    assert "toxicity" in reference


@pytest.fixture(scope="module")
def remission_report(tmp_path_factory, seed_run) -> Path:
    """The one-endpoint Freireich table with a [bayes] section; its fit is a stand-in (the
    session posterior relabelled): the page, not the statistics, is under test."""
    folder = tmp_path_factory.mktemp("remission")
    spec = survival_spec(folder, """
[bayes]
endpoints = ["remission"]
families = ["weibull"]
priors = ["neutral"]
landmarks = [10, 20]
chains = 2
draws = 500
tune = 500

[primary]
endpoint = "remission"
family = "weibull"
prior = "neutral"
""")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(fit_module, "fit", fake_fit(seed_run / "report" / "posteriors"
                                              / f"{SEED_FIT}.nc"))
        run(spec, out=folder / "report", say=lambda _: None)
    return folder / "report"


def test_a_bayesian_report_of_a_one_endpoint_table_speaks_its_own_words(remission_report):
    page = (remission_report / "report.html").read_text()
    text = visible_text(page)
    assert re.findall(r'<section id="([^"]+)"', page) == [
        "answer", "study", "methods", "endpoint-remission", "hazard-ratios", "checks",
        "prior-weight", "model-averaging", "reference", "provenance"]
    assert not HSCT_WORDS.search(text), HSCT_WORDS.search(text)
    assert "Read this first" not in page  # a randomised trial of patient-level data
    box, = re.findall(r'<div class="box primary">(.*?)</div>', page)
    assert box.startswith("<strong>Pre-specified primary analysis.</strong> Remission "
                          "duration, Weibull model, neutral prior")
    assert "decision rule" not in box  # no decision_probability in this spec
    table = section_html(page, "endpoint-remission")
    assert "<td>S(10 weeks), 6-MP</td>" in table and "<td>S(10 weeks), placebo</td>" in table
    assert "<td>RMST(20 weeks) difference</td>" in table
    assert "times are in weeks" in text
    averaging = visible_text(section_html(page, "model-averaging"))
    assert "<h2>Extrapolation</h2>" in section_html(page, "model-averaging")
    assert "one model (Weibull" in averaging and "nothing is stacked" in averaging
    assert "stacking weights" not in averaging and "every model" not in averaging
    headline = pd.read_csv(remission_report / "tables" / "headline.csv")
    assert (headline["ensemble_members"] == 0).all() and headline["ensemble_min"].isna().all()
    assert 'id="fig-summary"' in page and "reconstructed cohorts" not in page


def test_a_non_randomised_study_says_so_without_transplant_words(remission_report, tmp_path):
    copy = copy_output(remission_report, tmp_path / "observational")
    _edit_results(copy, lambda d: d["study"].update(randomised=False))
    first = write_report(copy).read_text()
    caveat, = re.findall(r'<div class="box caveat">(.*?)</div>', first)
    assert "Non-randomised comparison" in caveat and "No covariates were available" in caveat
    assert "transplant" not in caveat


def test_per_interval_hazard_ratios_are_labelled_without_infinity():
    import numpy as np

    from bridgebayes.summaries.decide import decide
    from bridgebayes.summaries.decision import label

    d = decide(np.zeros(100), interval_log_hr=np.zeros((100, 2)), interval_cuts=[6.0])
    labels = [label(r) for r in d.table.to_dict(orient="records")]
    assert "HR (0–6 months)" in labels
    assert not any("inf" in x for x in labels), labels
