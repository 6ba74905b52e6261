"""HTTP route of encoding: how many texts still wait for their sentence vectors."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth.dependencies import StaffDep
from api.deps import SessionDep, SettingsDep
from api.encoding import service

router = APIRouter(tags=["encoding"])


class EncodingStatusOut(BaseModel):
    """Texts waiting for vectors of the current model, per kind of owner."""

    available: bool = Field(description="句向量模型是否可用")
    model: str = Field(description="模型名称")
    pending: dict[str, int] = Field(description="各类文本（demand/society/branch/expert）待编码数")
    total_pending: int = Field(description="待编码总数")
    notice: str | None = Field(description="给工作人员的提示；语义匹配完整时为空")


@router.get("/encoding", response_model=EncodingStatusOut)
def encoding_status(session: SessionDep, settings: SettingsDep, _staff: StaffDep) -> EncodingStatusOut:
    """How many demands and provider rows still wait for their sentence vectors."""
    current = service.status(session, service.encoder(settings.encoder))
    return EncodingStatusOut(
        available=current.available,
        model=current.model,
        pending=current.pending,
        total_pending=current.total_pending,
        notice=current.notice,
    )
