"""Every form of the staff pages, filled wrongly: the page that answers speaks to a person. No regex,
field name, machine code, JSON or Python exception may reach the visible text of any page."""

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.db import make_engine, make_session_factory
from api.main import create_app
from api.matching.models import MatchRound, Pairing, RoundStatus
from api.matching.pipeline import run_round
from api.programmes.models import Campaign
from api.settings import Settings
from api.web.router import router as web_router
from tests.conftest import fresh_database
from tests.web.live import ACCOUNT, PASSWORD, SECRET, prepare_database

pytestmark = [pytest.mark.db, pytest.mark.slow]

# What a programmer wrote for a programmer; none of it belongs in a page's text.
PROGRAMMER_TEXT = [
    (re.compile(r"[\^\\$]|\{\d|\\d"), "a regular expression"),
    (
        re.compile(r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b", re.ASCII),
        "an identifier such as a field name or a code",
    ),
    (re.compile(r"\(\s*[a-z_]+\s*\)"), "a machine code in brackets"),
    (re.compile(r"[{}\[\]]|&quot;|\"[a-z_]+\":"), "JSON or a Python literal"),
    (
        re.compile(r"Traceback|Error\b|Exception\b|\bNone\b|\bnull\b|\btrue\b|\bfalse\b", re.ASCII),
        "a Python exception",
    ),
    (re.compile(r"\b(?:str|int|float|dict|list|bool|Decimal|date)\b", re.ASCII), "a type name"),
    (
        re.compile(r"\b(?:value|input|field|string|type|missing|required)\b", re.IGNORECASE | re.ASCII),
        "an English message",
    ),
]
HIDDEN = re.compile(r"<(script|style|template)\b.*?</\1>", re.DOTALL | re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")


def visible_text(page: str) -> str:
    """The text a person reads on a page: no tags, attributes, scripts or styles."""
    return html.unescape(TAG.sub(" ", HIDDEN.sub(" ", page)))


def programmer_fragments(page: str) -> list[str]:
    """Each fragment of ``page``'s text that only a programmer would understand, with what it looks like."""
    text = visible_text(page)
    found = []
    for pattern, kind in PROGRAMMER_TEXT:
        for match in pattern.finditer(text):
            start = max(0, match.start() - 30)
            found.append(f"{kind}: …{text[start : match.end() + 30].strip()}…")
    return found


def test_the_check_catches_what_the_issue_saw() -> None:
    seen = [
        "账号格式不对：应匹配 ^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$",
        "agreement_amount_wan应为数字",
        "第 3 行：手机号码格式不对 (mobile_invalid)",
        '{"detail": "出错了"}',
        "ValueError: could not convert",
        "Field required",
    ]
    for text in seen:
        assert programmer_fragments(f"<p>{html.escape(text)}</p>"), text
    assert not programmer_fragments('<p title="a_b">手机号码应为以1开头的11位数字</p><input value="x_y">')


@dataclass
class Case:
    """One form filled wrongly: where it posts (or gets), and what it sends."""

    path: str
    data: dict[str, str | list[str]] = field(default_factory=dict)
    method: str = "post"
    files: dict[str, tuple[str, bytes, str]] | None = None


@dataclass(frozen=True)
class Day:
    """The signed-in client and the ids the forms need."""

    client: TestClient
    demand_id: int
    pairing_id: int
    round_id: int
    campaign_key: str
    unit_id: int


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def day(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    """A signed-in staff member on the demo data, with one finished round."""
    workdir = tmp_path_factory.mktemp("error-texts")
    with fresh_database(request.param, workdir) as url:
        prepare_database(url, workdir)
        settings = Settings(database_url=url, data_dir=str(workdir), secret_key=SECRET)
        app = create_app(settings)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        try:
            with TestClient(app) as client:
                token = _csrf(client.get("/login").text)
                client.post("/login", data={"name": ACCOUNT, "password": PASSWORD, "csrf_token": token})
                client.post(
                    "/rounds", data={"csrf_token": _csrf(client.get("/rounds").text), "level": "society"}
                )
                with factory() as session:
                    round_id = session.scalars(select(MatchRound.id).order_by(MatchRound.id.desc())).first()
                assert round_id is not None
                assert run_round(factory, round_id) == RoundStatus.SUCCEEDED
                with factory() as session:
                    pairing = session.scalars(select(Pairing).where(Pairing.round_id == round_id)).first()
                    campaign = session.scalars(select(Campaign)).first()
                    assert pairing is not None
                    assert campaign is not None
                    ids = (pairing.demand_id, pairing.id, str(campaign.id))
                unit_page = client.get("/standing-units").text
                unit_id = int(re.findall(r'href="/standing-units/(\d+)"', unit_page)[0])
                yield Day(client, ids[0], ids[1], round_id, ids[2], unit_id)
        finally:
            app.state.engine.dispose()
            engine.dispose()


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


BAD_DATE = "2026年13月45日"
BAD_NUMBER = "三十万"
LONG = "很长" * 600


def cases(day: Day) -> dict[str, list[Case]]:
    """Wrong fillings of every form, by the route path they post to (or the page they filter)."""
    d, p, r, c, u = day.demand_id, day.pairing_id, day.round_id, day.campaign_key, day.unit_id
    return {
        "/login": [
            Case("/login", {"name": "", "password": ""}),
            Case("/login", {"name": "无此人", "password": "x"}),
        ],
        "/logout": [],  # takes nothing but the CSRF token; checked by the sign-in tests
        "/campaigns": [
            Case("/campaigns", {}),
            Case(
                "/campaigns",
                {
                    "key": "坏 键",
                    "title": LONG,
                    "opens_on": BAD_DATE,
                    "closes_on": "2020-01-01",
                    "regions": "福建abc",
                },
            ),
        ],
        "/campaigns/{key}/close": [Case("/campaigns/无此活动/close")],
        "/campaigns/{key}/overrides": [
            Case(f"/campaigns/{c}/overrides", {"org_name": "", "reason": "", "valid_until": BAD_DATE}),
            Case(
                f"/campaigns/{c}/overrides", {"org_name": LONG, "reason": LONG, "valid_until": "2020-01-01"}
            ),
        ],
        "/demands/bulk": [
            Case("/demands/bulk", {"action": "return", "ids": [str(d), "abc"]}),
            Case("/demands/bulk", {"action": "删除"}),
            Case("/demands/bulk", {"action": "publish", "ids": ["abc", "99999999"]}),
        ],
        "/demands/{demand_id:int}/status": [
            Case(f"/demands/{d}/status", {"to": "returned"}),
            Case(f"/demands/{d}/status", {"to": "???"}),
            Case(f"/demands/{d}/status", {"to": "submitted", "reason": LONG}),
        ],
        "/demands/{demand_id:int}/edit": [
            Case(
                f"/demands/{d}/edit",
                {
                    "title": "",
                    "org_name": "",
                    "mobile": "123",
                    "email": "不是邮箱",
                    "postcode": "35",
                    "budget_wan": BAD_NUMBER,
                    "deadline": BAD_DATE,
                    "region_code": "福建",
                    "industry_code": "ZZZ",
                    "discipline_code": "九九九",
                    "website": "没有网址",
                    "cooperation_mode": "随便",
                    "office_phone": "电话",
                    "keywords": "，".join(["词"] * 40),
                },
            )
        ],
        "/demands/{demand_id:int}/preferences": [
            Case(
                f"/demands/{d}/preferences",
                {"provider_level": "society", "provider_id": "甲", "kind": "prefer"},
            ),
            Case(f"/demands/{d}/preferences", {"provider_level": "学会", "provider_id": "", "kind": "随便"}),
            Case(
                f"/demands/{d}/preferences",
                {"provider_level": "society", "provider_id": "99999", "kind": "refuse"},
            ),
        ],
        "/demands/{demand_id:int}/preferences/{preference_id:int}/delete": [
            Case(f"/demands/{d}/preferences/99999/delete")
        ],
        "/demands/import": [
            Case("/demands/import", {"mode": "strict"}),
            Case(
                "/demands/import",
                {"mode": "strict"},
                files={"files": ("汇总表.csv", "单位名称,手机\n某公司,123\n".encode(), "text/csv")},
            ),
            Case("/demands/import", {"mode": "随便"}, files={"files": ("表.txt", b"\x00\x01", "text/plain")}),
        ],
        "/rounds": [
            Case(
                "/rounds",
                {
                    "level": "院士",
                    "wanted": "0",
                    "candidates": "很多",
                    "min_score": "2",
                    "region": "福建",
                    "industry": "农业",
                    "demand_ids": "甲，乙",
                    "statuses": ["无此状态"],
                },
            ),
            Case("/rounds", {"capacities": "中国机械工程学会=很多"}),
            Case("/rounds", {"capacities": "99999=3", "demand_ids": "99999999"}),
        ],
        "/rounds/{round_id:int}/cancel": [Case(f"/rounds/{r}/cancel")],
        "/pairings/bulk": [
            Case("/pairings/bulk", {"action": "reject", "ids": [f"{p}:1"], "back": f"/rounds/{r}/pairings"}),
            Case("/pairings/bulk", {"action": "accept", "ids": ["甲:乙", f"{p}:999"], "back": "/pairings"}),
        ],
        "/pairings/{pairing_id:int}": [
            Case(f"/pairings/{p}", {"action": "reject", "version": "1"}),
            Case(f"/pairings/{p}", {"action": "随便", "version": "一"}),
            Case(f"/pairings/{p}", {"action": "accept"}),
            Case(f"/pairings/{p}", {"action": "contact", "version": "1", "contact_date": BAD_DATE}),
            Case(
                f"/pairings/{p}",
                {
                    "action": "agreement",
                    "version": "1",
                    "agreement_type": "口头",
                    "agreement_amount_wan": BAD_NUMBER,
                },
            ),
        ],
        "/quarterly-reports/shortcomings": [
            Case(
                "/quarterly-reports/shortcomings",
                {"unit": "甲", "period": "2026Q9", "table": "9", "row": "", "text": ""},
            ),
            Case(
                "/quarterly-reports/shortcomings",
                {"unit": str(u), "period": "2026Q3", "table": "2", "row": "无此行"},
            ),
        ],
        "/quarterly-reports/filings": [
            Case("/quarterly-reports/filings", {"unit": "", "period": "去年", "table": "表二"}),
        ],
        "/standing-units/from-pairing": [
            Case("/standing-units/from-pairing", {"pairing_id": "甲"}),
            Case(
                "/standing-units/from-pairing",
                {
                    "pairing_id": str(p),
                    "name": "",
                    "code": "坏 编码",
                    "established_on": BAD_DATE,
                    "kind": "随便",
                },
            ),
        ],
        "/standing-units/{unit_id:int}/activities": [
            Case(
                f"/standing-units/{u}/activities",
                {
                    "occurred_on": BAD_DATE,
                    "title": "",
                    "amount_wan": BAD_NUMBER,
                    "form": "随便",
                    "content": LONG,
                },
            ),
            Case(f"/standing-units/{u}/activities", {}),
        ],
        # Filters (GET forms) with values they cannot use.
        "GET filters": [
            Case("/demands", {"region": "福建", "q": LONG, "industry": "农业", "page": "0"}, method="get"),
            Case("/demands", {"page": "甲"}, method="get"),
            Case(f"/rounds/{r}/pairings", {"status": "随便", "page": "-1", "sort": "乱"}, method="get"),
            Case("/pairings", {"round": "甲", "q": LONG}, method="get"),
            Case("/quarterly-reports", {"unit": "甲", "period": "2026Q9", "table": "9"}, method="get"),
            Case("/reports", {"round": "甲", "from": BAD_DATE, "to": "明天"}, method="get"),
            Case("/campaigns", {"status": "随便"}, method="get"),
            Case("/societies", {"q": LONG, "page": "0"}, method="get"),
            Case("/experts", {"q": LONG, "page": "甲"}, method="get"),
            Case(f"/demands/{d}", {"level": "院士"}, method="get"),
            Case("/demands/999999", method="get"),
        ],
    }


def _post_paths() -> set[str]:
    return {
        route.path for route in web_router.routes if isinstance(route, APIRoute) and "POST" in route.methods
    }


def test_every_form_is_in_the_table(day: Day) -> None:
    """A new form must come with its wrong fillings here."""
    assert _post_paths() <= set(cases(day)), sorted(_post_paths() - set(cases(day)))


def test_every_form_answers_wrong_input_in_words_for_people(day: Day) -> None:
    problems: list[str] = []
    for name, wrong in cases(day).items():
        for case in wrong:
            token = _csrf(day.client.get("/rounds").text)
            if case.method == "get":
                response = day.client.get(case.path, params=case.data)
            else:
                response = day.client.post(
                    case.path, data={"csrf_token": token, **case.data}, files=case.files
                )
            if response.headers.get("content-type", "").startswith("text/html"):
                problems += [f"{case.path}: {fragment}" for fragment in programmer_fragments(response.text)]
            else:
                problems.append(f"{case.path}: answered {response.headers.get('content-type')}, not a page")
            assert response.status_code < 500, f"{name}: {response.status_code}"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["/no-such-page", "/demands/1/no-such-tab", "/rounds/abc/def"])
def test_an_address_no_page_serves_answers_with_a_page_for_people(client: TestClient, path: str) -> None:
    """A browser that follows a wrong address reads a Chinese page; the API keeps its JSON body."""
    page = client.get(path, headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "找不到这个页面" in visible_text(page.text)
    assert programmer_fragments(page.text) == []
    api = client.get("/api/v1" + path, headers={"accept": "text/html"})
    assert api.status_code == 404
    assert api.json()["code"] == "not_found"
