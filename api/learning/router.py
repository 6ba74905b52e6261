"""HTTP routes of learning from staff decisions: the switch (admins turn it) and its audit (staff)."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, StrictBool

from api.deps import SessionDep, require_json
from api.learning import service
from api.security.roles import AdminDep, ReviewerDep
from api.validation import MAX_ROW_ID, InputModel

router = APIRouter(tags=["learning"])


class LearningOut(BaseModel):
    """The switch and the decisions it governs."""

    enabled: bool = Field(description="员工决定是否参与排名")
    changed_at: datetime | None = Field(description="最近一次切换的时间；从未切换为空")
    changed_by: str | None = Field(description="最近一次切换的工作人员")
    accepted: dict[str, int] = Field(
        description="各层级（society/branch/expert）计入的接受、对接、签约配对数"
    )
    rejected: dict[str, int] = Field(description="各层级计入的拒绝配对数")


class LearningIn(InputModel):
    """Turn learning from staff decisions on or off."""

    enabled: StrictBool = Field(title="是否开启", description="true 开启，false 关闭")


class LearningEventOut(BaseModel):
    """One change of what the ranking learns, with its effect now."""

    id: int
    created_at: datetime = Field(description="时间")
    kind: Literal["decision", "switch"] = Field(description="decision 员工决定；switch 开关")
    enabled: bool = Field(description="此后学习是否开启")
    staff_name: str = Field(description="操作的工作人员")
    pairing_id: int | None = Field(description="配对编号")
    demand_id: int | None = Field(description="需求编号")
    provider_level: str | None = Field(description="单位层级")
    provider_id: int | None = Field(description="单位编号")
    provider_name: str = Field(description="单位名称")
    action: str | None = Field(description="配对操作：accept/reject/contact/agreement/close/forbid")
    status: str | None = Field(description="操作后的配对状态")
    before: float = Field(description="此前该决定在排名中的分量（+1 加强，负数减弱，0 不计）")
    after: float = Field(description="此后的分量")
    change: str = Field(description="改变了什么")
    effect: str = Field(description="目前的效果")
    demands_moved: int = Field(description="目前受其影响的需求数")
    amount: float = Field(description="对每个受影响需求中该单位的调整（标准差）")


class LearningEventPage(BaseModel):
    """A page of the audit, newest first."""

    items: list[LearningEventOut]
    total: int
    page: int
    page_size: int


def _out(state: service.LearningState) -> LearningOut:
    return LearningOut(
        enabled=state.enabled,
        changed_at=state.changed_at,
        changed_by=state.changed_by,
        accepted=state.accepted,
        rejected=state.rejected,
    )


@router.get("/learning", response_model=LearningOut)
def learning_switch(session: SessionDep, _staff: ReviewerDep) -> LearningOut:
    """Whether staff decisions move the ranking, and how many count."""
    return _out(service.learning_state(session))


@router.put("/learning", response_model=LearningOut, dependencies=[Depends(require_json)])
def turn_learning(payload: LearningIn, session: SessionDep, admin: AdminDep) -> LearningOut:
    """Turn learning from staff decisions on or off (admins); each change is audited."""
    return _out(service.set_learning(session, enabled=payload.enabled, staff=admin))


@router.get("/learning/events", response_model=LearningEventPage)
def learning_events(
    session: SessionDep,
    _staff: ReviewerDep,
    level: Annotated[
        Literal["society", "branch", "expert"] | None,
        Query(title="单位层级", description="society/branch/expert"),
    ] = None,
    provider_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, title="单位编号")] = None,
    page: Annotated[int, Query(ge=1, le=100_000, title="页码")] = 1,
    page_size: Annotated[int, Query(ge=1, le=200, title="每页条数")] = 50,
) -> LearningEventPage:
    """The audit of learning: which decision changed which provider's standing, when, by whom, and
    its effect now."""
    found = service.event_page(session, level=level, provider_id=provider_id, page=page, page_size=page_size)
    return LearningEventPage(
        items=[
            LearningEventOut(
                id=view.event.id,
                created_at=view.event.created_at,
                kind="switch" if view.event.kind == "switch" else "decision",
                enabled=view.event.enabled,
                staff_name=view.event.staff_name,
                pairing_id=view.event.pairing_id,
                demand_id=view.event.demand_id,
                provider_level=view.event.provider_level,
                provider_id=view.event.provider_id,
                provider_name=view.event.provider_name,
                action=view.event.action,
                status=view.event.status,
                before=view.event.before,
                after=view.event.after,
                change=view.change,
                effect=view.effect,
                demands_moved=view.demands_moved,
                amount=view.amount,
            )
            for view in found.items
        ],
        total=found.total,
        page=found.page,
        page_size=found.page_size,
    )
