"""Small variants of the seed spec for the CLI and report tests (one fast fit)."""

from __future__ import annotations

from pathlib import Path

#: One GRFS Weibull fit under the skeptical prior, small enough for the default suite.
SMALL_BAYES = """
[bayes]
endpoints = ["grfs"]
families = ["weibull"]
priors = ["skeptical"]
seed = 3
chains = 2
draws = 500
tune = 500
"""


def small_seed_spec(repo_root: Path, folder: Path, tail: str = "") -> Path:
    """``folder/models/cao2025.toml``: the seed spec up to its ``[bayes]`` section, then
    :data:`SMALL_BAYES` and ``tail``; data paths point at the repository's ``data/``."""
    text = (repo_root / "models" / "cao2025.toml").read_text()
    text = text[:text.index("\n[bayes]") + 1] + SMALL_BAYES + tail
    spec = folder / "models" / "cao2025.toml"
    spec.parent.mkdir(parents=True)
    spec.write_text(text.replace("../data/cao2025/", f"{repo_root / 'data' / 'cao2025'}/"))
    return spec
