"""The main job end to end: one real (small) run shared by the session, then reruns of copies
of it whose store decides what is recomputed (a stand-in sampler where a refit is expected)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from specs import ROOT, SEED_FIT, copy_seed_run, fake_fit

import bridgebayes.inference.fit as fit_module
from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.store import file_digest
from bridgebayes.inference.fit import Fit
from bridgebayes.reconstruct.published import load_published
from bridgebayes.reconstruct.summaries import fidelity_table
from bridgebayes.reference.analysis import reference_analysis
from bridgebayes.reference.curves import aalen_johansen_curves, km_curves
from bridgebayes.run.pipeline import MANIFEST, fingerprint, run
from bridgebayes.run.results import SCHEMA_VERSION
from bridgebayes.run.validate import prepare
from bridgebayes.summaries.decision import COLUMNS

TABLES = {"aalen_johansen", "at_risk", "competing_curves", "competing_decisions",
          "competing_vs_aalen_johansen", "decisions", "diagnostics", "ensemble_decisions",
          "extrapolation_curves", "extrapolation_decisions",
          "fidelity", "hr_density", "illness_death_transitions", "km", "posterior_curves",
          "power_scaling", "ppc", "reconstruction_sensitivity", "reference_landmarks",
          "reference_tests", "safety", "prior_weight", "prior_data_conflict", "calibration",
          "headline"}
FIGURES = {"cif_relapse_nrm", "fan_grfs__skeptical", "forest", f"hr_{SEED_FIT}", f"km_{SEED_FIT}",
           f"ppc_{SEED_FIT}", "summary"}


@pytest.fixture(scope="module")
def out(seed_run) -> Path:
    return seed_run / "report"


@pytest.fixture(scope="module")
def results(out) -> dict:
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def prepared(seed_run):
    return prepare(seed_run / "models" / "cao2025.toml")


def files_of(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` (the store included): bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / "tables" / f"{name}.csv")


# --- what one run writes ------------------------------------------------------------------

def test_the_output_folder_holds_everything_and_nothing_beside_it(out):
    assert sorted(p.name for p in out.iterdir()) == [
        ".bridgebayes-cache", ".bridgebayes-output", "figures", "manifest.json", "posteriors",
        "report.html", "results.json", "tables"]
    assert {p.stem for p in (out / "tables").glob("*.csv")} == TABLES
    assert {p.stem for p in (out / "figures").glob("*.png")} == FIGURES
    assert [p.name for p in (out / "posteriors").iterdir()] == [f"{SEED_FIT}.nc"]
    # the store lives inside the output; no sibling folder (cache, staging, .old) is left
    assert sorted(p.name for p in out.parent.iterdir()) == ["data", "models", "report"]


def test_results_json_has_the_documented_sections(results):
    assert results["schema_version"] == SCHEMA_VERSION == 3
    assert set(results) == {
        "schema_version", "provenance", "study", "resolved_spec", "primary", "decisions",
        "diagnostics", "power_scaling", "ppc", "reference", "fidelity",
        "reconstruction_sensitivity", "competing", "safety", "sentences", "priors",
        "families", "model_averaging", "checks", "checks_passed", "prior_weight"}
    assert "loo_comparison" not in results  # one family: nothing to compare
    assert results["checks_passed"] is True
    study = results["study"]
    assert study["arms"] == {"reference": "blinatumomab", "treatment": "CAR-T"}
    assert study["n_per_arm"] == {"blinatumomab": 9, "CAR-T": 27}
    assert (study["time_unit"], study["time_zero"], study["format"]) == ("months", "transplant",
                                                                         "hsct")
    assert study["reconstructed"] is True and study["randomised"] is False
    assert study["endpoints"]["relapse_nrm"] == {
        "label": "Relapse vs non-relapse mortality", "kind": "competing",
        "description": "relapse, or death without prior relapse (non-relapse mortality)",
        "causes": {"relapse": "relapse", "nrm": "NRM"}}
    assert results["sentences"].keys() == {SEED_FIT}
    assert [p["name"] for p in results["priors"]] == ["skeptical"]
    assert results["families"]["weibull"]["label"] == "Weibull"
    assert results["checks"]["gate"]["r_hat_max"] == 1.01


def test_decisions_are_in_the_one_decision_schema(out, results):
    frame = table(out, "decisions")
    assert tuple(frame.columns) == COLUMNS
    assert all(set(r) == set(COLUMNS) for r in results["decisions"])
    assert set(frame["analysis"]) == {"two_arm"} and set(frame["role"]) == {"primary"}
    assert set(frame["time_unit"]) == {"months"} and frame["gate_passed"].all()
    assert not frame["extrapolated"].any()  # 12 and 24 months: within the follow-up
    competing = table(out, "competing_decisions")
    assert tuple(competing.columns) == COLUMNS
    assert set(competing["analysis"]) == {"competing_risks", "illness_death"}
    assert tuple(table(out, "ensemble_decisions").columns) == COLUMNS


def test_the_primary_analysis_is_the_primary_fits_decision(out, results):
    primary = results["primary"]
    frame = table(out, "decisions")
    hr = frame[frame["quantity"] == "hr"].iloc[0]
    prob = frame[(frame["quantity"] == "prob_hr_below") & (frame["threshold"] == 1.0)].iloc[0]
    assert (primary["endpoint"], primary["family"], primary["prior"], primary["fit"]) == (
        "grfs", "weibull", "skeptical", SEED_FIT)
    assert primary["hr"] == {k: pytest.approx(hr[k], rel=1e-12)
                             for k in ("estimate", "lower", "upper", "level")}
    assert primary["probability"] == pytest.approx(prob["probability"], rel=1e-12)
    assert primary["mcse"] == pytest.approx(prob["mcse"], rel=1e-12)
    assert primary["decision_probability"] == 0.9 and primary["hr_threshold"] == 1.0
    assert primary["decision"] == ("met" if primary["probability"] > 0.9 else "not met")
    assert primary["gate_passed"] is True
    assert 0 < primary["probability"] < 1 and primary["hr"]["lower"] < primary["hr"]["upper"]


def _strings(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_no_machine_path_in_the_results(out, results, seed_run):
    machine = [str(seed_run), str(seed_run.resolve()), str(ROOT), str(Path.home()), "/tmp/"]
    for text in _strings(results):
        assert not text.startswith(("/", "~")), text
        assert not any(m in text for m in machine), text
    texts = [out / "report.html", out / MANIFEST, *sorted((out / "tables").glob("*.csv"))]
    for path in texts:
        page = path.read_text()
        assert not any(m in page for m in machine), path.name
    prov = results["provenance"]
    assert prov["files"]["data"]["path"] == "../data/cao2025/cohort.csv"
    assert prov["files"]["published"]["path"] == "../data/cao2025/published.toml"
    assert prov["ensemble"][0] == "../data/cao2025/ensemble/member_01/cohort.csv"
    assert results["resolved_spec"]["data"]["file"] == "../data/cao2025/cohort.csv"


def test_provenance_records_the_inputs(seed_run, results, prepared):
    prov = results["provenance"]
    spec_file = seed_run / "models" / "cao2025.toml"
    assert prov["spec"] == {"id": "cao2025", "file": "cao2025.toml",
                            "sha256": file_digest(spec_file),
                            "resolved_sha256": prepared.spec.resolved_sha256()}
    for name, path in (("data", "data/cao2025/cohort.csv"),
                       ("published", "data/cao2025/published.toml")):
        assert prov["files"][name]["sha256"] == file_digest(seed_run / path)
    assert len(prov["ensemble"]) == 20
    assert prov["seed"] == 3
    assert prov["sampler"]["chains"] == 2 and prov["sampler"]["draws"] == 500
    assert prov["versions"]["bridgebayes"] and prov["versions"]["pymc"]
    assert results["resolved_spec"] == json.loads(json.dumps(prepared.spec.resolved()))


def test_the_manifest_fingerprints_the_inputs_and_checksums_every_file(out, prepared):
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["fingerprint"] == fingerprint(prepared.spec.path)
    assert manifest["checks_passed"] is True
    assert manifest["notes"] == list(prepared.notes)  # said again by an up-to-date rerun
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()
               and ".bridgebayes-cache" not in p.relative_to(out).parts and p.name != MANIFEST}
    assert set(manifest["files"]) == written
    for name, sha in manifest["files"].items():
        assert file_digest(out / name) == sha, name


def test_posteriors_reload_and_reproduce_the_saved_decisions(out, prepared):
    path = out / "posteriors" / f"{SEED_FIT}.nc"
    again = Fit.load(path)
    assert again.data.name == "grfs" and again.family.name == "weibull"
    assert again.data.time_unit == "months" and again.data.arms == prepared.spec.arms
    b = prepared.spec.bayes
    decision = again.decide(prior="skeptical", endpoint="GVHD-free relapse-free survival",
                            hr_thresholds=b.hr_thresholds, rope=b.rope, landmarks=b.landmarks,
                            deltas=b.deltas, rmst_tau=b.rmst_tau, ci=b.ci)
    saved = table(out, "decisions")
    mine = decision.table
    assert len(mine) == len(saved)
    for column in ("estimate", "lower", "upper", "probability", "mcse"):
        np.testing.assert_allclose(saved[column], mine[column], rtol=1e-12, equal_nan=True)
    with pytest.raises(BridgeBayesError, match="a fit with key"):
        Fit.load(path, key="0" * 64)
    # the posterior file is the stored fit, byte for byte
    stored = [p for p in (out / ".bridgebayes-cache").glob("*.nc")]
    assert len(stored) == 1 and stored[0].read_bytes() == path.read_bytes()
    assert again.idata.attrs["fit_key"] == stored[0].stem


def test_every_store_object_is_complete(out):
    objects = [p for p in (out / ".bridgebayes-cache").iterdir() if p.suffix != ".json"]
    assert objects and not list((out / ".bridgebayes-cache").glob(".*"))  # no temporary file
    for payload in objects:
        meta = json.loads(payload.with_suffix(".json").read_text())
        assert meta["sha256"] == file_digest(payload) and meta["digest"] == payload.stem


def test_the_reference_tables_are_the_reference_analysis(out, results, prepared):
    spec, cohort = prepared.spec, prepared.cohort
    reference = reference_analysis(cohort, landmarks=spec.landmarks)
    saved = table(out, "reference_landmarks").fillna({"note": ""})  # CSV: blank note -> NaN
    pd.testing.assert_frame_equal(saved, reference.landmarks, check_dtype=False)
    assert results["reference"]["followup"] == {**reference.followup}
    km = table(out, "km")
    for name in ("os", "pfs", "grfs"):
        want = km_curves(cohort.endpoint(name))
        got = km[km["endpoint"] == name].drop(columns="endpoint").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
    aj = table(out, "aalen_johansen")
    assert set(aj["endpoint"]) == {"relapse_nrm"} and set(aj["component"]) == {"relapse", "nrm"}
    pd.testing.assert_frame_equal(aj.drop(columns="endpoint"),
                                  aalen_johansen_curves(cohort.endpoint("relapse_nrm")),
                                  check_dtype=False)
    at_risk = table(out, "at_risk")
    assert set(at_risk["endpoint"]) == {"os", "pfs", "grfs"}
    assert at_risk["time"].max() <= 1.5 * 24.0  # 1.5 x the last landmark


def test_fidelity_sensitivity_competing_and_safety_sections(out, results, prepared):
    spec, cohort = prepared.spec, prepared.cohort
    fidelity = fidelity_table(cohort, load_published(spec.data.published))
    pd.testing.assert_frame_equal(table(out, "fidelity"), fidelity, check_dtype=False)
    assert len(results["fidelity"]) == len(fidelity)
    sens = results["reconstruction_sensitivity"]
    assert len(sens["members"]) == 20 and sens["method"].startswith("exact posterior")
    assert len(sens["spread"]) == len(table(out, "reconstruction_sensitivity")) == 10
    members = table(out, "ensemble_decisions")["member"]
    assert list(dict.fromkeys(members)) == ["main", *[f"member_{j:02d}" for j in range(1, 21)]]
    comp = results["competing"]
    assert comp["endpoint"] == "relapse_nrm" and comp["transitions"] and comp["sentences"]
    assert len(comp["against_aalen_johansen"]) == 8  # 2 causes x 2 arms x 2 landmarks
    assert {r["status"] for r in results["safety"]["table"]} == {"not reported"}
    assert results["safety"]["sentences"]


# --- reruns of a copy: what the store and the manifest decide -------------------------------

@pytest.fixture
def copy(tmp_path_factory, tmp_path) -> Path:
    """A private copy of the session run (spec, data, output, store)."""
    return copy_seed_run(tmp_path_factory, tmp_path / "study")


@pytest.fixture
def lean(copy) -> Path:
    """The copy without its reconstruction ensemble (whose sensitivity analysis is most of a
    rerun's time and is not what these tests are about)."""
    spec = copy / "models" / "cao2025.toml"
    text = spec.read_text()
    spec.write_text(text.replace('ensemble = "../data/cao2025/ensemble"\n', ""))
    assert spec.read_text() != text
    return copy


def rerun(copy: Path, **options) -> tuple[object, list[str]]:
    lines: list[str] = []
    result = run(copy / "models" / "cao2025.toml", out=copy / "report", say=lines.append,
                 **options)
    return result, lines


@pytest.fixture
def sampler(monkeypatch, seed_run) -> list:
    """A stand-in sampler (the session posterior, relabelled); its calls are returned."""
    calls: list = []
    monkeypatch.setattr(fit_module, "fit", fake_fit(
        seed_run / "report" / "posteriors" / f"{SEED_FIT}.nc", calls))
    return calls


@pytest.fixture
def no_sampling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a fit was sampled although a stored one matched")
    monkeypatch.setattr(fit_module, "fit", refuse)


def test_an_unchanged_rerun_is_up_to_date_and_rewrites_nothing(copy, no_sampling):
    before = files_of(copy)
    result, lines = rerun(copy)
    assert lines == [f"{copy / 'report'}: up to date (nothing changed since the last run)"]
    assert result.unchanged is True and result.gates_passed is True
    assert result.summary == json.loads((copy / "report" / "results.json").read_text())
    assert files_of(copy) == before  # same bytes, same modification times


def test_the_fingerprint_ignores_location_and_layout_but_not_inputs(copy, prepared):
    spec = copy / "models" / "cao2025.toml"
    key = fingerprint(prepared.spec.path)
    assert fingerprint(spec) == key  # a moved copy
    spec.write_text("# a comment, and blank lines\n\n" + spec.read_text())
    assert fingerprint(spec) == key  # the content counts, not the layout
    published = copy / "data" / "cao2025" / "published.toml"
    published.write_text(published.read_text() + "\n# transcribed again\n")
    assert fingerprint(spec) != key
    published.write_text(published.read_text().removesuffix("\n# transcribed again\n"))
    assert fingerprint(spec) == key
    member = copy / "data" / "cao2025" / "ensemble" / "member_03" / "provenance.json"
    member.write_text(member.read_text() + " ")  # validity of a member is an input too
    assert fingerprint(spec) != key
    assert fingerprint(copy / "models" / "missing.toml") is None  # validation says why


def test_the_fingerprint_changes_with_the_code(copy, monkeypatch):
    """An edited package (same version number) or another PyMC must not serve old results."""
    import bridgebayes.run.pipeline as pipeline

    spec = copy / "models" / "cao2025.toml"
    key = fingerprint(spec)
    monkeypatch.setattr(pipeline, "code_version", lambda: "0.1.0+edited")
    assert fingerprint(spec) != key


def test_an_up_to_date_rerun_imports_no_pymc_and_writes_nothing(copy):
    """In a new process (nothing imported yet), as the command runs it."""
    import subprocess
    import sys

    before = files_of(copy)
    probe = ("import sys; from bridgebayes.cli import main; code = main(['run', sys.argv[1], "
             "'--out', sys.argv[2]]); heavy = sorted({m.split('.')[0] for m in sys.modules} & "
             "{'pymc', 'pytensor', 'arviz', 'pandas', 'scipy', 'matplotlib', 'lifelines', "
             "'nutpie', 'xarray'}); print('heavy:', heavy); sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", probe, str(copy / "models" / "cao2025.toml"),
                           str(copy / "report")], capture_output=True, text=True,
                          cwd=copy, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{copy / 'report'}: up to date (nothing changed since the last run)"
    assert lines[-1] == "heavy: []"
    assert files_of(copy) == before


def test_a_damaged_output_is_rebuilt_from_the_store(copy, no_sampling):
    out = copy / "report"
    before = {k: v[0] for k, v in files_of(out).items()}
    (out / "report.html").write_text("truncated")
    (out / "tables" / "decisions.csv").unlink()
    result, lines = rerun(copy)
    assert result.unchanged is False
    assert lines == [f"[1/1] {SEED_FIT}: cached, diagnostics pass"]
    assert {k: v[0] for k, v in files_of(out).items()} == before  # identical bytes


def test_force_recomputes_everything(lean, sampler, monkeypatch):
    copy = lean
    import bridgebayes.report.figures as figures

    drawn = []
    real = figures.figure_png
    monkeypatch.setattr(figures, "figure_png", lambda fig: drawn.append(1) or real(fig))
    result, lines = rerun(copy, force=True)
    assert lines == [f"[1/1] {SEED_FIT}: fitted, diagnostics pass"]
    assert [c[0] for c in sampler] == ["grfs"] and result.unchanged is False
    assert len(drawn) == len(FIGURES)  # re-rendered, not served from the store
    _, lines = rerun(copy)
    assert lines[0].endswith("up to date (nothing changed since the last run)")


PRIOR = """
[priors.mine]
mu = -0.2
sigma = 0.5
meaning = "a test prior"
source = "this test"
"""


def test_changing_one_prior_refits_that_prior_only(lean, sampler):
    copy = lean
    spec = copy / "models" / "cao2025.toml"
    spec.write_text(spec.read_text().replace('priors = ["skeptical"]\nseed = 3',
                                             'priors = ["skeptical", "mine"]\nseed = 3') + PRIOR)
    _, lines = rerun(copy)
    assert lines == [f"[1/2] {SEED_FIT}: cached, diagnostics pass",
                     "[2/2] grfs__weibull__mine: fitted, diagnostics pass"]
    assert len(sampler) == 1 and sampler[0][1]["log_hr_sigma"] == 0.5
    spec.write_text(spec.read_text().replace("sigma = 0.5\n", "sigma = 0.6\n"))
    _, lines = rerun(copy)
    assert lines == [f"[1/2] {SEED_FIT}: cached, diagnostics pass",
                     "[2/2] grfs__weibull__mine: fitted, diagnostics pass"]
    assert len(sampler) == 2 and sampler[1][1]["log_hr_sigma"] == 0.6
    # the prior's words are not part of the model: editing them refits nothing
    spec.write_text(spec.read_text().replace('meaning = "a test prior"',
                                             'meaning = "a test prior, reworded"'))
    _, lines = rerun(copy)
    assert [line.split(": ")[1] for line in lines] == ["cached, diagnostics pass"] * 2
    assert len(sampler) == 2
    out = copy / "report"
    assert {p.stem for p in (out / "posteriors").iterdir()} == {SEED_FIT,
                                                                "grfs__weibull__mine"}
    results = json.loads((out / "results.json").read_text())
    assert {p["name"]: p["meaning"] for p in results["priors"]}["mine"] == \
        "a test prior, reworded"
    roles = {(r["prior"], r["role"]) for r in results["decisions"]}
    assert roles == {("skeptical", "primary"), ("mine", "sensitivity")}


def _edit_cohort(copy: Path, old: str, new: str) -> None:
    cohort = copy / "data" / "cao2025" / "cohort.csv"
    text = cohort.read_text()
    assert old in text
    cohort.write_text(text.replace(old, new))


def test_changed_cohort_data_that_the_endpoint_uses_refits_it(lean, sampler):
    copy = lean
    # P002: chronic GVHD at 3.32 months is the GRFS event
    _edit_cohort(copy, "P002,blinatumomab,20.11,,,,3.32", "P002,blinatumomab,20.11,,,,3.33")
    _, lines = rerun(copy)
    assert lines == [f"[1/1] {SEED_FIT}: fitted, diagnostics pass"]
    assert len(sampler) == 1


def test_changed_cohort_data_that_the_endpoint_does_not_use_does_not_refit_it(lean, sampler):
    """P002's last follow-up changes OS, not GRFS (its GRFS event came first): the GRFS fit
    is reused, everything that reads OS is recomputed."""
    copy = lean
    before = json.loads((copy / "report" / "results.json").read_text())
    _edit_cohort(copy, "P002,blinatumomab,20.11,", "P002,blinatumomab,20.12,")
    result, lines = rerun(copy)
    assert lines == [f"[1/1] {SEED_FIT}: cached, diagnostics pass"] and not sampler
    assert result.unchanged is False
    after = json.loads((copy / "report" / "results.json").read_text())
    assert after["decisions"] == before["decisions"]
    assert after["reference"]["followup"]["max"] == before["reference"]["followup"]["max"]
    assert after["provenance"]["files"]["data"]["sha256"] != \
        before["provenance"]["files"]["data"]["sha256"]
    km = table(copy / "report", "km")
    assert 20.12 in set(km.loc[km["endpoint"] == "os", "time"])


def test_an_interrupted_write_leaves_the_previous_output(copy, no_sampling, monkeypatch):
    import bridgebayes.report as report

    out = copy / "report"
    before = files_of(out)
    spec = copy / "models" / "cao2025.toml"
    spec.write_text(spec.read_text().replace('title = "CAR-T vs', 'title = "Retitled: CAR-T vs'))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as if the run were stopped while writing the report

    with monkeypatch.context() as m:
        m.setattr(report, "write_report", killed)
        with pytest.raises(KeyboardInterrupt):
            rerun(copy)
    assert files_of(out) == before  # same bytes, same times: nothing rewritten in place
    assert sorted(p.name for p in copy.iterdir()) == ["data", "models", "report"]
    result, lines = rerun(copy)  # completes, from the store
    assert lines == [f"[1/1] {SEED_FIT}: cached, diagnostics pass"]
    assert result.summary["study"]["title"].startswith("Retitled: ")
    assert "<title>Retitled: CAR-T vs" in (out / "report.html").read_text()


def test_an_interrupted_first_run_leaves_only_the_store(tmp_path, seed_run, no_sampling,
                                                        monkeypatch):
    import shutil

    import bridgebayes.report as report

    shutil.copytree(seed_run / "models", tmp_path / "models")
    shutil.copytree(seed_run / "data", tmp_path / "data")
    shutil.copytree(seed_run / "report" / ".bridgebayes-cache",
                    tmp_path / "report" / ".bridgebayes-cache")
    monkeypatch.setattr(report, "write_report", lambda *a, **k: (_ for _ in ()).throw(
        KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "models" / "cao2025.toml", out=tmp_path / "report", say=lambda _: None)
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [".bridgebayes-cache"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "models", "report"]


def test_times_beyond_the_follow_up_are_noted_and_labelled_extrapolated(lean, no_sampling):
    copy = lean
    spec = copy / "models" / "cao2025.toml"
    spec.write_text(spec.read_text().replace(
        "seed = 3\n", 'seed = 3\nlandmarks = [12, "10 years"]\nci = 0.9\n'))
    result, lines = rerun(copy)
    assert lines[0].startswith("note: bayes: times [120.0] months are beyond the last "
                               "follow-up (92.21 months)")
    assert lines[1] == f"[1/1] {SEED_FIT}: cached, diagnostics pass"  # landmarks: no refit
    frame = table(copy / "report", "decisions")
    timed = frame[frame["time"].notna() & frame["quantity"].str.contains("survival")]
    assert set(timed.loc[timed["extrapolated"], "time"]) == {120.0}
    assert not timed.loc[timed["time"] == 12.0, "extrapolated"].any()
    assert result.summary["resolved_spec"]["bayes"]["landmarks"] == [12.0, 120.0]
    assert result.summary["resolved_spec"]["bayes"]["rmst_tau"] == 120.0
    # the credible level of every interval follows bayes.ci (landmarks and ci: no refit)
    intervals = frame[frame["quantity"].isin(["hr", "survival", "rmst_difference"])]
    assert set(intervals["level"]) == {0.9}
    assert result.summary["primary"]["hr"]["level"] == 0.9


def test_a_failed_gate_is_reported_and_fails_the_checks(lean, seed_run, monkeypatch):
    copy = lean
    monkeypatch.setattr(fit_module, "fit", fake_fit(
        seed_run / "report" / "posteriors" / f"{SEED_FIT}.nc", fail_gate=True))
    result, lines = rerun(copy, force=True)
    assert lines == [f"[1/1] {SEED_FIT}: fitted, diagnostics FAIL: max R-hat = 1.2 "
                     "(threshold 1.01)"]
    assert result.gates_passed is False and result.summary["checks_passed"] is False
    assert result.summary["primary"]["gate_passed"] is False
    assert json.loads((copy / "report" / MANIFEST).read_text())["checks_passed"] is False
    assert not table(copy / "report", "decisions")["gate_passed"].any()
    assert os.path.getsize(copy / "report" / "report.html") > 0


def test_up_to_date_needs_the_same_fingerprint_and_intact_files(out, tmp_path, prepared):
    from bridgebayes.run.pipeline import up_to_date

    key = fingerprint(prepared.spec.path)
    assert up_to_date(out, key)["fingerprint"] == key
    assert up_to_date(out, "0" * 64) is None
    copy = tmp_path / "out"
    import shutil

    shutil.copytree(out, copy, ignore=shutil.ignore_patterns(".bridgebayes-cache"))
    assert up_to_date(copy, key) is not None  # the store is not part of the output
    (copy / "figures" / "forest.png").write_bytes(b"")
    assert up_to_date(copy, key) is None
    (copy / MANIFEST).write_text("{not json")
    assert up_to_date(copy, key) is None
    (copy / MANIFEST).unlink()
    assert up_to_date(copy, key) is None


def test_roles_of_the_fits(prepared):
    import dataclasses

    from bridgebayes.run.results import role_of

    spec = prepared.spec
    assert role_of(spec, "grfs", "weibull", "skeptical") == "primary"
    assert role_of(spec, "grfs", "weibull", "neutral") == "sensitivity"
    assert role_of(spec, "grfs", "piecewise_exponential", "skeptical") == "sensitivity"
    assert role_of(spec, "os", "weibull", "skeptical") == "secondary"
    assert role_of(dataclasses.replace(spec, primary=None), "grfs", "weibull",
                   "skeptical") == "secondary"


# --- how much the priors weigh; hygiene of what is written -----------------------------------

def test_the_run_states_how_much_each_prior_weighs_and_the_report_shows_it(out, results,
                                                                           prepared):
    from markupsafe import escape

    saved = results["prior_weight"]
    [weight] = saved["weights"]
    assert (weight["endpoint"], weight["prior"]) == ("grfs", "skeptical")
    data = prepared.cohort.endpoint("grfs")
    arm, event = np.asarray(data.arm), np.asarray(data.event) > 0
    assert (weight["events_reference"], weight["events_treatment"]) == (
        int(event[arm == 0].sum()), int(event[arm == 1].sum()))
    assert weight["prior_events_balanced"] == pytest.approx(4 / 0.42 ** 2)
    [conflict] = saved["conflict"]
    assert conflict["conflict"] == (conflict["p_value"] <= saved["conflict_threshold"])
    assert {r["scenario"] for r in saved["calibration"]} == {"HR = 1", "posterior"}
    frame = table(out, "prior_weight")
    assert frame["prior_to_data"].iloc[0] == pytest.approx(weight["prior_to_data"], rel=1e-12)
    page = (out / "report.html").read_text()
    assert 'id="prior-weight"' in page
    for sentence in saved["sentences"]["grfs__skeptical"]:
        assert str(escape(sentence)) in page
    assert [p["effective_events_balanced"] for p in results["priors"]] == [
        pytest.approx(4 / 0.42 ** 2)]


def test_outputs_follow_the_users_umask(out):
    """Folders and files of the run (store included) are created with the umask of the
    process that ran it, not mkdtemp's 0700 / mkstemp's 0600."""
    import stat

    mask = os.umask(0)
    os.umask(mask)
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        want = (0o777 if path.is_dir() else 0o666) & ~mask
        assert mode == want, (path.relative_to(out), oct(mode), oct(want))
