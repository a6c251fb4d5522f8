"""The report: a view of a run's saved results (``results.json``, ``tables/``).

:func:`write_report` reads an output folder (:func:`~bridgebayes.report.view.load_view`),
draws the figures from its tables (:mod:`bridgebayes.report.figures`), builds the sections
(:mod:`bridgebayes.report.sections`, :mod:`bridgebayes.report.sections_results`) and renders
them through one jinja2 template into a self-contained ``report.html`` (figures embedded as
base64 PNG, inline CSS, no script, no external resource).  Nothing is computed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from bridgebayes.core.io import atomic_write_bytes, atomic_write_text
from bridgebayes.report import sections as main
from bridgebayes.report import sections_adjustment as adjustment
from bridgebayes.report import sections_averaging as averaging
from bridgebayes.report import sections_results as more
from bridgebayes.report.figures import figure_specs, render
from bridgebayes.report.view import ResultsView, load_view

__all__ = ["build_html", "write_report"]


def _sections(view: ResultsView, captions: dict[str, str]) -> list[dict]:
    out = [main.answer(view, captions), main.study(view), main.methods(view),
           *more.endpoints(view, captions)]
    if view.summary.get("decisions"):
        out += [more.hazard_ratios(view, captions), more.checks(view, captions)]
    for optional in (averaging.cure_fractions(view), averaging.model_averaging(view, captions),
                     adjustment.non_randomised(view, captions),
                     more.sensitivity(view), more.competing(view, captions), more.safety(view)):
        if optional is not None:
            out.append(optional)
    out += [more.reference(view), more.provenance(view)]
    return out


def build_html(view: ResultsView, figures: dict[str, bytes], captions: dict[str, str]) -> str:
    """The page of a results view with its rendered figures."""
    import jinja2

    folder = resources.files("bridgebayes.report") / "templates"
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    template = env.from_string((folder / "report.html.j2").read_text(encoding="utf-8"))
    s = view.summary
    return template.render(
        title=s["study"]["title"], analysis_id=s["provenance"]["spec"]["id"],
        reference=view.arms[0], treatment=view.arms[1],
        css=(folder / "report.css").read_text(encoding="utf-8"),
        sections=_sections(view, captions), version=s["provenance"]["versions"]["bridgebayes"],
        figures={k: base64.b64encode(v).decode("ascii") for k, v in figures.items()})


def write_report(folder: str | Path, *,
                 figure_cache: Callable[[dict, Callable[[], bytes]], bytes] | None = None
                 ) -> Path:
    """Render ``figures/*.png`` and ``report.html`` into an output folder from its saved
    results; ``figure_cache(key, make)`` may serve unchanged figures.  Returns the page."""
    folder = Path(folder)
    view = load_view(folder)
    specs = figure_specs(view)
    figures = render(specs, cache=figure_cache)
    for name, png in figures.items():
        atomic_write_bytes(folder / "figures" / f"{name}.png", png)
    html = build_html(view, figures, {s.name: s.caption for s in specs})
    return atomic_write_text(folder / "report.html", html)
