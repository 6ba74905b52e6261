"""Imports tagged with a campaign follow its rules; the dedup key is shared with single intake."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Demand, DemandEvent
from api.demands.schemas import DemandCreate
from api.demands.service import submit
from api.imports.limits import ImportLimits
from api.imports.readers import read_upload
from api.imports.report import ImportMode, ImportReport
from api.imports.service import import_files
from api.programmes.campaigns import seed_programmes
from api.programmes.models import Campaign, CampaignOverride, CampaignStatus, Programme
from api.programmes.periods import china_today
from api.providers.models import Society, SocietyLevel
from tests.api.demand_files import FORM_HEADERS, csv_bytes, form_row, xlsx_bytes
from tests.api.factories import demand_payload

pytestmark = pytest.mark.db

ORG = "福建省测试企业{}有限公司"


def add_campaign(db: sessionmaker[Session], *, closes_in_days: int, opens_in_days: int = -10) -> int:
    """A campaign of the first seed programme; negative days are in the past."""
    today = china_today()
    with db.begin() as session:
        seed_programmes(session)
        programme_id = session.scalars(select(Programme.id).order_by(Programme.id)).first()
        assert programme_id is not None
        campaign = Campaign(
            code=f"c{closes_in_days}{opens_in_days}",
            name="2026年龙岩市企事业单位技术需求征集",
            programme_id=programme_id,
            organiser="龙岩市科学技术协会",
            opens_on=today + timedelta(days=opens_in_days),
            closes_on=today + timedelta(days=closes_in_days),
            status=CampaignStatus.OPEN if closes_in_days >= 0 else CampaignStatus.CLOSED,
        )
        session.add(campaign)
        session.flush()
        return campaign.id


def add_override(db: sessionmaker[Session], campaign_id: int, org_name: str) -> int:
    with db.begin() as session:
        override = CampaignOverride(
            campaign_id=campaign_id,
            org_name=org_name,
            reason="县科协汇总表寄送延误",
            valid_until=china_today() + timedelta(days=3),
            staff_name="陈老师",
        )
        session.add(override)
        session.flush()
        return override.id


def run_import(
    db: sessionmaker[Session], files: dict[str, bytes], mode: ImportMode, campaign_id: int | None = None
) -> ImportReport:
    parsed = [p for name, data in files.items() for p in read_upload(name, data, ImportLimits())]
    with db.begin() as session:
        return import_files(session, parsed, mode=mode, limits=ImportLimits(), campaign_id=campaign_id)


def county_sheet(count: int) -> dict[str, bytes]:
    return {"county.xlsx": xlsx_bytes(FORM_HEADERS, [form_row(i) for i in range(count)])}


def stored(db: sessionmaker[Session]) -> list[tuple[str, int | None]]:
    with db() as session:
        return [(d.org_name, d.campaign_id) for d in session.scalars(select(Demand).order_by(Demand.id))]


def test_an_import_tagged_with_an_open_campaign_tags_every_row(db: sessionmaker[Session]) -> None:
    campaign_id = add_campaign(db, closes_in_days=5)
    report = run_import(db, county_sheet(3), ImportMode.STRICT, campaign_id)
    assert (report.created, report.errors) == (3, [])
    assert stored(db) == [(ORG.format(i), campaign_id) for i in range(3)]


def test_a_closed_campaign_takes_only_rows_with_a_staff_override(db: sessionmaker[Session]) -> None:
    campaign_id = add_campaign(db, closes_in_days=-1)
    override_id = add_override(db, campaign_id, ORG.format(1))

    strict = run_import(db, county_sheet(3), ImportMode.STRICT, campaign_id)
    assert {(e.row, e.field, e.code) for e in strict.errors} == {
        (2, "campaign_id", "campaign_closed"),
        (4, "campaign_id", "campaign_closed"),
    }
    assert "截止征集" in strict.errors[0].message
    assert stored(db) == []

    kept = run_import(db, county_sheet(3), ImportMode.KEEP_VALID, campaign_id)
    assert kept.created == 1
    assert stored(db) == [(ORG.format(1), campaign_id)]
    with db() as session:
        override = session.get(CampaignOverride, override_id)
        assert override is not None
        assert (override.demand_id, override.used_at is not None) == (kept.created_ids[0], True)
        kinds = session.scalars(select(DemandEvent.kind).order_by(DemandEvent.id)).all()
        assert kinds == ["imported", "late_admitted"]


def test_a_campaign_not_yet_open_refuses_its_rows(db: sessionmaker[Session]) -> None:
    campaign_id = add_campaign(db, closes_in_days=30, opens_in_days=2)
    report = run_import(db, county_sheet(2), ImportMode.KEEP_VALID, campaign_id)
    assert {error.code for error in report.errors} == {"campaign_not_open"}
    assert report.created == 0


def test_campaign_and_society_columns_are_read_and_checked(db: sessionmaker[Session]) -> None:
    campaign_id = add_campaign(db, closes_in_days=5)
    with db.begin() as session:
        society = Society(name="福建省机械工程学会", level=SocietyLevel.PROVINCIAL)
        session.add(society)
        session.flush()
        society_id = society.id
    headers = [*FORM_HEADERS, "征集活动编号", "汇总填报学会编号"]
    rows = [
        [*form_row(0), campaign_id, society_id],
        [*form_row(1), campaign_id + 100, None],
        [*form_row(2), None, society_id + 100],
    ]
    report = run_import(db, {"tagged.xlsx": xlsx_bytes(headers, rows)}, ImportMode.KEEP_VALID)
    assert {(e.row, e.field, e.code) for e in report.errors} == {
        (3, "campaign_id", "campaign_not_found"),
        (4, "collected_by_society_id", "society_not_found"),
    }
    with db() as session:
        demand = session.scalars(select(Demand)).one()
    assert (demand.campaign_id, demand.collected_by_society_id) == (campaign_id, society_id)


def test_a_row_of_another_campaign_than_the_import_is_refused(db: sessionmaker[Session]) -> None:
    first, second = add_campaign(db, closes_in_days=5), add_campaign(db, closes_in_days=6)
    headers = [*FORM_HEADERS, "征集活动编号"]
    sheet = {"mixed.csv": csv_bytes(headers, [[*form_row(0), second], [*form_row(1), None]])}
    report = run_import(db, sheet, ImportMode.KEEP_VALID, first)
    assert [(e.row, e.code) for e in report.errors] == [(2, "campaign_mismatch")]
    assert stored(db) == [(ORG.format(1), first)]


def test_an_unknown_campaign_refuses_the_call(db: sessionmaker[Session]) -> None:
    report = run_import(db, county_sheet(2), ImportMode.KEEP_VALID, campaign_id=999)
    assert [(e.field, e.code) for e in report.errors] == [("campaign_id", "campaign_not_found")]
    assert (report.created, stored(db)) == (0, [])


def test_the_route_takes_a_campaign_form_field(
    client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]
) -> None:
    campaign_id = add_campaign(db, closes_in_days=5)
    files = [("files", (name, data, "application/octet-stream")) for name, data in county_sheet(2).items()]
    response = client.post(
        "/api/v1/demands/import", files=files, data={"campaign_id": str(campaign_id)}, headers=staff_headers
    )
    assert response.status_code == 200, response.text
    assert stored(db) == [(ORG.format(0), campaign_id), (ORG.format(1), campaign_id)]


# --- one key for single intake and import ---------------------------------------------------------


def single(db: sessionmaker[Session], **fields: Any) -> Demand:
    with db.begin() as session:
        payload = DemandCreate.model_validate(demand_payload(**fields))
        return submit(session, payload=payload, secret=b"k", idempotency_key=None).demand


def test_an_import_recognises_a_demand_submitted_through_the_api(db: sessionmaker[Session]) -> None:
    values = dict(zip(FORM_HEADERS, form_row(0), strict=True))
    first = single(
        db,
        org_name=values["单位名称"],
        title=f"  {values['技术需求名称']}",  # spacing does not make another demand
        description=values["具体的技术需求说明"],
    )
    assert first.dedup_key is not None
    report = run_import(db, county_sheet(2), ImportMode.STRICT)
    assert report.created == 1
    assert [(d.row, d.demand_id) for d in report.duplicates] == [(2, first.id)]


def test_a_second_identical_submission_is_accepted_and_leaves_the_key_to_the_first(
    db: sessionmaker[Session],
) -> None:
    first, again = single(db), single(db)
    assert first.id != again.id
    assert (first.dedup_key is not None, again.dedup_key) == (True, None)


def test_a_campaign_closing_today_still_takes_rows(db: sessionmaker[Session]) -> None:
    campaign_id = add_campaign(db, closes_in_days=0)
    assert run_import(db, county_sheet(1), ImportMode.STRICT, campaign_id).created == 1
