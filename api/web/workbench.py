"""The 工作台: the landing page that says what is waiting, with links to the filtered worklists,
the last rounds and whether a matching worker is taking rounds."""

from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import Demand, DemandStatus
from api.deps import SessionDep
from api.matching.models import MatchRound, Pairing, PairingStatus, RoundStatus
from api.programmes import reports
from api.programmes.periods import china_today
from api.web.deps import WebStaffDep
from api.web.matching_pages import ROUND_STATUS_LABELS
from api.web.routing import WebRoute
from api.web.templating import render
from api.web.worker_state import worker_state

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LAST_ROUNDS: Final = 5


@dataclass(frozen=True, slots=True)
class Tile:
    """One count on the workbench and the worklist it opens."""

    label: str
    count: int
    url: str
    note: str = ""


def demand_count(session: Session, status: DemandStatus) -> int:
    """How many demands are in ``status``."""
    return session.scalar(select(func.count()).select_from(Demand).where(Demand.status == status)) or 0


def pairing_count(session: Session, status: PairingStatus, round_id: int | None = None) -> int:
    """How many pairings (of one round, or of all) are in ``status``."""
    query = select(func.count()).select_from(Pairing).where(Pairing.status == status)
    if round_id is not None:
        query = query.where(Pairing.round_id == round_id)
    return session.scalar(query) or 0


def latest_finished_round(session: Session) -> MatchRound | None:
    """The newest round that succeeded: its proposals are the ones waiting for review."""
    query = select(MatchRound).where(MatchRound.status == RoundStatus.SUCCEEDED)
    return session.scalars(query.order_by(MatchRound.id.desc()).limit(1)).first()


def tiles(session: Session) -> list[Tile]:
    """The counts of the workbench, each linking to the worklist it counts."""
    latest = latest_finished_round(session)
    proposed_url = f"/pairings?round={latest.id}&status=proposed" if latest else "/rounds"
    demand_tiles = [
        ("待审核", DemandStatus.SUBMITTED, "已提交的需求"),
        ("待发布", DemandStatus.IN_REVIEW, "审核中的需求"),
    ]
    pairing_tiles = [
        ("待对接", PairingStatus.ACCEPTED, "已接受、尚未对接"),
        ("已对接", PairingStatus.CONTACTED, "待记录签约"),
        ("已签约", PairingStatus.AGREEMENT, "签订技术合同的配对"),
    ]
    proposed = Tile(
        "本轮待确认",
        pairing_count(session, PairingStatus.PROPOSED, latest.id) if latest else 0,
        proposed_url,
        f"第 {latest.id} 轮推荐的配对" if latest else "还没有完成的匹配轮次",
    )
    return [
        *(
            Tile(label, demand_count(session, s), f"/demands?status={s.value}", note)
            for label, s, note in demand_tiles
        ),
        proposed,
        *(
            Tile(label, pairing_count(session, s), f"/pairings?status={s.value}", note)
            for label, s, note in pairing_tiles
        ),
    ]


@router.get("/")
def workbench(request: Request, session: SessionDep, _staff: WebStaffDep) -> Response:
    """What is waiting today: counts linking to worklists, reports due, the last rounds, the worker."""
    rounds = session.scalars(select(MatchRound).order_by(MatchRound.id.desc()).limit(LAST_ROUNDS)).all()
    due = [item for item in reports.due(session, on=china_today()) if item.missing]
    context = {
        "tiles": tiles(session),
        "due": due,
        "rounds": rounds,
        "worker": worker_state(session),
        "round_status_labels": ROUND_STATUS_LABELS,
    }
    return render(request, "workbench.html", context)
