"""Jinja2 environment of the staff pages, their filters and the one render helper."""

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from api.db.models import DemandStatus
from api.demands.service import STATUS_LABELS
from api.reference import discipline_codes, industry_codes, region_codes

TEMPLATES_DIR = Path(__file__).parent / "templates"
NOTICE_COOKIE = "huiqi_notice"
# Staff read times in Beijing time, whatever the server's zone.
CHINA_TIME = timezone(timedelta(hours=8), "CST")

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp as Beijing time."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(CHINA_TIME).strftime(fmt)


def status_label(status: DemandStatus | str | None) -> str:
    """The Chinese name of a demand status."""
    if status is None:
        return ""
    return STATUS_LABELS.get(DemandStatus(status), str(status))


def highlight(text: str | None, terms: Iterable[str], sentences: Mapping[str, str] | None = None) -> Markup:
    """``text`` escaped, every occurrence of ``terms`` wrapped in <mark> (longest terms first), and every
    occurrence of a key of ``sentences`` in <mark class="sentence" title="its value"> around those."""
    raw, notes = text or "", sentences or {}
    phrase_of = _phrase_spans(raw, notes)
    in_term = [0] * len(raw)  # the number of the term occurrence a character is in, 0 for none
    wanted = sorted({term for term in terms if term and term.strip()}, key=len, reverse=True)
    if wanted and raw:
        pattern = re.compile("|".join(re.escape(term) for term in wanted), re.IGNORECASE)
        for number, found in enumerate(pattern.finditer(raw), start=1):
            in_term[found.start() : found.end()] = [number] * (found.end() - found.start())
    out: list[str] = []
    start, current = 0, None
    for end in range(1, len(raw) + 1):
        if end < len(raw) and (phrase_of[end], in_term[end]) == (phrase_of[start], in_term[start]):
            continue
        if phrase_of[start] != current:
            out.append("</mark>" if current is not None else "")
            current = phrase_of[start]
            if current is not None:
                out.append(f'<mark class="sentence" title="{escape(notes[current])}">')
        part = str(escape(raw[start:end]))
        out.append(f"<mark>{part}</mark>" if in_term[start] else part)
        start = end
    out.append("</mark>" if current is not None else "")
    return Markup("".join(out))  # every run escaped above: safe to mark


def _phrase_spans(text: str, sentences: Mapping[str, str]) -> list[str | None]:
    """For each character of ``text``, the sentence (a key of ``sentences``) it lies in, or None;
    longer sentences first, no overlaps."""
    phrase_of: list[str | None] = [None] * len(text)
    for sentence in sorted((s for s in sentences if s), key=len, reverse=True):
        at = text.find(sentence)
        while at >= 0:
            if all(p is None for p in phrase_of[at : at + len(sentence)]):
                phrase_of[at : at + len(sentence)] = [sentence] * len(sentence)
            at = text.find(sentence, at + len(sentence))
    return phrase_of


def code_name(code: str | None, kind: str) -> str:
    """The name of an industry, discipline or region code (the code itself when unknown)."""
    if not code:
        return ""
    tables = {
        "industry_code": industry_codes,
        "discipline_code": discipline_codes,
        "region_code": region_codes,
    }
    found = tables[kind]().get(code) if kind in tables else None
    return found or code


def industry_name(code: str | None) -> str:
    """The name of a GB/T 4754 industry code, for lists."""
    return code_name(code, "industry_code")


def plain_number(value: float | int) -> str:
    """A count as is, any other number to two decimals (staff read 648.75, not 648.748443)."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return f"{value:.2f}"
    return f"{int(value)}"


def page_url(request: Request, at: str | None = None, **changes: Any) -> str:
    """The current URL (or the page ``at`` with its query) with some query parameters replaced (None
    removes one)."""
    params = [(key, value) for key, value in request.query_params.multi_items() if key not in changes]
    params += [(key, str(value)) for key, value in changes.items() if value is not None]
    path = at or request.url.path
    return f"{path}?{urlencode(params)}" if params else path


templates.env.filters.update(
    local_time=local_time,
    status_label=status_label,
    highlight=highlight,
    plain_number=plain_number,
    code_name=code_name,
    industry_name=industry_name,
)
templates.env.globals.update(page_url=page_url, status_labels=STATUS_LABELS)


def render(
    request: Request, name: str, context: Mapping[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the signed-in staff member, the CSRF token and any pending notice."""
    web_session = getattr(request.state, "web_session", None)
    full = {
        "staff": web_session.staff if web_session else None,
        "csrf_token": web_session.csrf_token if web_session else "",
        "notice": unquote(request.cookies.get(NOTICE_COOKIE, "")),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    if NOTICE_COOKIE in request.cookies:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def redirect(url: str, notice: str | None = None) -> Response:
    """See-other redirect after a form, carrying a one-time notice shown by the next page."""
    response = RedirectResponse(url, status_code=303)
    if notice:
        response.set_cookie(NOTICE_COOKIE, quote(notice), max_age=60, httponly=True, samesite="lax", path="/")
    return response
