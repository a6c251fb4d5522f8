"""The shipped JSON Schema of ``results.json`` and validation against it (shared by the run
tests of the seed study and of the worked examples)."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema


def load_schema() -> dict:
    """``bridgebayes/report/results.schema.json`` as installed with the package."""
    text = (resources.files("bridgebayes.report") / "results.schema.json").read_text("utf-8")
    return json.loads(text)


def validate(results: dict) -> None:
    """Raise :class:`jsonschema.ValidationError` unless ``results`` follows the schema."""
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(results)
