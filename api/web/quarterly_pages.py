"""Staff pages of the quarterly and annual reports (附件2/附件3): choose a reporting unit, period and
table, see the rows, enter 存在不足, file the report, download it as XLSX or Word; and the reminders
of what falls due when and which units have not reported."""

from dataclasses import dataclass, field
from datetime import date
from typing import Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.errors import FieldError, HuiqiError, NotFoundError, RequestInvalidError
from api.programmes import documents, reports, units
from api.programmes.periods import Period, china_today, periods_of_year
from api.programmes.schemas import Report, ReportKey, ShortcomingIn
from api.web.deps import FormDep, WebStaffDep
from api.web.programme_forms import LABELS, field_errors, texts
from api.web.routing import WebRoute
from api.web.templating import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE: Final = "/quarterly-reports"
NO_UNITS: Final = "还没有填报单位：学会或县（市、区）科协须先登记为填报单位"
PERIOD_HINT: Final = "报告期应为季度（如 2026Q3）或年度（如 2026）"
KEY_FIELDS: Final = ("unit", "period", "table")
FORMATS: Final = {
    "xlsx": (documents.to_xlsx, documents.XLSX_MEDIA_TYPE),
    "docx": (documents.to_docx, documents.DOCX_MEDIA_TYPE),
}


@dataclass
class Choice:
    """The report asked for, as typed (text) and as understood (key), with what is wrong with it."""

    values: dict[str, str]
    key: ReportKey | None = None
    errors: dict[str, str] = field(default_factory=dict)


def latest_period(today: date) -> Period:
    """The period most recently ended: last quarter, or last year's annual report early in the year."""
    quarter = (today.month - 1) // 3
    return Period(today.year, quarter) if quarter else Period(today.year - 1)


def choose(session: Session, unit: str, period: str, table: str) -> Choice:
    """The report of the query, the first unit and the latest period standing in for blanks."""
    first = next(iter(units.list_reporting_units(session)), None)
    values = {
        "unit": unit.strip() or (str(first.id) if first else ""),
        "period": period.strip().upper() or latest_period(china_today()).code,
        "table": table.strip() or "2",
    }
    if not values["unit"]:
        return Choice(values)  # nobody reports yet: the page says so, the request was not wrong
    try:
        return Choice(values, key=ReportKey.model_validate(_typed(values)))
    except ValidationError as error:
        errors = field_errors(error)
        if "period" in errors:
            errors["period"] = PERIOD_HINT
        return Choice(values, errors=errors)


def _typed(values: dict[str, str]) -> dict[str, object]:
    # The table is a literal 2 or 3: the text "2" must become the number to match it.
    table = values["table"]
    return values | {"table": int(table) if table.isdigit() else table}


def period_options(today: date) -> list[tuple[str, str]]:
    """(code, label) of this year's and last year's reports, newest first."""
    periods = periods_of_year(today.year - 1) + periods_of_year(today.year)
    return [
        (period.code, f"{period.label}（{period.due_on():%m月%d日}前报送）") for period in reversed(periods)
    ]


@router.get(PAGE)
def report_page(
    request: Request,
    session: SessionDep,
    _staff: WebStaffDep,
    unit: str = "",
    period: str = "",
    table: str = "",
) -> Response:
    """The chosen report with its rows, the 存在不足 forms, filing and downloads; the reminders."""
    return _page(request, session, choose(session, unit, period, table), {})


def _page(
    request: Request, session: Session, choice: Choice, row_errors: dict[str, str], status: int = 200
) -> Response:
    report = _report(session, choice)
    today = china_today()
    context = {
        "choice": choice,
        "report": report,
        "query": urlencode(choice.values),
        "row_errors": row_errors,
        "reporting_units": units.list_reporting_units(session),
        "periods": period_options(today),
        "due": reports.due(session, on=today),
        "remind_days": reports.REMIND_AHEAD_DAYS,
        "no_units": NO_UNITS,
        **LABELS,
    }
    code = 422 if choice.errors and status == 200 else status
    return render(request, "programmes/quarterly.html", context, status_code=code)


def _report(session: Session, choice: Choice) -> Report | None:
    if choice.key is None:
        return None
    try:
        return reports.build(session, key=choice.key)
    except RequestInvalidError as error:  # an unknown unit or period: said next to its box
        choice.errors.update(field_errors(error))
        return None


@router.post(f"{PAGE}/shortcomings")
def enter_shortcoming(request: Request, session: SessionDep, _staff: WebStaffDep, form: FormDep) -> Response:
    """Enter 存在不足 for one row, or for the whole report on its 合计 row."""
    values = texts(form, (*KEY_FIELDS, "row", "text"))
    choice = choose(session, values["unit"], values["period"], values["table"])
    try:
        with session.begin_nested():
            entry = ShortcomingIn.model_validate(_typed(values))
            key = ReportKey(unit=entry.unit, period=entry.period, table=entry.table)
            reports.set_shortcoming(session, key=key, row=entry.row, text=entry.text)
    except (ValidationError, HuiqiError) as error:
        code = error.status_code if isinstance(error, HuiqiError) else 422
        message = "；".join(field_errors(error).values())
        return _page(request, session, choice, {values["row"] or "total": message}, code)
    return redirect(f"{PAGE}?{urlencode(choice.values)}#row-{values['row'] or 'total'}", "已保存存在不足。")


@router.post(f"{PAGE}/filings")
def file_report(request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep) -> Response:
    """Record the report as filed: its rows are kept as they stand now."""
    values = texts(form, KEY_FIELDS)
    choice = choose(session, values["unit"], values["period"], values["table"])
    if choice.key is None:
        return _page(request, session, choice, {})
    report = reports.file_report(session, key=choice.key, staff=staff)
    notice = f"{report.unit.name}{report.period_label}附件{report.table}已报送。"
    return redirect(f"{PAGE}?{urlencode(choice.values)}", notice)


@router.get(f"{PAGE}/report.xlsx")
def download_xlsx(
    session: SessionDep, _staff: WebStaffDep, unit: str = "", period: str = "", table: str = ""
) -> Response:
    """The chosen report as an Excel workbook."""
    return _download(session, "xlsx", choose(session, unit, period, table))


@router.get(f"{PAGE}/report.docx")
def download_docx(
    session: SessionDep, _staff: WebStaffDep, unit: str = "", period: str = "", table: str = ""
) -> Response:
    """The chosen report as a Word document laid out like the seed's table."""
    return _download(session, "docx", choose(session, unit, period, table))


def _download(session: Session, fmt: str, choice: Choice) -> Response:
    if choice.key is None and not choice.errors:
        raise NotFoundError(NO_UNITS)
    if choice.key is None:
        raise RequestInvalidError(
            errors=[FieldError(name, "invalid", message) for name, message in choice.errors.items()]
        )
    report = reports.build(session, key=choice.key)
    to_bytes, media_type = FORMATS[fmt]
    disposition = f"attachment; filename*=UTF-8''{quote(documents.file_name(report, fmt))}"
    return Response(to_bytes(report), media_type=media_type, headers={"Content-Disposition": disposition})
