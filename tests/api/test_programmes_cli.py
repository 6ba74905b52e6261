"""``huiqi campaign`` and ``huiqi report`` on the test database, and the demo step."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app
from api.db.models import Demand
from api.demands.schemas import DemandCreate
from api.demands.service import submit
from api.demo import DemoContext
from api.programmes.campaigns import seed_programmes
from api.programmes.demo import DEMO_CAMPAIGN, load_demo_programmes
from api.programmes.models import Activity, Campaign, StandingUnit
from api.programmes.periods import china_today
from api.providers.models import Society, SocietyLevel
from api.settings import get_settings
from tests.api.factories import demand_payload

pytestmark = pytest.mark.db
runner = CliRunner()


@pytest.fixture
def cli_database(
    database_url: str, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The command line pointed at the test database."""
    monkeypatch.setenv("HUIQI_DATABASE_URL", database_url)
    get_settings.cache_clear()
    with db.begin() as session:
        seed_programmes(session)
    yield
    get_settings.cache_clear()


def test_campaign_launch_dashboard_and_close(cli_database: None) -> None:
    closes = (china_today() + timedelta(days=3)).isoformat()
    launched = runner.invoke(
        app,
        [
            "campaign",
            "launch",
            "--code",
            "cli-1",
            "--name",
            "命令行征集",
            "--organiser",
            "龙岩市科协",
            "--closes",
            closes,
        ],
    )
    assert launched.exit_code == 0, launched.output
    listed = runner.invoke(app, ["campaign", "list"])
    assert "cli-1\t创新争先行动" in listed.output
    board = runner.invoke(app, ["campaign", "dashboard", "cli-1"])
    assert "征集中，剩余3天，共收到0项" in board.output
    assert runner.invoke(app, ["campaign", "close", "cli-1"]).exit_code == 0
    twice = runner.invoke(app, ["campaign", "close", "cli-1"])
    assert twice.exit_code == 1
    assert "已于" in twice.output


def test_demo_step_adds_a_campaign_units_and_a_quarter_of_activities_once(
    db: sessionmaker[Session], cli_database: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.begin() as session:
        session.add(Society(name="中国机械工程学会", level=SocietyLevel.NATIONAL))
        payload = DemandCreate.model_validate(demand_payload(region_code="350823"))
        submit(session, payload=payload, secret=b"k", idempotency_key=None)
    lines: list[str] = []
    context = DemoContext(secret=b"k", report=lines.append)
    with db.begin() as session:
        assert load_demo_programmes(session, context) == 10
    with db.begin() as session:
        assert load_demo_programmes(session, context) == 0
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.code == DEMO_CAMPAIGN
        assert (
            session.scalar(select(func.count()).select_from(Demand).where(Demand.campaign_id == campaign.id))
            == 1
        )
        assert session.scalar(select(func.count()).select_from(StandingUnit)) == 1
        assert session.scalar(select(func.count()).select_from(Activity)) == 6
        period = session.scalars(select(Activity.occurred_on)).first()
    assert period is not None
    quarter = f"{period.year}Q{(period.month - 1) // 3 + 1}"
    monkeypatch.chdir(tmp_path)
    written = runner.invoke(
        app, ["report", "quarterly", "--unit", "1", "--period", quarter, "--table", "2", "--format", "docx"]
    )
    assert written.exit_code == 0, written.output
    document = Document(str(tmp_path / f"附件2_中国机械工程学会_{quarter}.docx"))
    names = [row.cells[1].text for row in document.tables[0].rows]
    assert names == ["活动名称", "建立学会服务站", "签订技术开发合同", "共2项"]
    due = runner.invoke(app, ["report", "due", "--on", f"{period.year}-09-10"])
    assert "未报：中国机械工程学会\t附件2、3" in due.output
