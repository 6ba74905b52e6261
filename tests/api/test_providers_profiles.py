"""Provider profiles, the demo providers, and the export that ``huiqi evaluate`` reads."""

import csv
import io
import statistics
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app as cli
from api.evaluate_cli import read_providers
from api.providers.demo import load_demo_providers
from api.providers.export import export_rows, provider_codes, write_csv
from api.providers.models import Branch, Expert, ExpertPost, PostRole, Society, SocietyLevel
from api.providers.profiles import MIN_PROFILE_TOKENS, load_provider_profiles, refresh_tokens
from api.settings import get_settings

pytestmark = pytest.mark.db


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_demo_loads_every_cast_society_with_branches_and_experts_once(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        added = load_demo_providers(session)
    with db.begin() as session:
        again = load_demo_providers(session)
    with db() as session:
        counts = [_count(session, model) for model in (Society, Branch, Expert, ExpertPost)]
        groups = dict(
            session.execute(select(Society.cast_group, func.count()).group_by(Society.cast_group)).all()
        )
        machinery = session.scalar(select(Society).where(Society.code == "B-01"))
    assert (added, again) == (209 + 315 + 442, 0)
    assert counts == [209, 315, 442, 442]
    assert {group.value: n for group, n in groups.items()} == {
        "理": 45,
        "工": 78,
        "农": 16,
        "医": 28,
        "交叉": 42,
    }
    assert machinery is not None
    assert machinery.name == "中国机械工程学会"
    assert machinery.level is SocietyLevel.NATIONAL


def test_every_demo_society_profile_has_real_text(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        load_demo_providers(session)
    with db() as session:
        profiles = load_provider_profiles(session, "society")
    sizes = [sum(map(len, profile.tokens or [])) for profile in profiles]
    assert len(profiles) == 209
    assert all(profile.tokens is not None for profile in profiles)
    assert all(len(p.tokens or []) == len(p.documents) for p in profiles)
    assert min(sizes) >= MIN_PROFILE_TOKENS
    assert statistics.median(sizes) >= 2 * MIN_PROFILE_TOKENS
    # Own remit, disciplines, NSFC fields and industries, plus branch and expert documents.
    assert min(len(profile.documents) for profile in profiles) >= 5
    assert all(profile.name not in profile.documents for profile in profiles)


def _society_with_branch_and_expert(session: Session) -> tuple[Society, Branch, Expert]:
    society = Society(
        name="测试学会", level=SocietyLevel.PROVINCIAL, scope="锂电池正极材料", discipline_codes=["43050"]
    )
    branch = Branch(society=society, name="储能分会", scope="储能电站热管理", keywords=["液冷"])
    expert = Expert(name="〔演示〕甲", research_fields="钠离子电池负极硬碳")
    expert.posts.append(ExpertPost(society=society, branch=branch, role=PostRole.COMMITTEE_MEMBER))
    for row in (society, branch, expert):
        refresh_tokens(row)
        session.add(row)
    session.flush()
    return society, branch, expert


def test_a_society_profile_gathers_its_branches_and_experts(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        _society_with_branch_and_expert(session)
    with db() as session:
        (society,) = load_provider_profiles(session, "society")
        (branch,) = load_provider_profiles(session, "branch")
        (expert,) = load_provider_profiles(session, "expert")
    assert society.documents[0] == "锂电池正极材料"
    assert "有机高分子材料：塑料、橡胶和纤维" in society.documents[1]
    assert any("储能电站热管理" in text for text in society.documents)
    assert "钠离子电池负极硬碳" in society.documents
    assert "钠离子电池负极硬碳" in branch.documents
    assert expert.documents == ["钠离子电池负极硬碳"]
    assert society.tokens is not None
    assert "锂电池" in society.tokens[0]


def test_inactive_and_unavailable_providers_are_left_out(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        society, branch, expert = _society_with_branch_and_expert(session)
        branch.active = False
        expert.available = False
    with db() as session:
        (profile,) = load_provider_profiles(session, "society")
        assert not any("储能" in text for text in profile.documents)
        assert load_provider_profiles(session, "branch") == []
        assert load_provider_profiles(session, "expert") == []
        assert len(load_provider_profiles(session, "expert", active_only=False)) == 1
    with db.begin() as session:
        session.get_one(Society, society.id).active = False
    with db() as session:
        assert load_provider_profiles(session, "society") == []
        with pytest.raises(ValueError, match="unknown provider level"):
            load_provider_profiles(session, "team")


def test_export_is_the_providers_format_of_evaluate(db: sessionmaker[Session], tmp_path: Path) -> None:
    with db.begin() as session:
        load_demo_providers(session)
    with db() as session:
        profiles = load_provider_profiles(session, "society")
        rows = export_rows(profiles, provider_codes(session, "society"))
    path = tmp_path / "providers.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        written = write_csv(rows, handle)
    documents = read_providers(path)
    assert written == len(documents) == sum(len(profile.documents) for profile in profiles)
    assert len({document.provider_id for document in documents}) == 209
    assert {d.name for d in documents if d.provider_id == "B-01"} == {"中国机械工程学会"}


def test_cli_export_writes_one_row_per_document(
    db: sessionmaker[Session], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.begin() as session:
        _society_with_branch_and_expert(session)
    monkeypatch.setenv("HUIQI_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["export", "providers", "--level", "branch", "--format", "csv"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["id", "name", "text"]
    # The branch's own text (no codes given), then its expert's research text.
    assert [row[1] for row in rows[1:]] == ["储能分会"] * 2
    assert rows[1][2] == "储能分会。储能电站热管理。液冷"
    assert rows[2][2] == "钠离子电池负极硬碳"
