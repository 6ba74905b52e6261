"""Two ways in for a demand besides the API: the staff page 录入需求 and the enterprises' own form at
/submit with its receipt and /receipt; both store through the intake service with its checks."""

import io
import re
from datetime import timedelta
from typing import Any

import pytest
import segno
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Demand, DemandStatus
from api.matching.models import MatchRound, Pairing, PairingStatus, RoundStatus
from api.programmes.campaigns import programme, seed_programmes
from api.programmes.models import Campaign, CampaignOverride, CampaignStatus
from api.programmes.periods import china_today
from api.providers.models import ProviderLevel, Society, SocietyLevel
from api.security.ratelimit import Rule
from tests.api.factories import demand_payload
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db

CAMPAIGN_CODE = "2026-ly"
TOKEN = re.compile(r'id="receipt-token">(hqr_[A-Za-z0-9_-]+)<')
DEMAND_ID = re.compile(r'id="receipt-demand">(\d+)<')


def _form(**overrides: str) -> dict[str, str]:
    """The 附件1 fields as a browser posts them (keywords typed into one box)."""
    data = {key: str(value) for key, value in demand_payload().items() if key not in ("keywords",)}
    data["keywords"] = "聚氨酯、耐水解，弹性体"
    for code in ("industry_code", "discipline_code"):
        data.pop(code)
    return data | overrides


def _count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Demand)) or 0


@pytest.fixture
def campaign(db: sessionmaker[Session]) -> Campaign:
    """An open campaign with the code of a poster's link."""
    today = china_today()
    with db.begin() as session:
        seed_programmes(session)
        found = Campaign(
            code=CAMPAIGN_CODE,
            name="2026年龙岩市企业技术需求征集",
            programme_id=programme(session, "cxzx").id,
            organiser="龙岩市科学技术协会",
            opens_on=today - timedelta(days=3),
            closes_on=today + timedelta(days=10),
        )
        session.add(found)
    return found


def _submit(client: TestClient, **overrides: str) -> Any:
    page = client.get("/submit", params={"campaign": CAMPAIGN_CODE})
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text)
    assert key, "the form carries its submission key"
    data = {"campaign": CAMPAIGN_CODE, "submission_key": key.group(1), **_form(**overrides)}
    return client.post("/submit", data=data)


# --- staff: 录入需求 -----------------------------------------------------------------------------------


def test_the_entry_form_lists_the_attachment_1_fields_in_order(browser: TestClient) -> None:
    page = browser.get("/demands/new")
    assert page.status_code == 200
    order = [  # the printed form
        "单位名称",
        "主营业务",
        "联系人",
        "手机",
        "办公电话",
        "传真",
        "E-mail",
        "网址",
        "联系地址",
        "邮编",
    ]
    order += ["技术需求名称", "具体的技术需求说明", "企业概况"]
    positions = [page.text.index(f">{label}") for label in order]
    assert positions == sorted(positions)
    assert 'href="/demands/new"' in browser.get("/demands").text


def test_a_refused_entry_keeps_what_was_typed_and_says_why_beside_each_field(
    browser: TestClient, db: sessionmaker[Session]
) -> None:
    token = csrf_of(browser.get("/demands/new").text)
    data = _form(mobile="1380591000", office_phone="", title="", region_code="福建")
    answer = browser.post("/demands/new", data={"csrf_token": token, **data})
    assert answer.status_code == 422
    html = answer.text
    assert re.search(r'id="e-mobile">[^<]*11位', html)
    assert re.search(r'id="e-title">[^<]*请填写', html)
    assert 'id="e-region_code"' in html
    # The summary lists the problems in the order of the form.
    summary = html[html.index('id="error-summary"') :]
    assert summary.index("#f-mobile") < summary.index("#f-title") < summary.index("#f-region_code")
    # Nothing typed is lost: the long description and the keywords come back as typed.
    assert demand_payload()["description"] in html
    assert 'value="聚氨酯、耐水解，弹性体"' in html
    assert 'value="1380591000"' in html
    assert _count(db) == 0


def test_a_demand_taken_by_phone_is_stored_once_with_its_campaign_and_forwarding_society(
    browser: TestClient, db: sessionmaker[Session], campaign: Campaign
) -> None:
    with db.begin() as session:
        society = Society(name="龙岩市机械工程学会", level=SocietyLevel.MUNICIPAL)
        session.add(society)
        session.flush()
        society_id = society.id
    page = browser.get("/demands/new").text
    assert "龙岩市机械工程学会" in page
    assert "2026年龙岩市企业技术需求征集" in page
    key = re.search(r'name="submission_key" value="([^"]+)"', page)
    assert key
    data = {
        "csrf_token": csrf_of(page),
        "submission_key": key.group(1),
        "campaign_id": str(campaign.id),
        "collected_by_society_id": str(society_id),
        "industry_code": "C2651",
        **_form(),
    }
    first = browser.post("/demands/new", data=data)
    assert first.status_code == 200
    assert first.url.path.startswith("/demands/")
    assert "回执凭证 hqr_" in first.text
    again = browser.post("/demands/new", data=data)  # a double click stores nothing more
    assert again.url.path == first.url.path
    with db() as session:
        stored = session.scalars(select(Demand)).one()
        assert stored.campaign_id == campaign.id
        assert stored.collected_by_society_id == society_id
        assert stored.keywords == ["聚氨酯", "耐水解", "弹性体"]
        assert stored.industry_code == "C2651"


def test_a_closed_campaign_is_named_beside_the_campaign_choice(
    browser: TestClient, db: sessionmaker[Session], campaign: Campaign
) -> None:
    with db.begin() as session:
        session.get_one(Campaign, campaign.id).status = CampaignStatus.CLOSED
    page = browser.get("/demands/new").text
    data = {"csrf_token": csrf_of(page), "campaign_id": str(campaign.id), **_form()}
    answer = browser.post("/demands/new", data=data)
    assert answer.status_code == 409
    assert re.search(r'id="e-campaign_id">[^<]*截止征集', answer.text)
    assert f'<option value="{campaign.id}" selected>' in answer.text
    assert _count(db) == 0


# --- enterprises: /submit and /receipt ------------------------------------------------------------------


def test_the_public_form_names_its_campaign_and_asks_for_no_codes(
    client: TestClient, campaign: Campaign
) -> None:
    page = client.get("/submit", params={"campaign": CAMPAIGN_CODE})
    assert page.status_code == 200
    assert "2026年龙岩市企业技术需求征集" in page.text
    assert "龙岩市科学技术协会" in page.text
    assert 'name="industry_code"' not in page.text
    assert 'name="region_code"' not in page.text
    assert 'name="csrf_token"' not in page.text  # no sign-in, no session
    assert 'type="tel"' in page.text
    assert 'name="viewport"' in page.text


def test_an_unknown_campaign_link_is_a_page_in_chinese(client: TestClient) -> None:
    page = client.get("/submit", params={"campaign": "no-such"})
    assert page.status_code == 404
    assert "没有找到征集活动" in page.text
    assert "请核对链接" in page.text


def test_an_enterprise_submits_and_reads_its_receipt(
    client: TestClient, db: sessionmaker[Session], campaign: Campaign
) -> None:
    done = _submit(client)
    assert done.status_code == 200, done.text
    token = TOKEN.search(done.text)
    number = DEMAND_ID.search(done.text)
    assert token
    assert number
    demand_id = int(number.group(1))
    with db() as session:
        assert session.get_one(Demand, demand_id).campaign_id == campaign.id
    # The token is the API's receipt token.
    api = client.get(f"/api/v1/demands/{demand_id}", headers={"X-Receipt-Token": token.group(1)})
    assert api.status_code == 200
    receipt = client.post("/receipt", data={"demand": str(demand_id), "token": token.group(1)})
    assert receipt.status_code == 200
    assert 'id="demand-status">已提交<' in receipt.text
    assert "科协确认对接方后" in receipt.text


def test_a_refused_public_form_comes_back_filled_in_and_stores_nothing(
    client: TestClient, db: sessionmaker[Session], campaign: Campaign
) -> None:
    answer = _submit(client, mobile="", office_phone="", email="不是邮箱")
    assert answer.status_code == 422
    assert 'id="e-mobile"' in answer.text
    assert 'id="e-email"' in answer.text
    assert 'value="不是邮箱"' in answer.text
    assert demand_payload()["description"] in answer.text
    assert f'name="campaign" value="{CAMPAIGN_CODE}"' in answer.text
    assert _count(db) == 0


def test_the_public_form_shares_the_api_submission_limit(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], campaign: Campaign
) -> None:
    rules = app.state.rate_limit_rules
    rules[("POST", "/api/v1/demands")] = Rule("submit", burst=2, per_minute=1, message="提交过于频繁")
    assert client.post("/api/v1/demands", json=demand_payload()).status_code == 201
    assert _submit(client, title="第二项需求").status_code == 200
    refused = _submit(client, title="第三项需求")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "提交过于频繁" in refused.text
    assert 'value="第三项需求"' in refused.text
    assert _count(db) == 2


def test_a_closed_campaign_takes_forms_only_from_an_enterprise_with_a_late_admission(
    client: TestClient, db: sessionmaker[Session], campaign: Campaign
) -> None:
    with db.begin() as session:
        session.get_one(Campaign, campaign.id).status = CampaignStatus.CLOSED
    page = client.get("/submit", params={"campaign": CAMPAIGN_CODE}).text
    assert "本次征集已截止" in page
    refused = _submit(client)
    assert refused.status_code == 409
    assert "截止征集" in refused.text
    assert demand_payload()["description"] in refused.text
    assert _count(db) == 0
    with db.begin() as session:
        session.add(
            CampaignOverride(
                campaign_id=campaign.id,
                org_name=demand_payload()["org_name"],
                reason="县科协汇总时遗漏",
                valid_until=china_today() + timedelta(days=3),
            )
        )
    assert _submit(client).status_code == 200
    assert _count(db) == 1


def test_a_campaign_not_yet_open_shows_no_form(
    client: TestClient, db: sessionmaker[Session], campaign: Campaign
) -> None:
    with db.begin() as session:
        session.get_one(Campaign, campaign.id).opens_on = china_today() + timedelta(days=2)
    page = client.get("/submit", params={"campaign": CAMPAIGN_CODE}).text
    assert "开始，届时再来填写" in page
    assert 'action="/submit"' not in page
    posted = client.post("/submit", data={"campaign": CAMPAIGN_CODE, **_form()})
    assert posted.status_code == 409
    assert "届时再来填写" in posted.text
    assert _count(db) == 0


def test_a_wrong_receipt_token_reveals_nothing(client: TestClient, campaign: Campaign) -> None:
    done = _submit(client)
    number = DEMAND_ID.search(done.text)
    assert number
    wrong = client.post("/receipt", data={"demand": number.group(1), "token": "hqr_wrong"})
    missing = client.post("/receipt", data={"demand": "99999", "token": "hqr_wrong"})
    assert wrong.status_code == missing.status_code == 422
    assert "对不上" in wrong.text
    assert "对不上" in missing.text
    assert demand_payload()["title"] not in wrong.text
    blank = client.post("/receipt", data={"demand": "", "token": ""})
    assert 'id="e-demand"' in blank.text
    assert 'id="e-token"' in blank.text


def test_the_receipt_shows_contacts_only_of_accepted_pairings(
    client: TestClient, db: sessionmaker[Session], campaign: Campaign
) -> None:
    done = _submit(client)
    token, number = TOKEN.search(done.text), DEMAND_ID.search(done.text)
    assert token
    assert number
    demand_id = int(number.group(1))
    with db.begin() as session:
        accepted = Society(
            name="福建省化工学会",
            level=SocietyLevel.PROVINCIAL,
            contact_name="陈老师",
            contact_phone="0591-83301234",
        )
        proposed = Society(name="福建省农学会", level=SocietyLevel.PROVINCIAL, contact_phone="0591-80000000")
        matching_round = MatchRound(status=RoundStatus.SUCCEEDED)
        session.add_all([accepted, proposed, matching_round])
        session.flush()
        for rank, (society, status) in enumerate(
            [(accepted, PairingStatus.ACCEPTED), (proposed, PairingStatus.PROPOSED)], start=1
        ):
            session.add(
                Pairing(
                    round_id=matching_round.id,
                    demand_id=demand_id,
                    provider_level=ProviderLevel.SOCIETY,
                    provider_id=society.id,
                    provider_name=society.name,
                    score=0.4,
                    rank=rank,
                    status=status,
                )
            )
        session.get_one(Demand, demand_id).status = DemandStatus.PUBLISHED
    receipt = client.post("/receipt", data={"demand": str(demand_id), "token": token.group(1)}).text
    assert "福建省化工学会" in receipt
    assert "陈老师" in receipt
    assert "0591-83301234" in receipt
    assert "福建省农学会" not in receipt
    assert "0591-80000000" not in receipt
    assert 'id="demand-status">已发布<' in receipt


# --- the campaign's link as a QR code --------------------------------------------------------------------


def test_staff_get_the_campaign_link_as_a_qr_code(browser: TestClient, campaign: Campaign) -> None:
    link = f"http://testserver/submit?campaign={CAMPAIGN_CODE}"
    board = browser.get(f"/campaigns/{campaign.id}").text
    assert link in board
    png = browser.get(f"/campaigns/{campaign.id}/qr.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = browser.get(f"/campaigns/{CAMPAIGN_CODE}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    # The image encodes exactly the link (the same symbol segno makes for it).
    expected = segno.make(link, error="m")
    assert png.content == _png_of(expected)


def _png_of(code: segno.QRCode) -> bytes:
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def test_the_qr_code_is_for_staff_only(client: TestClient, campaign: Campaign) -> None:
    answer = client.get(f"/campaigns/{campaign.id}/qr.png", follow_redirects=False)
    assert answer.status_code == 303
    assert "/login" in answer.headers["location"]
