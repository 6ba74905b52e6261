"""HTTP routes: staff manage societies, branches and experts; enterprises state preferences on a demand."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, UploadFile, status

from api.auth.dependencies import OptionalStaffDep, StaffDep, require_credentials
from api.demands.service import open_demand
from api.deps import SecretDep, SessionDep, require_json
from api.providers import importer, service
from api.providers.models import CastGroup, SocietyLevel
from api.providers.repository import ExpertFilter, SocietyFilter
from api.providers.schemas import (
    BranchCreate,
    BranchOut,
    BranchPatch,
    ExpertCreate,
    ExpertOut,
    ExpertPatch,
    Page,
    PreferenceIn,
    PreferenceOut,
    SocietyCreate,
    SocietyOut,
    SocietyPatch,
    SocietySummary,
)
from api.reference import region_prefix
from api.security.roles import AdminDep
from api.validation import MAX_ROW_ID, ParameterText, PathId, RowId

router = APIRouter(tags=["providers"])

PageNumber = Annotated[int, Query(ge=1, le=MAX_ROW_ID)]
PageSize = Annotated[int, Query(ge=1, le=100)]
SearchText = Annotated[
    ParameterText | None, Query(max_length=100, title="查找文字", description="在名称、代码和说明中查找")
]
ReceiptToken = Annotated[str | None, Header(alias="X-Receipt-Token", description="提交需求时得到的回执凭证")]
JSON_BODY = [Depends(require_json)]
# Staff-or-enterprise routes: refuse anonymous callers before the body is even validated.
CREDENTIALED_JSON_BODY = [Depends(require_credentials), Depends(require_json)]


@router.get("/societies", response_model=Page[SocietySummary])
def list_societies(
    session: SessionDep,
    _staff: StaffDep,
    q: SearchText = None,
    level: Annotated[SocietyLevel | None, Query(description="级别")] = None,
    cast_group: Annotated[CastGroup | None, Query(description="科协学科组")] = None,
    active: Annotated[bool | None, Query(description="启用与否")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[SocietySummary]:
    """List societies (staff), in id order, with filters and the total count."""
    where = SocietyFilter(text=(q or "").strip() or None, level=level, cast_group=cast_group, active=active)
    items, total = service.list_societies(session, where=where, page=page, page_size=page_size)
    summaries = [SocietySummary.model_validate(item) for item in items]
    return Page[SocietySummary](items=summaries, total=total, page=page, page_size=page_size)


@router.post(
    "/societies", status_code=status.HTTP_201_CREATED, response_model=SocietyOut, dependencies=JSON_BODY
)
def create_society(payload: SocietyCreate, session: SessionDep, _admin: AdminDep) -> SocietyOut:
    """Add a society (staff)."""
    return SocietyOut.model_validate(service.create_society(session, payload=payload))


@router.get("/societies/{society_id}", response_model=SocietyOut)
def read_society(society_id: PathId, session: SessionDep, _staff: StaffDep) -> SocietyOut:
    """Read a society with its branches (staff)."""
    return SocietyOut.model_validate(service.get_society(session, society_id=society_id))


@router.patch("/societies/{society_id}", response_model=SocietyOut, dependencies=JSON_BODY)
def edit_society(
    society_id: PathId, patch: SocietyPatch, session: SessionDep, _admin: AdminDep
) -> SocietyOut:
    """Edit a society (staff); the result must pass the same checks as a new one."""
    return SocietyOut.model_validate(service.update_society(session, society_id=society_id, patch=patch))


@router.delete("/societies/{society_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_society(society_id: PathId, session: SessionDep, _admin: AdminDep) -> Response:
    """Delete a society with its branches and posts (staff); deactivating keeps its history."""
    service.delete_society(session, society_id=society_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/societies/{society_id}/branches", response_model=list[BranchOut])
def list_branches(society_id: PathId, session: SessionDep, _staff: StaffDep) -> list[BranchOut]:
    """List the branches of a society (staff)."""
    return [BranchOut.model_validate(b) for b in service.list_branches(session, society_id=society_id)]


@router.post(
    "/societies/{society_id}/branches",
    status_code=status.HTTP_201_CREATED,
    response_model=BranchOut,
    dependencies=JSON_BODY,
)
def create_branch(
    society_id: PathId, payload: BranchCreate, session: SessionDep, _admin: AdminDep
) -> BranchOut:
    """Add a branch to a society (staff)."""
    return BranchOut.model_validate(service.create_branch(session, society_id=society_id, payload=payload))


@router.get("/branches/{branch_id}", response_model=BranchOut)
def read_branch(branch_id: PathId, session: SessionDep, _staff: StaffDep) -> BranchOut:
    """Read a branch (staff)."""
    return BranchOut.model_validate(service.get_branch(session, branch_id=branch_id))


@router.patch("/branches/{branch_id}", response_model=BranchOut, dependencies=JSON_BODY)
def edit_branch(branch_id: PathId, patch: BranchPatch, session: SessionDep, _admin: AdminDep) -> BranchOut:
    """Edit a branch (staff)."""
    return BranchOut.model_validate(service.update_branch(session, branch_id=branch_id, patch=patch))


@router.delete("/branches/{branch_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_branch(branch_id: PathId, session: SessionDep, _admin: AdminDep) -> Response:
    """Delete a branch and its posts (staff)."""
    service.delete_branch(session, branch_id=branch_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/experts", response_model=Page[ExpertOut])
def list_experts(
    session: SessionDep,
    _staff: StaffDep,
    q: SearchText = None,
    society_id: Annotated[RowId | None, Query(description="任职学会编号")] = None,
    branch_id: Annotated[RowId | None, Query(description="任职分会编号")] = None,
    available: Annotated[bool | None, Query(description="可接受新需求")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="行政区划代码或其前缀")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[ExpertOut]:
    """List experts (staff), in id order, with filters and the total count."""
    where = ExpertFilter(
        text=(q or "").strip() or None,
        society_id=society_id,
        branch_id=branch_id,
        available=available,
        region_prefix=region_prefix(region) if region else None,
    )
    items, total = service.list_experts(session, where=where, page=page, page_size=page_size)
    experts = [ExpertOut.model_validate(item) for item in items]
    return Page[ExpertOut](items=experts, total=total, page=page, page_size=page_size)


@router.post(
    "/experts", status_code=status.HTTP_201_CREATED, response_model=ExpertOut, dependencies=JSON_BODY
)
def create_expert(payload: ExpertCreate, session: SessionDep, _admin: AdminDep) -> ExpertOut:
    """Add an expert with their posts (staff)."""
    return ExpertOut.model_validate(service.create_expert(session, payload=payload))


@router.get("/experts/{expert_id}", response_model=ExpertOut)
def read_expert(expert_id: PathId, session: SessionDep, _staff: StaffDep) -> ExpertOut:
    """Read an expert (staff)."""
    return ExpertOut.model_validate(service.get_expert(session, expert_id=expert_id))


@router.patch("/experts/{expert_id}", response_model=ExpertOut, dependencies=JSON_BODY)
def edit_expert(expert_id: PathId, patch: ExpertPatch, session: SessionDep, _admin: AdminDep) -> ExpertOut:
    """Edit an expert (staff); posts, when given, replace all posts."""
    return ExpertOut.model_validate(service.update_expert(session, expert_id=expert_id, patch=patch))


@router.delete("/experts/{expert_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_expert(expert_id: PathId, session: SessionDep, _admin: AdminDep) -> Response:
    """Delete an expert (staff)."""
    service.delete_expert(session, expert_id=expert_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/providers/import", response_model=importer.ImportReport)
def import_providers(
    file: UploadFile,
    session: SessionDep,
    _admin: AdminDep,
    level: Annotated[importer.ImportLevel, Query(description="society 学会 / branch 分会 / expert 专家")],
    mode: Annotated[
        importer.ImportMode, Query(description="strict 全部有效才导入 / keep_valid 导入有效行")
    ] = (importer.ImportMode.STRICT),
) -> importer.ImportReport:
    """Import societies, branches or experts from CSV or XLSX (staff), with a report per row."""
    rows = importer.read_upload(file.filename or "", file.file.read())
    return importer.import_rows(session, rows, level=level, mode=mode)


@router.get(
    "/demands/{demand_id}/preferences",
    response_model=list[PreferenceOut],
    dependencies=[Depends(require_credentials)],
)
def list_preferences(
    demand_id: PathId,
    session: SessionDep,
    secret: SecretDep,
    staff: OptionalStaffDep,
    receipt: ReceiptToken = None,
) -> list[PreferenceOut]:
    """The societies, branches or experts a demand prefers or refuses (staff, or the enterprise)."""
    demand = open_demand(session, demand_id=demand_id, staff=staff, receipt=receipt, secret=secret)
    preferences = service.preferences_for(session, demand_ids=[demand.id])
    return [PreferenceOut.model_validate(p) for p in preferences]


@router.post(
    "/demands/{demand_id}/preferences",
    status_code=status.HTTP_201_CREATED,
    response_model=PreferenceOut,
    dependencies=CREDENTIALED_JSON_BODY,
)
def add_preference(
    demand_id: PathId,
    payload: PreferenceIn,
    session: SessionDep,
    secret: SecretDep,
    staff: OptionalStaffDep,
    receipt: ReceiptToken = None,
) -> PreferenceOut:
    """Name a provider the demand wants (prefer) or refuses (refuse) (staff, or the enterprise)."""
    demand = open_demand(session, demand_id=demand_id, staff=staff, receipt=receipt, secret=secret)
    return PreferenceOut.model_validate(
        service.add_preference(session, demand=demand, payload=payload, staff=staff)
    )


@router.delete(
    "/demands/{demand_id}/preferences/{preference_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require_credentials)],
)
def remove_preference(
    demand_id: PathId,
    preference_id: PathId,
    session: SessionDep,
    secret: SecretDep,
    staff: OptionalStaffDep,
    receipt: ReceiptToken = None,
) -> Response:
    """Withdraw one preference of a demand (staff, or the enterprise)."""
    demand = open_demand(session, demand_id=demand_id, staff=staff, receipt=receipt, secret=secret)
    service.remove_preference(session, demand=demand, preference_id=preference_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
