"""Report figures on a hand-made timeline (stored and read back on SQLite and PostgreSQL), and the charts
and sheet names without a database."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from matplotlib.figure import Figure
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Demand, DemandEvent, DemandStatus
from api.matching.models import MatchRound, Pairing, PairingEvent, PairingStatus, RoundStatus
from api.providers.models import ProviderLevel
from api.reports import charts, metrics
from api.reports.facts import round_cohort
from api.reports.workbooks import sheet_titles
from tests.api.matching_helpers import add_societies

P = PairingStatus
DAY0 = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)


def _at(days: float) -> datetime:
    return DAY0 + timedelta(days=days)


def _demand(session: Session, n: int, published_after: float | None) -> Demand:
    demand = Demand(
        org_name=f"企业{n}",
        contact_name="张三",
        title=f"需求{n}",
        description="说明",
        keywords=[],
        receipt_salt="0" * 32,
        status=DemandStatus.SUBMITTED if published_after is None else DemandStatus.PUBLISHED,
        created_at=_at(0),
    )
    demand.events.append(DemandEvent(kind="submitted", to_status=DemandStatus.SUBMITTED, created_at=_at(0)))
    if published_after is not None:
        demand.events.append(
            DemandEvent(
                kind="status",
                from_status=DemandStatus.IN_REVIEW,
                to_status=DemandStatus.PUBLISHED,
                created_at=_at(published_after),
            )
        )
    session.add(demand)
    session.flush()
    return demand


def _pairing(
    session: Session,
    round_id: int,
    demand: Demand,
    society: int,
    created: float,
    steps: list[tuple[PairingStatus, float]],
) -> None:
    pairing = Pairing(
        round_id=round_id,
        demand_id=demand.id,
        provider_level=ProviderLevel.SOCIETY,
        provider_id=society,
        provider_name="学会",
        score=0.5,
        rank=1,
        reasons=[],
        created_at=_at(created),
        status=steps[-1][0] if steps else P.PROPOSED,
        agreement_amount_wan=Decimal("12.5") if steps and steps[-1][0] == P.AGREEMENT else None,
    )
    before = P.PROPOSED
    for status, when in steps:
        pairing.events.append(
            PairingEvent(action=status.value, from_status=before, to_status=status, created_at=_at(when))
        )
        before = status
    session.add(pairing)


@pytest.mark.db
def test_median_days_per_stage_on_a_hand_made_timeline(db: sessionmaker[Session]) -> None:
    # Published after 1, 2 and 4 days (median 2); one demand never published.
    # Matched at day 5 for all: publish->match 4, 3, 1 (median 3).
    # Accepted 0.5 and 1.5 days after matching (median 1); contacted 2 and 4 days later (median 3);
    # one signed 10 days after contact. A rejection counts in no stage.
    [society] = add_societies(db, societies={"中国材料研究学会": "聚氨酯"}).values()
    with db.begin() as session:
        matching_round = MatchRound(
            scope={"level": "society"},
            status=RoundStatus.SUCCEEDED,
            counts={},
            timings={},
            diagnosis=None,
        )
        session.add(matching_round)
        session.flush()
        a, b, c, d = (_demand(session, n, after) for n, after in enumerate([1, 2, 4, None]))
        matching_round.diagnosis = {"unserved": [{"demand_id": d.id, "reason": "capacity"}]}
        _pairing(
            session,
            matching_round.id,
            a,
            society,
            5,
            [(P.ACCEPTED, 5.5), (P.CONTACTED, 7.5), (P.AGREEMENT, 17.5)],
        )
        _pairing(session, matching_round.id, b, society, 5, [(P.ACCEPTED, 6.5), (P.CONTACTED, 10.5)])
        _pairing(session, matching_round.id, c, society, 5, [(P.REJECTED, 6)])
        round_id = matching_round.id
    with db() as session:
        cohort = round_cohort(session, round_id)
    medians = {
        stage.key: (stage.count, stage.median_days)
        for stage in metrics.stage_medians(cohort.demands, cohort.pairings)
    }
    assert medians == {
        "submit_publish": (3, pytest.approx(2.0)),
        "publish_match": (3, pytest.approx(3.0)),
        "match_accept": (2, pytest.approx(1.0)),
        "accept_contact": (2, pytest.approx(3.0)),
        "contact_sign": (1, pytest.approx(10.0)),
    }
    steps = {step.key: step.demands for step in metrics.funnel(cohort.demands, cohort.pairings)}
    assert steps == {"collected": 4, "published": 3, "matched": 3, "accepted": 2, "contacted": 2, "signed": 1}
    found = metrics.gaps(cohort.demands, cohort.pairings, cohort.diagnosed)
    assert [(gap.title, gap.reason) for gap in found] == [("需求2", "rejected"), ("需求3", "capacity")]
    [load] = metrics.loads(cohort.pairings, cohort.capacity, cohort.names)
    assert (load.capacity, load.load, load.advanced, load.rejected) == (5, 2, 2, 1)


def test_a_pairing_accepted_then_rejected_still_counts_as_accepted() -> None:
    demand = metrics.DemandFact(1, "需求", "企业", DAY0, DAY0)
    pairing = metrics.PairingFact(
        1, 1, 1, "society", 1, "学会", P.REJECTED, DAY0, {P.ACCEPTED: _at(1), P.REJECTED: _at(2)}
    )
    steps = [step.demands for step in metrics.funnel([demand], [pairing])]
    assert steps == [1, 1, 1, 1, 0, 0]
    assert metrics.gaps([demand], [pairing], {})[0].reason == "rejected"


def test_durations_read_in_the_largest_whole_unit() -> None:
    assert metrics.duration_text(None) == "—"
    assert metrics.duration_text(2.25) == "2.2 天"
    assert metrics.duration_text(0.5) == "12.0 小时"
    assert metrics.duration_text(1 / 24 / 4) == "15 分钟"
    assert metrics.days_between(_at(2), _at(1)) is None


def test_sheet_titles_are_valid_and_unique() -> None:
    names = ["中国材料研究学会", "a/b:c*d?[e]", "x" * 40, "x" * 40 + "y", ""]
    titles = sheet_titles(names)
    assert titles["a/b:c*d?[e]"] == "a_b_c_d__e_"
    assert len(set(titles.values())) == len(names)
    assert all(0 < len(title) <= 31 for title in titles.values())
    assert "汇总" not in titles.values()


def test_charts_are_png_images_in_a_chinese_font() -> None:
    steps = [
        metrics.FunnelStep(key, label, n, None)
        for (key, label), n in zip(metrics.FUNNEL_STEPS, [9, 8, 6, 4, 2, 1], strict=True)
    ]
    rows = [metrics.LoadRow("society", i, f"学会{i}", 5, i % 6, 0, 0) for i in range(30)]
    stages = [metrics.StageMedian(key, label, 3, 1.5) for key, label in metrics.STAGES]
    drawn = [
        charts.funnel_chart(steps),
        charts.load_chart(rows),
        charts.stage_chart(stages),
        charts.gap_chart({"capacity": 3}, metrics.GAP_MESSAGES),
        charts.programme_chart({"创新争先行动": steps}),
    ]
    for png in drawn:
        image = Image.open(io.BytesIO(png))
        image.verify()
        assert image.format == "PNG"
        assert image.size[0] >= 800
    if charts.chinese_font() is None:
        pytest.skip("no Chinese font installed (Debian: fonts-wqy-microhei)")
    assert charts.chinese_font() in charts.CJK_FAMILIES


def test_the_stage_chart_speaks_one_unit_on_its_axis_and_its_labels() -> None:
    for medians, unit in (
        ([0.0004, 0.001, None], "分钟"),
        ([0.2, 0.5, None], "小时"),
        ([0.01, 3.5, 1.0], "天"),
    ):
        stages = [
            metrics.StageMedian(key, label, 2, median)
            for (key, label), median in zip(metrics.STAGES, medians, strict=False)
        ]
        axes = Figure().subplots()
        assert charts.draw_stages(axes, stages) == unit
        assert axes.get_ylabel().startswith(unit)
        labels = [text.get_text() for text in axes.texts if text.get_text() != "—"]
        assert labels
        assert all(label.endswith(f" {unit}") for label in labels), labels
        # The bars stand at the values their labels give.
        heights = [bar.get_height() for bar in axes.patches]
        assert [f"{height:.1f} {unit}" for height in heights if height] == labels


def test_the_load_chart_legend_covers_no_bar() -> None:
    rows = [metrics.LoadRow("society", i, f"学会{i}", 5, 5 - i % 6, 0, 0) for i in range(charts.LOAD_BARS)]
    for shown in (rows, rows[:1], rows[:3]):
        figure = Figure(figsize=(7.5, 0.32 * len(shown) + 1.4), layout="constrained")
        axes = figure.subplots()
        charts.draw_load(figure, axes, shown)
        renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
        figure.draw(renderer)
        legends = [*figure.legends, *([axes.get_legend()] if axes.get_legend() else [])]
        assert len(legends) == 1
        legend = legends[0].get_window_extent(renderer)
        for bar in axes.patches:
            assert not legend.overlaps(bar.get_window_extent(renderer)), "the legend covers a bar"
