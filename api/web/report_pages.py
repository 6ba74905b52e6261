"""Staff pages of reports: the charts and funnel of a round or a period, and the downloads (signed-in
staff, by the session cookie, so the browser needs no API token)."""

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.errors import FieldError, HuiqiError, NotFoundError, RequestInvalidError
from api.matching.models import MatchRound, RoundStatus
from api.programmes.periods import china_today
from api.reports import html, service, workbooks
from api.reports.router import download, xlsx
from api.validation import read_day
from api.web.deps import WebStaffDep
from api.web.routing import WebRoute
from api.web.templating import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
ROUNDS_OFFERED: Final = 50


@dataclass(frozen=True, slots=True)
class Choice:
    """What the page reports on: a round, or a period (with errors of its fields)."""

    round_id: int | None
    first: date | None
    last: date | None
    errors: dict[str, str]

    @property
    def query(self) -> str:
        """The query string that selects the same report for a download link."""
        if self.round_id is not None:
            return f"round={self.round_id}"
        return f"from={self.first}&to={self.last}"


def _date(value: str | None, field: str, errors: dict[str, str]) -> date | None:
    try:
        return read_day(value, "开始日期" if field == "from" else "结束日期") if value else None
    except ValueError as error:
        errors[field] = str(error)
        return None


def _choice(session: Session, params: dict[str, str]) -> Choice:
    errors: dict[str, str] = {}
    if params.get("round", "").isdigit():
        return Choice(int(params["round"]), None, None, errors)
    first, last = _date(params.get("from"), "from", errors), _date(params.get("to"), "to", errors)
    if first or last or errors:
        today = china_today()
        return Choice(None, first or today.replace(day=1), last or today, errors)
    latest = session.scalar(
        select(MatchRound.id).where(MatchRound.status == RoundStatus.SUCCEEDED).order_by(MatchRound.id.desc())
    )
    today = china_today()
    return Choice(
        latest, None if latest else today.replace(month=1, day=1), None if latest else today, errors
    )


def _report(session: Session, choice: Choice) -> service.Report:
    if choice.round_id is not None:
        return service.round_report(session, choice.round_id)
    assert choice.first is not None
    assert choice.last is not None
    return service.period_report(session, choice.first, choice.last)


@router.get("/reports")
def reports_page(request: Request, session: SessionDep, _staff: WebStaffDep) -> Response:
    """A round's or a period's report with its charts, and the buttons to download it."""
    choice = _choice(session, dict(request.query_params))
    errors = dict(choice.errors)
    report = None
    if not errors:
        try:
            report = _report(session, choice)
        except HuiqiError as error:
            if isinstance(error, NotFoundError):
                errors["round"] = error.detail
            else:
                errors.update({e.field: e.message for e in error.errors} or {"to": error.detail})
    rounds = session.scalars(
        select(MatchRound)
        .where(MatchRound.status == RoundStatus.SUCCEEDED)
        .order_by(MatchRound.id.desc())
        .limit(ROUNDS_OFFERED)
    ).all()
    context: dict[str, Any] = {
        "choice": choice,
        "rounds": rounds,
        "errors": errors,
        "report_html": html.fragment(report) if report else None,
    }
    return render(request, "reports/index.html", context, status_code=422 if errors else 200)


@router.get("/reports/round/{round_id:int}.html")
def round_report_html(session: SessionDep, _staff: WebStaffDep, round_id: int) -> Response:
    """A round's report as a standalone HTML file."""
    report = service.round_report(session, round_id)
    content = html.render(report).encode("utf-8")
    return _file(content, "text/html; charset=utf-8", f"round-{round_id}-report.html", report, "html")


@router.get("/reports/round/{round_id:int}.xlsx")
def round_report_xlsx(session: SessionDep, _staff: WebStaffDep, round_id: int) -> Response:
    """A round's report as XLSX with its charts."""
    report = service.round_report(session, round_id)
    return xlsx(workbooks.report_workbook(report), f"round-{round_id}-report.xlsx", _name(report, "xlsx"))


@router.get("/reports/period.html")
def period_report_html(request: Request, session: SessionDep, _staff: WebStaffDep) -> Response:
    """A period's report as a standalone HTML file."""
    report = _period(session, request)
    content = html.render(report).encode("utf-8")
    return _file(content, "text/html; charset=utf-8", "period-report.html", report, "html")


@router.get("/reports/period.xlsx")
def period_report_xlsx(request: Request, session: SessionDep, _staff: WebStaffDep) -> Response:
    """A period's report as XLSX with its charts."""
    report = _period(session, request)
    return xlsx(workbooks.report_workbook(report), "period-report.xlsx", _name(report, "xlsx"))


@router.get("/rounds/{round_id:int}/export.xlsx")
def round_pairings_xlsx(session: SessionDep, _staff: WebStaffDep, round_id: int) -> Response:
    """A round's pairings as XLSX, a sheet per society."""
    content = workbooks.pairings_workbook(session, round_id)
    return xlsx(content, f"round-{round_id}-pairings.xlsx", f"第{round_id}轮配对.xlsx")


def _period(session: Session, request: Request) -> service.Report:
    errors: dict[str, str] = {}
    params = request.query_params
    first, last = _date(params.get("from"), "from", errors), _date(params.get("to"), "to", errors)
    for field, value in (("from", first), ("to", last)):
        if value is None:
            errors.setdefault(field, "请填写日期（年-月-日）")
    if errors or first is None or last is None:
        raise RequestInvalidError(
            errors=[FieldError(name, "date_invalid", text) for name, text in errors.items()]
        )
    return service.period_report(session, first, last)


def _name(report: service.Report, extension: str) -> str:
    return f"{service.file_stem(report)}.{extension}"


def _file(
    content: bytes, media_type: str, ascii_name: str, report: service.Report, extension: str
) -> Response:
    return download(content, media_type, ascii_name, _name(report, extension))
