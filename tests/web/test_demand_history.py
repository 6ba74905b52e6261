"""A demand's history on its staff page holds its pairings' steps too: 接受, 对接, 签约 and 拒绝."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.matching.models import MatchRound, Pairing
from api.providers.models import Society
from tests.api.programme_setup import Setting, build_setting
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db


@pytest.fixture
def setting(client: TestClient, staff_headers: dict[str, str], db: sessionmaker[Session]) -> Setting:
    """A demand with an accepted and a proposed pairing."""
    return build_setting(client, staff_headers, db)


def _act(browser: TestClient, pairing_id: int, round_id: int, **fields: str) -> None:
    page = browser.get(f"/rounds/{round_id}/pairings").text
    row = page[page.index(f'id="pairing-{pairing_id}"') :]
    version = re.search(r'name="version" value="(\d+)"', row)
    assert version
    data = {"csrf_token": csrf_of(page), "version": version.group(1), **fields}
    answer = browser.post(f"/pairings/{pairing_id}", data=data)
    assert answer.status_code == 200, answer.text


def _history(html: str) -> list[str]:
    found = re.search(r'<ol class="history" id="history">(.*?)</ol>', html, re.S)
    assert found, "the page has a history"
    return [
        re.sub(r"<[^>]+>", " ", item).strip() for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)
    ]


def test_accept_contact_and_agreement_enter_the_demand_history(
    browser: TestClient, db: sessionmaker[Session], setting: Setting
) -> None:
    with db.begin() as session:
        round_id = session.scalars(select(MatchRound.id)).one()
        names = {s.id: s.name for s in session.scalars(select(Society))}
        for pairing in session.scalars(select(Pairing)):
            pairing.provider_name = names[pairing.provider_id]  # as a round names them
    proposed = setting.proposed_pairing_id
    _act(browser, proposed, round_id, action="accept")
    _act(browser, proposed, round_id, action="contact", contact_date="2026-07-01", contact_notes="上门调研")
    _act(
        browser,
        proposed,
        round_id,
        action="agreement",
        agreement_type="技术开发",
        agreement_amount_wan="35.5",
    )
    _act(browser, setting.pairing_id, round_id, action="reject", reason="企业已自行解决")
    history = _history(browser.get(f"/demands/{setting.demand_id}").text)
    society = next(name for name in names.values() if name == "福建省农学会")
    newest_first = [
        f"记录签约与“{society}”的配对（第 {round_id} 轮）：技术开发 35.5 万元",
        f"记录对接与“{society}”的配对（第 {round_id} 轮）：2026-07-01 对接，上门调研",
        f"接受与“{society}”的配对（第 {round_id} 轮）",
    ]
    texts = " | ".join(history)
    positions = [texts.find(line) for line in newest_first]
    assert all(position >= 0 for position in positions), texts
    assert positions == sorted(positions)
    assert "企业已自行解决" in texts
    assert "审核员乙" in texts  # who did it
    assert history[-1].endswith("企业提交")
