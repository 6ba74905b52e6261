"""Staff routes: programmes, campaigns, reporting and standing units, activities, 附件2/3 reports."""

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.auth.dependencies import StaffDep
from api.deps import SessionDep, require_json
from api.programmes import campaigns, documents, reports, repository, units
from api.programmes.periods import china_today
from api.programmes.schemas import (
    ActivityCreate,
    ActivityOut,
    CampaignCreate,
    CampaignOut,
    Dashboard,
    DueItem,
    OverrideCreate,
    OverrideOut,
    ProgrammeCreate,
    ProgrammeOut,
    ProgrammeSummary,
    Report,
    ReportingUnitCreate,
    ReportingUnitOut,
    ReportKey,
    ShortcomingIn,
    StandingUnitCreate,
    StandingUnitFromPairing,
    StandingUnitOut,
    StandingUnitPatch,
    TagCreate,
    TagOut,
)
from api.validation import Day, ParameterText, PathId

router = APIRouter(tags=["programmes"])
JSON_BODY = [Depends(require_json)]
CodeKey = Annotated[
    ParameterText, Path(max_length=100, title="代码", description="行动（项目）或征集活动的代码")
]

# Programmes -----------------------------------------------------------------------------------


@router.get("/programmes", response_model=list[ProgrammeOut])
def list_programmes(session: SessionDep, _staff: StaffDep) -> list[ProgrammeOut]:
    """List the programmes (创新争先行动, 金桥工程 …)."""
    return [ProgrammeOut.model_validate(item) for item in campaigns.list_programmes(session)]


@router.post("/programmes", status_code=status.HTTP_201_CREATED, dependencies=JSON_BODY)
def create_programme(payload: ProgrammeCreate, session: SessionDep, _staff: StaffDep) -> ProgrammeOut:
    """Add a programme."""
    return ProgrammeOut.model_validate(campaigns.create_programme(session, payload=payload))


@router.get("/programmes/{key}/summary")
def programme_summary(key: CodeKey, session: SessionDep, _staff: StaffDep) -> ProgrammeSummary:
    """Count what was done under a programme: campaigns, demands, rounds, pairings, units, activities."""
    return campaigns.summary(session, programme_key=key)


@router.post("/programmes/{key}/tags", status_code=status.HTTP_201_CREATED, dependencies=JSON_BODY)
def tag(key: CodeKey, payload: TagCreate, session: SessionDep, staff: StaffDep) -> TagOut:
    """Tag a matching round or a pairing with a programme."""
    created = campaigns.tag(
        session, programme_key=key, target=payload.target, target_id=payload.target_id, staff=staff
    )
    return TagOut.model_validate(created)


# Campaigns ------------------------------------------------------------------------------------


@router.get("/campaigns", response_model=list[CampaignOut])
def list_campaigns(session: SessionDep, _staff: StaffDep) -> list[CampaignOut]:
    """List campaigns, newest first."""
    return [CampaignOut.model_validate(item) for item in campaigns.list_campaigns(session)]


@router.post("/campaigns", status_code=status.HTTP_201_CREATED, dependencies=JSON_BODY)
def launch_campaign(payload: CampaignCreate, session: SessionDep, staff: StaffDep) -> CampaignOut:
    """Launch a demand collection campaign under a programme."""
    return CampaignOut.model_validate(campaigns.launch(session, payload=payload, staff=staff))


@router.get("/campaigns/{key}")
def read_campaign(key: CodeKey, session: SessionDep, _staff: StaffDep) -> CampaignOut:
    """Read a campaign by id or code."""
    return CampaignOut.model_validate(campaigns.get(session, key))


@router.get("/campaigns/{key}/dashboard")
def campaign_dashboard(key: CodeKey, session: SessionDep, _staff: StaffDep) -> Dashboard:
    """Received demands by county, by society and by day; late ones; days left."""
    return campaigns.dashboard(session, key=key)


@router.post("/campaigns/{key}/close")
def close_campaign(key: CodeKey, session: SessionDep, staff: StaffDep) -> CampaignOut:
    """Close a campaign: later submissions need a recorded override."""
    return CampaignOut.model_validate(campaigns.close(session, key=key, staff=staff))


@router.post("/campaigns/{key}/overrides", status_code=status.HTTP_201_CREATED, dependencies=JSON_BODY)
def grant_override(
    key: CodeKey, payload: OverrideCreate, session: SessionDep, staff: StaffDep
) -> OverrideOut:
    """Record that an enterprise may still submit after the deadline (补报), and why."""
    return OverrideOut.model_validate(
        campaigns.grant_override(session, key=key, payload=payload, staff=staff)
    )


# Reporting units, standing units and activities -----------------------------------------------


@router.get("/reporting-units", response_model=list[ReportingUnitOut])
def list_reporting_units(session: SessionDep, _staff: StaffDep) -> list[ReportingUnitOut]:
    """List the societies and county 科协 that file 附件2/3."""
    return [ReportingUnitOut.model_validate(item) for item in units.list_reporting_units(session)]


@router.post("/reporting-units", status_code=status.HTTP_201_CREATED, dependencies=JSON_BODY)
def create_reporting_unit(
    payload: ReportingUnitCreate, session: SessionDep, _staff: StaffDep
) -> ReportingUnitOut:
    """Register a society or a county 科协 as a reporting unit."""
    return ReportingUnitOut.model_validate(units.create_reporting_unit(session, payload=payload))


@router.get("/standing-units", response_model=list[StandingUnitOut])
def list_standing_units(session: SessionDep, _staff: StaffDep) -> list[StandingUnitOut]:
    """List standing units, newest first."""
    return [StandingUnitOut.model_validate(item) for item in repository.standing_units(session)]


@router.post("/standing-units", status_code=status.HTTP_201_CREATED, dependencies=JSON_BODY)
def create_standing_unit(
    payload: StandingUnitCreate, session: SessionDep, staff: StaffDep
) -> StandingUnitOut:
    """Register a 学会服务站 / 院士专家工作站 / 会企创新联盟 directly."""
    return StandingUnitOut.model_validate(units.create_unit(session, payload=payload, staff=staff))


@router.post("/standing-units/from-pairing", status_code=status.HTTP_201_CREATED, dependencies=JSON_BODY)
def create_standing_unit_from_pairing(
    payload: StandingUnitFromPairing, session: SessionDep, staff: StaffDep
) -> StandingUnitOut:
    """Register a standing unit from an accepted pairing (provider and enterprise come from it)."""
    return StandingUnitOut.model_validate(
        units.create_unit_from_pairing(session, payload=payload, staff=staff)
    )


@router.get("/standing-units/{unit_id}")
def read_standing_unit(unit_id: PathId, session: SessionDep, _staff: StaffDep) -> StandingUnitOut:
    """Read a standing unit."""
    return StandingUnitOut.model_validate(units.get_unit(session, unit_id))


@router.patch("/standing-units/{unit_id}", dependencies=JSON_BODY)
def update_standing_unit(
    unit_id: PathId, patch: StandingUnitPatch, session: SessionDep, staff: StaffDep
) -> StandingUnitOut:
    """Change a standing unit's status, notes or provider lock."""
    return StandingUnitOut.model_validate(
        units.update_unit(session, unit_id=unit_id, patch=patch, staff=staff)
    )


@router.get("/standing-units/{unit_id}/activities", response_model=list[ActivityOut])
def list_unit_activities(unit_id: PathId, session: SessionDep, _staff: StaffDep) -> list[ActivityOut]:
    """A standing unit's activity log, newest first."""
    return [ActivityOut.model_validate(item) for item in units.activities_of_unit(session, unit_id)]


@router.post(
    "/standing-units/{unit_id}/activities", status_code=status.HTTP_201_CREATED, dependencies=JSON_BODY
)
def log_unit_activity(
    unit_id: PathId, payload: ActivityCreate, session: SessionDep, staff: StaffDep
) -> ActivityOut:
    """Log a visit, training, project or agreement of a standing unit."""
    activity = units.log_activity(session, payload=payload, standing_unit_id=unit_id, staff=staff)
    return ActivityOut.model_validate(activity)


@router.post("/activities", status_code=status.HTTP_201_CREATED, dependencies=JSON_BODY)
def log_activity(payload: ActivityCreate, session: SessionDep, staff: StaffDep) -> ActivityOut:
    """Log an activity of a reporting unit outside any standing unit."""
    activity = units.log_activity(session, payload=payload, standing_unit_id=None, staff=staff)
    return ActivityOut.model_validate(activity)


# Reports --------------------------------------------------------------------------------------

Format = Literal["json", "xlsx", "docx"]


@router.get("/reports/quarterly", response_model=Report)
def quarterly_report(
    session: SessionDep,
    _staff: StaffDep,
    unit: Annotated[int, Query(ge=1, description="填报单位编号")],
    period: Annotated[str, Query(description="报告期：季度如 2026Q3，年度如 2026")],
    table: Annotated[int, Query(ge=2, le=3, description="2：附件2；3：附件3")],
    format: Annotated[Format, Query(description="json、xlsx 或 docx")] = "json",
) -> Response | Report:
    """附件2 or 附件3 of a unit for a quarter or a year, as JSON, XLSX or Word."""
    report = reports.build(session, key=ReportKey(unit=unit, period=period, table=2 if table == 2 else 3))
    if format == "json":
        return report
    render, media_type = (
        (documents.to_xlsx, documents.XLSX_MEDIA_TYPE)
        if format == "xlsx"
        else (documents.to_docx, documents.DOCX_MEDIA_TYPE)
    )
    disposition = f"attachment; filename*=UTF-8''{quote(documents.file_name(report, format))}"
    return Response(render(report), media_type=media_type, headers={"Content-Disposition": disposition})


@router.put("/reports/quarterly/shortcomings", dependencies=JSON_BODY)
def enter_shortcoming(payload: ShortcomingIn, session: SessionDep, _staff: StaffDep) -> Report:
    """Enter 存在不足 for one row of a report, or for the whole report."""
    key = ReportKey(unit=payload.unit, period=payload.period, table=payload.table)
    return reports.set_shortcoming(session, key=key, row=payload.row, text=payload.text)


@router.post("/reports/quarterly/filings", dependencies=JSON_BODY)
def file_report(payload: ReportKey, session: SessionDep, staff: StaffDep) -> Report:
    """Record a report as filed; its rows are kept as they stand."""
    return reports.file_report(session, key=payload, staff=staff)


@router.get("/reports/due", response_model=list[DueItem])
def reports_due(
    session: SessionDep,
    _staff: StaffDep,
    on: Annotated[Day | None, Query(title="日期", description="按哪一天计算，默认今天")] = None,
) -> list[DueItem]:
    """What falls due when (3/6/9月18日, 12月18日) and which units have not filed."""
    return reports.due(session, on=on or china_today())
