"""A demand's history as staff read it: its own events (submission, edits, review) and those of its
pairings (接受, 拒绝, 对接, 签约, 结束), in one list, newest first."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Demand, DemandEvent, DemandStatus
from api.demands.schemas import LABELS
from api.demands.service import STATUS_LABELS
from api.matching.models import Pairing, PairingEvent
from api.matching.review import ACTION_LABELS


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of the history: when, who (None for the enterprise or the system) and what."""

    at: datetime
    who: str | None
    text: str


def demand_history(session: Session, demand: Demand) -> list[HistoryEntry]:
    """The demand's and its pairings' events, newest first."""
    entries = [_demand_entry(event) for event in demand.events]
    query = (
        select(PairingEvent, Pairing)
        .join(Pairing, PairingEvent.pairing_id == Pairing.id)
        .where(Pairing.demand_id == demand.id)
    )
    entries += [_pairing_entry(event, pairing) for event, pairing in session.execute(query).tuples()]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


def _demand_entry(event: DemandEvent) -> HistoryEntry:
    if event.kind == "submitted":
        text = "企业提交"
    elif event.kind == "status_changed":
        text = f"将状态由“{_status(event.from_status)}”改为“{_status(event.to_status)}”"
        text += f"，原因：{event.reason}" if event.reason else ""
    elif event.kind == "updated":
        text = "修改了 " + "、".join(LABELS.get(name, name) for name in event.changes or {})
    elif event.kind == "late_admitted":
        text = event.reason or "补报"
    else:
        text = event.reason or "其他变更"
    staff_action = event.kind in ("status_changed", "updated")
    return HistoryEntry(event.created_at, event.staff_name or ("系统" if staff_action else None), text)


def _status(status: DemandStatus | None) -> str:
    return STATUS_LABELS[status] if status is not None else ""


def _pairing_entry(event: PairingEvent, pairing: Pairing) -> HistoryEntry:
    action = ACTION_LABELS.get(event.action, "更改")
    text = f"{action}与“{pairing.provider_name or '对接方'}”的配对（第 {pairing.round_id} 轮）"
    data = event.data or {}
    if event.action == "contact":
        text += f"：{data.get('contact_date', '')} 对接" + (
            f"，{data['contact_notes']}" if data.get("contact_notes") else ""
        )
    elif event.action == "agreement":
        text += f"：{data.get('agreement_type', '')} {data.get('agreement_amount_wan', '')} 万元"
    elif data.get("reason"):
        text += f"，原因：{data['reason']}"
    return HistoryEntry(event.created_at, event.staff_name, text)


def enterprise_history(demand: Demand) -> list[HistoryEntry]:
    """What the enterprise reads of its demand's history: submission and review, with reasons; newest first.

    Staff names, edits and pairings a staff member has not accepted stay out.
    """
    shown = [
        _demand_entry(event)
        for event in demand.events
        if event.kind == "submitted" or (event.kind == "status_changed" and event.to_status is not None)
    ]
    return sorted(
        (HistoryEntry(entry.at, None, entry.text) for entry in shown), key=lambda e: e.at, reverse=True
    )
