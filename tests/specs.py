"""Small variants of the seed spec for the CLI and report tests (one fast fit)."""

from __future__ import annotations

from pathlib import Path

from bridgebayes.cli import main

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


def small_run(repo_root: Path, base: Path) -> Path:
    """Run the seed spec with a one-fit [bayes] section; the posterior cache under ``base``
    is shared by every caller in the session, so only the first run samples."""
    spec = base / "report_spec" / "models" / "cao2025.toml"
    if not spec.is_file():
        small_seed_spec(repo_root, base / "report_spec")
    out = base / "report_run" / "report"
    assert main(["--quiet", "run", str(spec), "--out", str(out)]) == 0
    return out
