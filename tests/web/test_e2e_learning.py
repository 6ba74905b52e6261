"""The match list with its semantic reasons and 匹配度, and the page of learning from staff decisions,
in headless Chromium on the demo data with every text encoded: full-page screenshots at 1280 and 390 px
(``var/screenshots/``, or ``HUIQI_SCREENSHOTS``), the switch turned by an admin, and the audit."""

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from api.db import make_engine, make_session_factory
from api.db.models import StaffUser
from api.encoding.service import encode_pending
from api.encoding.store import FileVectorStore
from api.matching import review, service
from api.matching.models import Pairing
from api.matching.schemas import PairingTransition, RoundScope
from api.worker import work_once
from features.encoder import E5Encoder, ModelIdentity
from matcher.dense import encode_cached
from tests.conftest import fresh_database
from tests.web.chromium import WIDTHS, new_tab, sign_in
from tests.web.live import ACCOUNT, LiveService, live_service, prepare_database
from tests.web.test_e2e_screens import SCREENSHOTS, SQUEEZED_CELLS

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.slow]

# Vectors of texts encoded before (by this test or benchmarks.feedback_simulation): the same model's
# vectors of the same texts, so a second run encodes nothing.
VECTORS = Path(__file__).resolve().parents[2] / "var" / "e5-evaluate.sqlite"
SHOWN_DEMAND = 1


class StoredE5:
    """The e5 encoder, reading vectors of texts it encoded before from a file."""

    def __init__(self) -> None:
        self.model = E5Encoder()
        self.store = FileVectorStore(VECTORS)

    @property
    def identity(self) -> ModelIdentity:
        """The wrapped model's identity: the service reads these vectors as its own."""
        return self.model.identity

    @property
    def available(self) -> bool:
        """Always: the model loads."""
        return True

    def _encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        found = encode_cached(self.model, texts, "query" if kind == "query" else "passage", self.store)
        return np.stack([np.frombuffer(v, dtype="<f4") for v in found]) if found else np.zeros((0, 384))

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Demand texts."""
        return self._encode(texts, "query")

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Provider chunks."""
        return self._encode(texts, "passage")


def _decide(database_url: str) -> None:
    """Every text encoded (a society's profile includes its branches' and experts' documents: its
    level ranks with the encoder once they are all encoded); a round over a few demands; the demo
    admin accepts one pairing and rejects one."""
    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        encode_pending(factory, StoredE5())
        with factory.begin() as session:
            scope = RoundScope(demand_ids=[2, 3, 4], wanted=3)
            round_id = service.create_round(session, scope=scope, staff=None).id
        assert work_once(factory, "test-worker") is not None
        with factory.begin() as session:
            staff = session.scalars(select(StaffUser).where(StaffUser.name == ACCOUNT)).one()
            pairings = session.scalars(
                select(Pairing).where(Pairing.round_id == round_id).order_by(Pairing.demand_id, Pairing.rank)
            ).all()
            for pairing, change in zip(
                pairings[:2],
                [PairingTransition(action="accept"), PairingTransition(action="reject", reason="方向不符")],
                strict=True,
            ):
                review.transition(
                    session, pairing_id=pairing.id, change=change, version=pairing.version, staff=staff
                )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The service with the demo data, every text encoded and two staff decisions; no worker."""
    workdir = tmp_path_factory.mktemp("live-learning")
    with fresh_database("sqlite", workdir) as url:
        prepare_database(url, workdir)
        _decide(url)
        with live_service(url, workdir, worker=False) as running:
            yield running


def _page(chromium: Browser, live: LiveService, width: str) -> Page:
    page = new_tab(chromium, live.base_url, width)
    sign_in(page)
    return page


def _shoot(page: Page, name: str, width: str) -> list[str]:
    """Save the full page; what is too wide or squeezed at this width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    problems = []
    if int(page.evaluate("document.documentElement.scrollWidth")) > WIDTHS[width]["width"]:
        problems.append(f"{name} is wider than {width} px")
    if squeezed := page.evaluate(SQUEEZED_CELLS):
        problems.append(f"{name} squeezes cells at {width} px: {squeezed[:3]}")
    return problems


def test_the_match_list_shows_semantic_reasons_and_match_degrees(
    chromium: Browser, live: LiveService
) -> None:
    problems: list[str] = []
    for width in WIDTHS:
        page = _page(chromium, live, width)
        page.goto(f"/demands/{SHOWN_DEMAND}#matches")
        matches = page.locator("#matches")
        # Every text is encoded: no notice that the list is keyword-only.
        expect(matches.locator(".notice")).to_have_count(0)
        rows = matches.locator("tbody tr")
        expect(rows).to_have_count(10)
        # Each row: a 匹配度 from 0 to 100, and the provider's closest sentence.
        for row in range(10):
            degree = rows.nth(row).locator("td[data-label='匹配度']").inner_text()
            assert degree.isdigit(), degree
            assert 0 <= int(degree) <= 100
        expect(rows.locator(".closest")).to_have_count(10)
        problems += _shoot(page, "match-list", width)
        page.context.close()
    assert not problems, "\n".join(problems)


def test_an_admin_turns_learning_on_and_the_audit_shows_what_changed(
    chromium: Browser, live: LiveService
) -> None:
    page = _page(chromium, live, "1280")
    page.goto("/learning")
    expect(page.locator(".learning-state")).to_contain_text("已关闭")
    records = page.locator("section[aria-labelledby=events-title] tbody tr")
    # Two decisions of the demo admin, decided while learning was off.
    expect(page.get_by_text("学习已关闭，暂不影响排名")).to_have_count(2)
    page.get_by_role("button", name="开启学习").click()
    expect(page.get_by_role("status").first).to_contain_text("已开启")
    expect(page.locator(".learning-state")).to_contain_text("已开启")
    expect(records.first).to_contain_text("开启学习")
    expect(records.first).to_contain_text(ACCOUNT)
    expect(page.get_by_text("加强该单位对相似需求的排名")).to_have_count(1)
    expect(page.get_by_text("减弱该单位对相似需求的排名")).to_have_count(1)
    expect(page.get_by_text("个相似需求的匹配列表中提高排名")).to_have_count(1)
    body = page.locator("main").inner_text()
    for machine in ("accept", "reject", "society", "None", "True", "{"):
        assert machine not in body
    problems = _shoot(page, "learning", "1280")
    phone = _page(chromium, live, "390")
    phone.goto("/learning")
    problems += _shoot(phone, "learning", "390")
    assert not problems, "\n".join(problems)
