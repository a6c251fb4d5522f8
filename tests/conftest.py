"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from simulation import simulate_endpoint

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config) -> None:
    """Import ArviZ once in the controlling process, before any xdist worker starts.

    ArviZ 0.23 writes a once-a-day stamp at import through one fixed temporary name
    (``daily_warning.tmp``); two workers importing it together on the first run of a day race
    on that name and one dies at collection with ``FileNotFoundError``.  Imported here first,
    the stamp is today's and the workers only read it."""
    if not hasattr(config, "workerinput"):
        import arviz  # noqa: F401


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (data/ and models/ live here)."""
    return ROOT


@pytest.fixture(scope="session")
def simulate():
    """:func:`simulate_endpoint`, for tests that need simulated two-arm data."""
    return simulate_endpoint


@pytest.fixture(scope="session")
def seed_run(tmp_path_factory) -> Path:
    """The session's one run of the small seed spec (``specs.seed_run``): ``models/``,
    ``data/`` and the output ``report/`` with its store.  Read-only: copy it
    (``specs.copy_seed_run``) before changing anything."""
    from specs import seed_run as run_once

    return run_once(tmp_path_factory)
