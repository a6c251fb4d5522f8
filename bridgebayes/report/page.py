"""One page through the one template (``templates/report.html.j2`` + ``report.css``): the
report and the planning page are both rendered here."""

from __future__ import annotations

import base64
from importlib import resources

__all__ = ["render_page"]


def render_page(*, title: str, subtitle: str, sections: list[dict], figures: dict[str, bytes],
                footer: str) -> str:
    """One self-contained page through the one template: ``sections`` (the one anchored
    ``answer`` is the first screen) with their figures embedded."""
    import jinja2

    folder = resources.files("bridgebayes.report") / "templates"
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    template = env.from_string((folder / "report.html.j2").read_text(encoding="utf-8"))
    return template.render(
        title=title, subtitle=subtitle, css=(folder / "report.css").read_text(encoding="utf-8"),
        sections=sections, footer=footer,
        figures={k: base64.b64encode(v).decode("ascii") for k, v in figures.items()})
