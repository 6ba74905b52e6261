"""Bulk actions of the worklists: one action over the checked rows, in the request's one transaction.

A row the action does not fit (already published, changed by someone else meanwhile) is left as it
is and named in the result; every other row changes. An unexpected error rolls the whole request back.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy.orm import Session

from api.db.models import DemandStatus, StaffUser
from api.demands import service as demands
from api.errors import HuiqiError, InvalidTransitionError
from api.matching import review
from api.matching.schemas import PairingTransition
from api.validation import row_id

# Each demand action as the steps of the review workflow it takes; a step already passed is skipped,
# so 发布 takes a 已提交 demand through 审核中 (both steps recorded in its history).
DEMAND_ACTIONS: Final[dict[str, tuple[DemandStatus, ...]]] = {
    "review": (DemandStatus.IN_REVIEW,),
    "publish": (DemandStatus.IN_REVIEW, DemandStatus.PUBLISHED),
    "return": (DemandStatus.IN_REVIEW, DemandStatus.RETURNED),
}
DEMAND_ACTION_LABELS: Final = {"review": "审核（转为审核中）", "publish": "发布", "return": "退回"}
PAIRING_ACTIONS: Final = ("accept", "reject")
REASON_REQUIRED: Final = frozenset({"return", "reject"})
SHOWN_PROBLEMS: Final = 8
MAX_ROWS: Final = 500


@dataclass
class BulkResult:
    """How many rows changed, and why the others did not."""

    label: str
    changed: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One sentence for the notice after the action."""
        text = f"批量{self.label}：成功 {self.changed} 条"
        if not self.problems:
            return text + "。"
        shown = "；".join(self.problems[:SHOWN_PROBLEMS])
        hidden = len(self.problems) - SHOWN_PROBLEMS
        more = f"；另有 {hidden} 条同样未改" if hidden > 0 else ""
        return f"{text}，未改 {len(self.problems)} 条（{shown}{more}）。"


class BulkInputError(Exception):
    """The bulk form itself is incomplete: nothing was tried. ``errors`` go beside the form's fields."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def check_form(action: str, actions: Iterable[str], ids: list[str], reason: str) -> None:
    """Refuse before changing anything: no action, no row checked, or a missing reason."""
    errors: dict[str, str] = {}
    if action not in actions:
        errors["action"] = "请选择要执行的操作"
    if not ids:
        errors["ids"] = "请先勾选要处理的行"
    elif len(ids) > MAX_ROWS:
        errors["ids"] = f"一次最多处理 {MAX_ROWS} 条，请分批勾选"
    if action in REASON_REQUIRED and not reason:
        errors["reason"] = "退回或拒绝时须填写原因（会告知对方）"
    if errors:
        raise BulkInputError(errors)


def apply_to_demands(
    session: Session, *, ids: list[str], action: str, reason: str, staff: StaffUser
) -> BulkResult:
    """Take each checked demand through the steps of ``action`` it has not passed yet."""
    check_form(action, DEMAND_ACTIONS, ids, reason)
    result = BulkResult(DEMAND_ACTION_LABELS[action])
    steps = DEMAND_ACTIONS[action]
    for demand_id in _ids(ids, result):
        try:
            with session.begin_nested():
                _walk(session, demand_id, steps, reason or None, staff)
        except HuiqiError as error:
            result.problems.append(f"编号 {demand_id}：{error.detail}")
        else:
            result.changed += 1
    return result


def _walk(
    session: Session, demand_id: int, steps: tuple[DemandStatus, ...], reason: str | None, staff: StaffUser
) -> None:
    demand = demands.get_demand(session, demand_id=demand_id)
    if demand.status == steps[-1]:
        raise InvalidTransitionError(f"已是“{demands.STATUS_LABELS[demand.status]}”，无需再改")
    # Start at the step after the demand's status; a status not on the path fails at the first step.
    start = steps.index(demand.status) + 1 if demand.status in steps else 0
    for status in steps[start:]:
        step_reason = reason if status in demands.REASON_REQUIRED or status == steps[-1] else None
        demands.change_status(session, demand_id=demand_id, to=status, reason=step_reason, staff=staff)


def apply_to_pairings(
    session: Session, *, ids: list[str], action: str, reason: str, staff: StaffUser
) -> BulkResult:
    """Accept or reject each checked pairing, at the version the page showed (``"id:version"``)."""
    check_form(action, PAIRING_ACTIONS, ids, reason)
    result = BulkResult(review.ACTION_LABELS[action])
    for value in ids:
        pairing_id, _, version = value.partition(":")
        number, seen = row_id(pairing_id), row_id(version)
        if number is None or seen is None:
            result.problems.append("有一行的编号无法识别，请刷新页面后重试")
            continue
        change = PairingTransition(action=action, version=seen, reason=reason or None)
        try:
            with session.begin_nested():
                review.transition(session, pairing_id=number, change=change, version=None, staff=staff)
        except HuiqiError as error:
            result.problems.append(f"配对 {number}：{error.detail}")
        else:
            result.changed += 1
    return result


def _ids(values: list[str], result: BulkResult) -> list[int]:
    found: list[int] = []
    for value in values:
        number = row_id(value)
        if number is None:
            result.problems.append("有一行的编号无法识别，请刷新页面后重试")
        else:
            found.append(number)
    return list(dict.fromkeys(found))
