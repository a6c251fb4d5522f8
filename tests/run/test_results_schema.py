"""``results.json`` against its shipped JSON Schema (bridgebayes/report/results.schema.json):
the seed run validates, the schema is strict enough to fail on what it forbids, and it
follows the code's schema version and decision columns.  The generic study (Freireich) is
validated in tests/run/test_examples.py beside its run."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from results_schema import load_schema, validate

from bridgebayes.run.results import SCHEMA_VERSION
from bridgebayes.summaries.decision import COLUMNS


@pytest.fixture(scope="module")
def seed_results(seed_run) -> dict:
    return json.loads((seed_run / "report" / "results.json").read_text())


def test_the_seed_run_validates(seed_results):
    validate(seed_results)


def test_the_schema_follows_the_code():
    schema = load_schema()
    assert schema["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    assert tuple(schema["$defs"]["decision"]["required"]) == COLUMNS


@pytest.mark.parametrize("change", [
    "absolute data path", "home path", "unknown key", "old version", "probability 1.2",
    "missing provenance", "extra decision column missing"])
def test_the_schema_refuses_what_it_forbids(seed_results, change):
    bad = copy.deepcopy(seed_results)
    if change == "absolute data path":
        bad["provenance"]["files"]["data"]["path"] = "/home/someone/cohort.csv"
    elif change == "home path":
        bad["provenance"]["ensemble"][0] = "~/ensemble/member_01/cohort.csv"
    elif change == "unknown key":
        bad["scratch"] = 1
    elif change == "old version":
        bad["schema_version"] = 2
    elif change == "probability 1.2":
        bad["primary"]["probability"] = 1.2
    elif change == "missing provenance":
        del bad["provenance"]
    else:
        del bad["decisions"][0]["mcse"]
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
