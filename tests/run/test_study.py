"""A spec's data: the cohort in every format, data-derived defaults, and the one validation
pass (``prepare``) that ``validate`` and ``run`` share."""

from __future__ import annotations

import dataclasses
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from specs import small_seed_spec, survival_spec, trial_spec, trial_table

from bridgebayes.core.errors import CohortError, SpecError
from bridgebayes.reference.analysis import LADDERS, reverse_km_median
from bridgebayes.run.spec import load_spec
from bridgebayes.run.study import default_landmarks, followup_endpoint, load_study, resolve
from bridgebayes.run.validate import prepare

NO_TIMES = {"[reference]\nlandmarks = [12.0, 24.0]\n": ""}


def without_times(text: str) -> str:
    """The seed spec text without any landmark or RMST horizon."""
    for old, new in NO_TIMES.items():
        text = text.replace(old, new)
    return text.replace("landmarks = [12.0, 24.0]\n", "").replace("rmst_tau = 24.0\n", "")


def test_the_transplant_preset_loads_in_its_unit(repo_root):
    spec = load_spec(repo_root / "models" / "cao2025.toml")
    cohort = load_study(spec)
    assert (cohort.format, cohort.time_unit, cohort.time_zero) == ("hsct", "months", "transplant")
    assert cohort.n_per_arm == {"blinatumomab": 9, "CAR-T": 27}
    assert list(cohort.endpoints) == ["os", "pfs", "grfs", "relapse_nrm"]
    raw = pd.read_csv(spec.data.file)
    np.testing.assert_array_equal(cohort.endpoint("os").time, raw["followup"])  # not converted


def test_a_patient_table_loads_its_declared_endpoints_and_covariates(tmp_path):
    spec = load_spec(trial_spec(tmp_path))
    cohort = load_study(spec)
    assert (cohort.format, cohort.time_unit, cohort.time_zero, cohort.followup) == (
        "patient_table", "weeks", "randomisation", "last")
    assert list(cohort.endpoints) == ["os", "pfs", "stop"]
    stop = cohort.endpoints["stop"]
    assert stop.kind == "competing" and dict(stop.cause_labels) == {"toxicity": "toxicity stop"}
    assert cohort.design_columns(["stage", "age"]) == ("stage=II", "stage=III", "age")
    table = trial_table()
    os_ = cohort.endpoint("os")
    np.testing.assert_array_equal(os_.time, table["last"])
    np.testing.assert_array_equal(os_.event, table["death"].notna().astype(int))
    assert cohort.covariates["stage"].levels == ("I", "II", "III")


def test_a_survival_table_loads_its_renamed_columns(tmp_path):
    spec = load_spec(survival_spec(tmp_path))
    cohort = load_study(spec)
    assert cohort.format == "survival_table" and list(cohort.endpoints) == ["remission"]
    data = cohort.endpoint("remission")
    assert cohort.endpoints["remission"].label == "Remission duration"
    assert data.time_unit == "weeks" and data.arms == ("placebo", "6-MP")
    assert int(data.event[data.arm == 1].sum()) == 9 and int(data.event[data.arm == 0].sum()) == 21
    assert data.ids[0] == "61"  # ids from the 'pid' column ("6-MP" patient 1)


def test_a_declared_covariate_missing_from_the_data_is_a_cohort_error(tmp_path):
    path = trial_spec(tmp_path)
    trial_table().drop(columns="age").to_csv(tmp_path / "data" / "trial.csv", index=False)
    with pytest.raises(CohortError, match=r"covariates: declared column\(s\) \['age'\] are not "
                                          r"in the table"):
        load_study(load_spec(path))
    path.write_text(path.read_text().replace("[covariates.age]\nkind = \"numeric\"\n", ""))
    trial_table().to_csv(tmp_path / "data" / "trial.csv", index=False)
    with pytest.raises(CohortError, match=r"unexpected column\(s\) \['age'\]; declare "
                                          r"covariates"):
        load_study(load_spec(path))


# --- data-derived defaults ------------------------------------------------------------------

def _expected(median: float, unit: str) -> tuple[float, ...]:
    """The documented rule: the largest ladder landmark at or below half and all of the
    median follow-up."""
    ladder = LADDERS[unit]
    return tuple(sorted({float(max(x for x in ladder if x <= target))
                         for target in (median / 2, median)}))


def test_default_landmarks_follow_the_reverse_km_median_follow_up(repo_root):
    cohort = load_study(load_spec(repo_root / "models" / "cao2025.toml"))
    os_ = cohort.endpoint("os")
    median = reverse_km_median(os_.time, os_.event)
    assert median == pytest.approx(27.74, abs=0.01)
    assert default_landmarks(cohort, "os") == _expected(median, "months") == (12.0, 24.0)


def test_defaults_are_resolved_only_where_the_spec_has_none(repo_root, tmp_path):
    base = tmp_path / "s"
    spec_path = small_seed_spec(repo_root, base)
    spec_path.write_text(without_times(spec_path.read_text()))
    spec = load_spec(spec_path)
    assert spec.landmarks is None and spec.bayes.landmarks is None and spec.bayes.rmst_tau is None
    resolved = resolve(spec, load_study(spec))
    assert resolved.landmarks == (12.0, 24.0) and resolved.bayes.landmarks == (12.0, 24.0)
    assert resolved.bayes.rmst_tau == 24.0  # the last landmark
    assert resolved.resolved()["bayes"]["landmarks"] == [12.0, 24.0]
    assert resolved.resolved_sha256() != spec.resolved_sha256()
    # declared times win; the RMST horizon then follows the declared landmarks
    declared = spec_path.read_text().replace("seed = 3\n", 'seed = 3\nlandmarks = [6, "3 years"]\n')
    spec_path.write_text(declared)
    again = resolve(load_spec(spec_path), load_study(load_spec(spec_path)))
    assert again.bayes.landmarks == (6.0, 36.0) and again.bayes.rmst_tau == 36.0
    assert again.landmarks == (12.0, 24.0)  # [reference] still from the follow-up


def test_defaults_are_in_the_data_unit_and_do_not_depend_on_the_arms(tmp_path):
    spec = load_spec(trial_spec(tmp_path))
    cohort = load_study(spec)
    os_ = cohort.endpoint("os")
    expected = _expected(reverse_km_median(os_.time, os_.event), "weeks")
    assert resolve(spec, cohort).landmarks == expected == (26.0, 52.0)
    # the follow-up is a property of the censoring, not of the comparison: swap the arms
    swapped = trial_table().assign(arm=lambda t: t["arm"].map({"placebo": "drug",
                                                               "drug": "placebo"}))
    swapped.to_csv(tmp_path / "data" / "trial.csv", index=False)
    assert resolve(spec, load_study(spec)).landmarks == expected


def test_the_follow_up_endpoint_is_chosen_by_the_spec(tmp_path):
    spec = load_spec(trial_spec(tmp_path))
    cohort = load_study(spec)
    assert followup_endpoint(spec, cohort) == "os"  # the first non-competing endpoint
    path = trial_spec(tmp_path / "b")
    path.write_text(path.read_text().replace("[data]\n", '[data]\nfollowup_endpoint = "pfs"\n'))
    spec = load_spec(path)
    assert followup_endpoint(spec, load_study(spec)) == "pfs"
    pfs = load_study(spec).endpoint("pfs")
    assert resolve(spec, load_study(spec)).landmarks == _expected(
        reverse_km_median(pfs.time, pfs.event), "weeks")


def test_a_study_followed_for_days_gets_round_days(tmp_path):
    path = survival_spec(tmp_path)
    frame = pd.read_csv(tmp_path / "data" / "remission.csv")
    frame.assign(weeks=frame["weeks"] * 7).to_csv(tmp_path / "data" / "remission.csv",
                                                  index=False)
    path.write_text(path.read_text().replace('time_unit = "weeks"', 'time_unit = "days"'))
    spec = load_spec(path)
    cohort = load_study(spec)
    data = cohort.endpoint("remission")
    landmarks = resolve(spec, cohort).landmarks
    assert set(landmarks) <= set(LADDERS["days"])
    assert landmarks == _expected(reverse_km_median(data.time, data.event), "days")


# --- prepare: the one validation pass --------------------------------------------------------

def test_prepare_resolves_and_loads(repo_root):
    prepared = prepare(repo_root / "models" / "cao2025.toml")
    assert prepared.spec.bayes.landmarks == (12.0, 24.0)
    assert prepared.cohort.n_per_arm == {"blinatumomab": 9, "CAR-T": 27}
    assert prepared.notes == ("adjustment: no covariates in [bayes] covariates: no adjustment is "
                              "possible; the section holds the bias analysis only",)


def test_prepare_notes_times_beyond_the_follow_up(repo_root, tmp_path):
    path = small_seed_spec(repo_root, tmp_path)
    path.write_text(path.read_text().replace("seed = 3\n", 'seed = 3\nlandmarks = [12, '
                                             '"10 years"]\nrmst_tau = "9 years"\n')
                    .replace("landmarks = [12.0, 24.0]", "landmarks = [12.0, 100.0]"))
    notes = prepare(path).notes
    assert len(notes) == 2
    assert notes[0] == ("reference.landmarks: 100 months is beyond the last follow-up (92.21 "
                        "months): not estimable there")
    assert notes[1].startswith("bayes: times [108.0, 120.0] months are beyond the last "
                               "follow-up (92.21 months); their estimates are model "
                               "extrapolations")


def _published_copy(tmp_path, change) -> None:
    published = tmp_path / "data" / "cao2025" / "published.toml"
    published.write_text(change(published.read_text()))


def test_prepare_checks_the_published_arms_against_the_spec(repo_root, tmp_path):
    path = small_seed_spec(repo_root, tmp_path)
    _published_copy(tmp_path, lambda t: t.replace("blinatumomab", "blina"))
    with pytest.raises(SpecError, match=re.escape(
            "key 'data.published': its arms ['blina', 'CAR-T'] differ from the spec's arms "
            "['blinatumomab', 'CAR-T']")):
        prepare(path)


def test_published_figures_need_transplant_data_in_months(repo_root, tmp_path):
    """The published summaries are transplant endpoints in months: a spec in another unit
    or format is refused before anything runs (it used to fail after the fits, or compare
    months with weeks)."""
    path = trial_spec(tmp_path)
    shutil.copy(repo_root / "data" / "cao2025" / "published.toml", tmp_path / "data")
    path.write_text(path.read_text().replace("randomised = true\n", 'randomised = true\n'
                                             'published = "../data/published.toml"\n'))
    with pytest.raises(SpecError, match=r"'data\.published': expected transplant data in "
                                        r"months .* got format 'patient_table', time_unit "
                                        r"'weeks'"):
        prepare(path)
    seed = small_seed_spec(repo_root, tmp_path / "seed")
    seed.write_text(seed.read_text().replace('time_unit = "months"', 'time_unit = "weeks"'))
    with pytest.raises(SpecError, match=r"got format 'hsct', time_unit 'weeks'"):
        prepare(seed)


def test_a_broken_ensemble_member_is_found_before_any_fit(repo_root, tmp_path):
    path = small_seed_spec(repo_root, tmp_path)
    member = tmp_path / "data" / "cao2025" / "ensemble" / "member_07" / "cohort.csv"
    member.write_text(member.read_text().replace(",CAR-T,", ",chemo,", 1))
    with pytest.raises(CohortError, match=r"member_07/cohort\.csv: ensemble member "
                                          r"\(data\.ensemble\): column 'arm': unknown arm "
                                          r"label"):
        prepare(path)


def test_prepare_builds_every_family_of_the_spec(repo_root, tmp_path, monkeypatch):
    """Options, priors and covariates of every combination are checked by building the
    family objects the fits will use."""
    import bridgebayes.run.fits as fits

    built = []
    real = fits.family_for
    monkeypatch.setattr(fits, "family_for", lambda spec, cohort, key: built.append(key)
                        or real(spec, cohort, key))
    prepared = prepare(repo_root / "models" / "cao2025.toml")
    assert [dataclasses.astuple(k) for k in built] == prepared.spec.bayes.combinations()


def test_a_covariate_adjusted_spec_builds_families_with_indicator_columns(tmp_path):
    path = trial_spec(tmp_path, '\n[bayes]\nendpoints = ["os"]\nfamilies = ["weibull"]\n'
                                'priors = ["neutral"]\ncovariates = ["stage", "age"]\n')
    from bridgebayes.run.fits import FitKey, family_for

    prepared = prepare(path)
    family = family_for(prepared.spec, prepared.cohort, FitKey("os", "weibull", "neutral"))
    assert tuple(family.options()["covariates"]) == ("stage=II", "stage=III", "age")


def test_an_empty_bayes_table_fits_every_survival_endpoint_with_the_default_families(tmp_path):
    spec = load_spec(trial_spec(tmp_path, "\n[bayes]\n"))
    assert spec.bayes.endpoints == ("os", "pfs")  # "stop" has competing causes
    assert spec.bayes.families == ("piecewise_exponential", "weibull")
    assert spec.bayes.priors == {"os": ("neutral", "skeptical"), "pfs": ("neutral", "skeptical")}
    remission = load_spec(survival_spec(tmp_path / "s", '\n[bayes]\nfamilies = ["weibull"]\n'))
    assert remission.bayes.endpoints == ("remission",)
    assert remission.bayes.families == ("weibull",)
    assert load_spec(survival_spec(tmp_path / "n")).bayes is None  # reference analysis only
