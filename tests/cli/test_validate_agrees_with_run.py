"""``validate`` is ``run`` without the work: over every spec mutation of the test corpora
(tests/spec_mutations.py: the seed spec, a patient-table spec and a one-endpoint table spec)
both commands give the same verdict, word for word, exit 2, fit nothing and write nothing;
the unmutated specs pass both (the control that keeps the comparison from being vacuous)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from spec_mutations import BROKEN, PATIENT_TABLE_BROKEN, SURVIVAL_TABLE_BROKEN
from specs import survival_spec, trial_spec

from bridgebayes.cli import main
from bridgebayes.inference import fit as fit_module

ROOT = Path(__file__).resolve().parents[2]


def seed_spec(folder: Path) -> Path:
    """The seed spec beside a copy of its data, paths relative as in the repository."""
    shutil.copytree(ROOT / "data" / "cao2025", folder / "data" / "cao2025")
    (folder / "models").mkdir()
    spec = folder / "models" / "cao2025.toml"
    shutil.copy(ROOT / "models" / "cao2025.toml", spec)
    return spec


MAKERS = {"seed": seed_spec, "patient_table": trial_spec, "survival_table": survival_spec}
CASES = [pytest.param(kind, change, id=f"{kind}:{name}")
         for kind, corpus in (("seed", BROKEN), ("patient_table", PATIENT_TABLE_BROKEN),
                              ("survival_table", SURVIVAL_TABLE_BROKEN))
         for name, change, _ in corpus]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def verdicts(spec: Path, out: Path, capsys) -> tuple[tuple[int, str], tuple[int, str]]:
    capsys.readouterr()
    validated = main(["validate", str(spec)]), capsys.readouterr().err
    ran = main(["--quiet", "run", str(spec), "--out", str(out)]), capsys.readouterr().err
    return validated, ran


@pytest.mark.parametrize(("kind", "change"), CASES)
def test_validate_and_run_give_every_broken_spec_the_same_verdict(tmp_path, kind, change,
                                                                  monkeypatch, capsys):
    spec = MAKERS[kind](tmp_path)
    text = change(spec.read_text())
    assert text != spec.read_text(), "the change did not apply"
    spec.write_text(text)
    before = files(tmp_path)
    monkeypatch.setattr(fit_module, "fit", lambda *a, **k: pytest.fail("fitted"))
    (code, said), (run_code, run_said) = verdicts(spec, tmp_path / "out", capsys)
    assert code == 2 and said.startswith("bridgebayes: error: "), said
    assert (run_code, run_said) == (code, said)  # the same verdict, word for word
    assert files(tmp_path) == before  # nothing written, nothing left behind
    assert "Traceback" not in said


@pytest.mark.parametrize("kind", ["patient_table", "survival_table"])
def test_the_unmutated_specs_pass_both(tmp_path, kind, capsys):
    spec = MAKERS[kind](tmp_path)
    (code, said), (run_code, run_said) = verdicts(spec, tmp_path / "out", capsys)
    assert (code, run_code) == (0, 0), (said, run_said)
    assert (tmp_path / "out" / "results.json").is_file()


def test_the_seed_spec_validates(tmp_path, capsys):
    assert main(["validate", str(seed_spec(tmp_path))]) == 0, capsys.readouterr().err
