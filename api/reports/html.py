"""The report as HTML: a self-contained document, or the fragment the staff reports page embeds."""

import base64
from functools import cache
from pathlib import Path
from typing import Final

from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from markupsafe import Markup

from api.programmes.periods import CHINA
from api.reports.metrics import GAP_MESSAGES, duration_text
from api.reports.service import CHART_TITLES, GAPS_LISTED, Report

TEMPLATES: Final = Path(__file__).parent / "templates"
LOADS_LISTED: Final = 30


@cache
def _template() -> Template:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
    )
    return environment.get_template("report.html")


def data_uri(png: bytes) -> str:
    """A PNG as a data: URI for an <img> (the pages' policy allows data: images)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render(report: Report, *, standalone: bool = True) -> str:
    """The report as HTML; ``standalone`` makes a whole document, else a fragment for a page."""
    return _template().render(
        report=report,
        standalone=standalone,
        images={name: data_uri(png) for name, png in report.charts.items()},
        chart_titles=CHART_TITLES,
        gap_messages=GAP_MESSAGES,
        generated=report.generated_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
        full_count=sum(1 for row in report.loads if row.capacity and row.load >= row.capacity),
        loads_listed=LOADS_LISTED,
        duration_text=duration_text,
        gaps_listed=GAPS_LISTED,
    )


def fragment(report: Report) -> Markup:
    """The report's sections for embedding in a staff page (already escaped)."""
    return Markup(render(report, standalone=False))  # the template autoescapes every value
