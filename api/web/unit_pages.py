"""Staff pages of standing units (学会服务站, 院士专家工作站, 会企创新联盟): the list, registration from an
accepted pairing, and a unit's page with its activity log and the form to add an activity."""

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.db.models import Demand
from api.deps import SessionDep
from api.errors import HuiqiError, model_labels
from api.matching.models import Pairing
from api.matching.review import get_pairing
from api.programmes import campaigns, repository, units
from api.programmes.models import ActivityKind, UnitKind, UnitLevel
from api.programmes.periods import china_today
from api.programmes.schemas import ActivityCreate, StandingUnitFromPairing
from api.providers.models import ProviderLevel
from api.web.deps import FormDep, WebStaffDep
from api.web.programme_forms import LABELS, field_errors, filled, texts
from api.web.routing import WebRoute
from api.web.templating import redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# Said when a unit is registered without a reporting unit: its activities then reach no report.
NO_REPORTER = (
    "注意：未指定填报单位（依托学会和企业所在县科协都还不是填报单位），本单位的活动不会计入季度报告；"
    "请先在“季度报告”中登记填报单位，或记录活动时逐条选择填报单位。"
)
UNIT_FIELDS = ("kind", "level", "established_on", "name", "programme", "reporting_unit_id", "notes")
ACTIVITY_FIELDS = (
    "kind",
    "title",
    "content",
    "outcomes",
    "publicity",
    "occurred_on",
    "enterprises",
    "participants",
    "experts",
    "amount_wan",
    "report_table",
    "reporting_unit_id",
)


@router.get("/standing-units")
def unit_list(request: Request, session: SessionDep, _staff: WebStaffDep) -> Response:
    """Every standing unit, newest first."""
    context = {"items": repository.standing_units(session), **LABELS}
    return render(request, "programmes/units.html", context)


# --- registration from a pairing ------------------------------------------------------------------


@router.get("/standing-units/new")
def new_unit(request: Request, session: SessionDep, _staff: WebStaffDep, pairing: str = "") -> Response:
    """The form registering a standing unit from a pairing both sides took up."""
    found = get_pairing(session, _pairing_id(pairing))
    return _new_page(request, session, found, _unit_defaults(found), {})


def _unit_defaults(pairing: Pairing) -> dict[str, str]:
    expert = pairing.provider_level == ProviderLevel.EXPERT
    kind = UnitKind.EXPERT_WORKSTATION if expert else UnitKind.SOCIETY_STATION
    return {
        "kind": kind.value,
        "level": UnitLevel.PROVINCIAL.value,
        "established_on": china_today().isoformat(),
    }


def _new_page(
    request: Request,
    session: Session,
    pairing: Pairing,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context = {
        "pairing": pairing,
        "demand": session.get(Demand, pairing.demand_id),
        "taken_up": pairing.status in units.TAKEN_UP,
        "default_reporter": units.default_reporter_of_pairing(session, pairing),
        "programmes": campaigns.list_programmes(session),
        "reporting_units": units.list_reporting_units(session),
        "values": values,
        "errors": errors,
        **LABELS,
    }
    return render(request, "programmes/unit_new.html", context, status_code=status)


@router.post("/standing-units/from-pairing")
def register_from_pairing(
    request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep
) -> Response:
    """Register the unit; a refused form comes back with the message next to each field."""
    pairing = get_pairing(session, _pairing_id(form.get("pairing_id")))
    values: dict[str, Any] = texts(form, UNIT_FIELDS) | {"lock_provider": form.get("lock_provider") == "on"}
    try:
        with session.begin_nested():
            data = filled(texts(form, UNIT_FIELDS)) | {"pairing_id": pairing.id}
            payload = StandingUnitFromPairing.model_validate(
                data | {"lock_provider": values["lock_provider"]}
            )
            unit = units.create_unit_from_pairing(session, payload=payload, staff=staff)
    except (ValidationError, HuiqiError) as error:
        code = error.status_code if isinstance(error, HuiqiError) else 422
        return _new_page(
            request,
            session,
            pairing,
            values,
            field_errors(error, labels=model_labels(StandingUnitFromPairing)),
            code,
        )
    notice = f"已登记“{unit.name}”。"
    if unit.reporting_unit is None:
        notice += NO_REPORTER
    return redirect(f"/standing-units/{unit.id}", notice)


def _pairing_id(value: object) -> int:
    # A missing or malformed id is a pairing that does not exist: 404, like any other unknown id.
    text = str(value or "").strip()
    return int(text) if text.isdigit() else 0


# --- a unit and its activities --------------------------------------------------------------------


@router.get("/standing-units/{unit_id:int}")
def unit_page(request: Request, session: SessionDep, _staff: WebStaffDep, unit_id: int) -> Response:
    """A standing unit: its particulars, its activity log and the form to add an activity."""
    defaults = {"occurred_on": china_today().isoformat(), "kind": ActivityKind.VISIT.value}
    return _unit_page(request, session, unit_id, defaults, {})


def _unit_page(
    request: Request,
    session: Session,
    unit_id: int,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context = {
        "unit": units.get_unit(session, unit_id),
        "activities": units.activities_of_unit(session, unit_id),
        "reporting_units": units.list_reporting_units(session),
        "table_of_kind": {kind.value: table for kind, table in units.TABLE_OF_KIND.items()},
        "values": values,
        "errors": errors,
        **LABELS,
    }
    return render(request, "programmes/unit.html", context, status_code=status)


@router.post("/standing-units/{unit_id:int}/activities")
def add_activity(
    request: Request, session: SessionDep, staff: WebStaffDep, form: FormDep, unit_id: int
) -> Response:
    """Log a visit, training, project or agreement of the unit; it feeds the 附件2/3 reports."""
    values = texts(form, ACTIVITY_FIELDS)
    try:
        with session.begin_nested():
            payload = ActivityCreate.model_validate(filled(values))
            activity = units.log_activity(session, payload=payload, standing_unit_id=unit_id, staff=staff)
    except (ValidationError, HuiqiError) as error:
        code = error.status_code if isinstance(error, HuiqiError) else 422
        return _unit_page(
            request, session, unit_id, values, field_errors(error, labels=model_labels(ActivityCreate)), code
        )
    notice = f"已记录活动“{activity.title}”，计入附件{activity.report_table}。"
    return redirect(f"/standing-units/{unit_id}#activity-{activity.id}", notice)
