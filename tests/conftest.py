"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from simulation import simulate_endpoint

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (data/ and models/ live here)."""
    return ROOT


@pytest.fixture(scope="session")
def simulate():
    """:func:`simulate_endpoint`, for tests that need simulated two-arm data."""
    return simulate_endpoint
