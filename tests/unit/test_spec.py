"""Spec validation: broken specs are rejected with the file, the key and what was expected."""

from __future__ import annotations

import re

import pytest

from bridgebayes.errors import SpecError
from bridgebayes.spec import load_spec


@pytest.fixture
def spec_text(repo_root):
    data = repo_root / "data" / "cao2025"
    text = (repo_root / "models" / "cao2025.toml").read_text()
    return text.replace("../data/cao2025/", f"{data}/")


def write(tmp_path, text, name="cao2025.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


BROKEN = [
    ("unknown-section", lambda t: t + "\n[model]\nx = 1\n", r"unknown section\(s\) \['model'\]"),
    ("misspelled-key", lambda t: t.replace("time_unit =", "timeunit ="),
     r"unknown key data\.'timeunit'"),
    ("missing-cohort", lambda t: re.sub(r'cohort = ".*"\n', "", t), r"'data\.cohort'"),
    ("cohort-file-missing", lambda t: re.sub(r'cohort = ".*"', 'cohort = "nope.csv"', t),
     r"'data\.cohort': expected an existing file"),
    ("id-not-file-name", lambda t: t.replace('id = "cao2025"', 'id = "other"'),
     r"'analysis\.id': expected the file name 'cao2025'"),
    ("unit-unknown", lambda t: t.replace('time_unit = "months"', 'time_unit = "fortnights"'),
     r"'data\.time_unit'"),
    ("arms-equal", lambda t: t.replace('treatment = "CAR-T"', 'treatment = "blinatumomab"'),
     r"'arms\.treatment'"),
    ("reconstructed-not-bool", lambda t: t.replace("reconstructed = true", 'reconstructed = "y"'),
     r"'data\.reconstructed': expected a bool"),
    ("landmarks-negative", lambda t: t.replace("landmarks = [12.0, 24.0]\n\n#",
                                               "landmarks = [-1.0]\n\n#", 1),
     r"'reference\.landmarks'"),
    ("unknown-endpoint", lambda t: t.replace('"os", "pfs", "grfs"', '"os", "efs"'),
     r"'bayes\.endpoints'.*\['efs'\]"),
    ("unknown-family", lambda t: t.replace('"weibull"]', '"gompertz"]'),
     r"'bayes\.families'.*\['gompertz'\]"),
    ("unknown-prior", lambda t: t.replace('"enthusiastic"]', '"optimistic"]'),
     r"'bayes\.priors'.*'optimistic'"),
    ("unknown-prior-strength", lambda t: t.replace('"enthusiastic"]', '"enthusiastic-huge"]'),
     r"'bayes\.priors'"),
    ("rope-reversed", lambda t: t.replace("rope = [0.9, 1.11]", "rope = [1.11, 0.9]"),
     r"'bayes\.rope'"),
    ("seed-text", lambda t: t.replace("seed = 20250401", 'seed = "x"'),
     r"'bayes\.seed': expected a int"),
    ("seed-bool", lambda t: t.replace("seed = 20250401", "seed = true"),
     r"'bayes\.seed'"),
    ("target-accept-too-high", lambda t: t + "target_accept = 1.5\n",
     r"'bayes\.target_accept'"),
    ("draws-zero", lambda t: t + "draws = 0\n", r"'bayes\.draws'"),
    ("empty-families", lambda t: t.replace('families = ["piecewise_exponential", "weibull"]',
                                           "families = []"), r"'bayes\.families'"),
    ("not-toml", lambda t: t + "\n[[[", r"not valid TOML"),
]


@pytest.mark.parametrize("change, pattern", [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_spec_is_rejected_with_a_precise_message(tmp_path, spec_text, change, pattern):
    path = write(tmp_path, change(spec_text))
    with pytest.raises(SpecError, match=pattern) as info:
        load_spec(path)
    assert str(path) in str(info.value)


def test_at_least_fifteen_broken_specs():
    assert len(BROKEN) >= 15


def test_the_seed_spec_is_valid(repo_root):
    spec = load_spec(repo_root / "models" / "cao2025.toml")
    assert spec.arms == ("blinatumomab", "CAR-T")
    assert spec.bayes.priors == ("neutral", "skeptical", "enthusiastic")
    assert len(spec.sha256) == 64
