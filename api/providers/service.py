"""Rules for societies, branches, experts and demand preferences. Keyword arguments; flush, never commit.

Every write re-tokenizes the row's own profile documents (``refresh_tokens``) so that matching rounds
read stored terms and never tokenize again.
"""

from collections.abc import Sequence
from typing import Any, Final, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.db.concurrency import flush_unique, locked
from api.db.models import Demand, DemandStatus, StaffUser
from api.errors import ConflictError, NotFoundError, RequestInvalidError, field_error
from api.providers import repository
from api.providers.models import (
    Branch,
    DemandPreference,
    Expert,
    ExpertPost,
    ProviderLevel,
    Society,
)
from api.providers.profiles import refresh_tokens
from api.providers.repository import ExpertFilter, SocietyFilter
from api.providers.schemas import (
    BranchCreate,
    BranchPatch,
    ExpertCreate,
    ExpertPatch,
    PostIn,
    PreferenceIn,
    SocietyCreate,
    SocietyPatch,
)

LEVEL_LABELS: Final = {
    ProviderLevel.SOCIETY: "学会",
    ProviderLevel.BRANCH: "分会",
    ProviderLevel.EXPERT: "专家",
}
Model = TypeVar("Model", bound=BaseModel)


class DuplicateProviderError(ConflictError):
    """A society, branch or expert with the same name or code exists already."""

    code = "duplicate"


# --- shared helpers ---------------------------------------------------------------------------------


def _merged(row: object, patch: BaseModel, schema: type[Model], exclude: Sequence[str] = ()) -> Model:
    """The row's fields overwritten by the patch, validated as a whole by the create schema."""
    names = [name for name in schema.model_fields if name not in exclude]
    current = {name: getattr(row, name) for name in names}
    return schema.model_validate({**current, **patch.model_dump(exclude_unset=True, exclude=set(exclude))})


def _assign(row: object, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)


def _flush_unique(session: Session, detail: str) -> None:
    flush_unique(session, lambda: DuplicateProviderError(detail))


def _page(page: int, page_size: int) -> dict[str, int]:
    return {"offset": (page - 1) * page_size, "limit": page_size}


# --- societies --------------------------------------------------------------------------------------


def _check_society_unique(session: Session, payload: SocietyCreate, own_id: int | None) -> None:
    other = repository.society_by(session, name=payload.name, code=payload.code)
    if other is not None and other.id != own_id:
        same = "名称" if other.name == payload.name else "代码"
        raise DuplicateProviderError(f"已有{same}相同的学会：{other.name}（编号 {other.id}）")


def create_society(session: Session, *, payload: SocietyCreate) -> Society:
    """Store a new society."""
    _check_society_unique(session, payload, None)
    society = Society(**payload.model_dump())
    refresh_tokens(society)
    session.add(society)
    _flush_unique(session, f"已有名称或代码相同的学会：{payload.name}")
    return society


def get_society(session: Session, *, society_id: int) -> Society:
    """The society, or 404."""
    society = repository.get_society(session, society_id)
    if society is None:
        raise NotFoundError(f"学会 {society_id} 不存在")
    return society


def list_societies(
    session: Session, *, where: SocietyFilter, page: int, page_size: int
) -> tuple[list[Society], int]:
    """One page of societies and the number of all matches."""
    return repository.search_societies(session, where, **_page(page, page_size))


def update_society(session: Session, *, society_id: int, patch: SocietyPatch) -> Society:
    """Apply a staff edit; the edited society must pass the same checks as a new one."""
    society = get_society(session, society_id=society_id)
    merged = _merged(society, patch, SocietyCreate)
    _check_society_unique(session, merged, society.id)
    _assign(society, merged.model_dump())
    refresh_tokens(society)
    _flush_unique(session, f"已有名称或代码相同的学会：{merged.name}")
    return society


def delete_society(session: Session, *, society_id: int) -> None:
    """Delete a society with its branches and posts, and the preferences that name them."""
    society = get_society(session, society_id=society_id)
    branch_ids = [branch.id for branch in society.branches]
    repository.delete_preferences_for(session, ProviderLevel.BRANCH, branch_ids)
    repository.delete_preferences_for(session, ProviderLevel.SOCIETY, [society.id])
    session.delete(society)
    session.flush()


# --- branches ---------------------------------------------------------------------------------------


def _check_branch_unique(
    session: Session, society_id: int, payload: BranchCreate, own_id: int | None
) -> None:
    other = repository.branch_by(session, society_id=society_id, name=payload.name, code=payload.code)
    if other is not None and other.id != own_id:
        raise DuplicateProviderError(f"已有名称或代码相同的分会：{other.name}（编号 {other.id}）")


def create_branch(session: Session, *, society_id: int, payload: BranchCreate) -> Branch:
    """Store a new branch of a society."""
    society = get_society(session, society_id=society_id)
    _check_branch_unique(session, society.id, payload, None)
    branch = Branch(society=society, **payload.model_dump())
    refresh_tokens(branch)
    session.add(branch)
    _flush_unique(session, f"已有名称或代码相同的分会：{payload.name}")
    return branch


def get_branch(session: Session, *, branch_id: int) -> Branch:
    """The branch, or 404."""
    branch = repository.get_branch(session, branch_id)
    if branch is None:
        raise NotFoundError(f"分会 {branch_id} 不存在")
    return branch


def list_branches(session: Session, *, society_id: int) -> list[Branch]:
    """The branches of a society (404 when the society does not exist)."""
    get_society(session, society_id=society_id)
    return repository.branches_of(session, society_id)


def update_branch(session: Session, *, branch_id: int, patch: BranchPatch) -> Branch:
    """Apply a staff edit to a branch."""
    branch = get_branch(session, branch_id=branch_id)
    merged = _merged(branch, patch, BranchCreate)
    _check_branch_unique(session, branch.society_id, merged, branch.id)
    _assign(branch, merged.model_dump())
    refresh_tokens(branch)
    _flush_unique(session, f"已有名称或代码相同的分会：{merged.name}")
    return branch


def delete_branch(session: Session, *, branch_id: int) -> None:
    """Delete a branch, its posts and the preferences that name it."""
    branch = get_branch(session, branch_id=branch_id)
    repository.delete_preferences_for(session, ProviderLevel.BRANCH, [branch.id])
    session.delete(branch)
    session.flush()


# --- experts ----------------------------------------------------------------------------------------


def _post_errors(session: Session, posts: Sequence[PostIn]) -> list[Any]:
    errors, seen = [], set()
    for index, post in enumerate(posts):
        if repository.get_society(session, post.society_id) is None:
            errors.append(
                field_error(f"posts[{index}].society_id", "society_not_found", value=post.society_id)
            )
            continue
        branch = repository.get_branch(session, post.branch_id) if post.branch_id is not None else None
        if post.branch_id is not None and (branch is None or branch.society_id != post.society_id):
            errors.append(
                field_error(f"posts[{index}].branch_id", "branch_not_in_society", value=post.branch_id)
            )
        if (post.society_id, post.branch_id) in seen:
            errors.append(field_error(f"posts[{index}]", "post_repeated"))
        seen.add((post.society_id, post.branch_id))
    return errors


def _set_posts(session: Session, expert: Expert, posts: Sequence[PostIn]) -> None:
    if errors := _post_errors(session, posts):
        raise RequestInvalidError(errors=errors)
    expert.posts = [ExpertPost(society_id=p.society_id, branch_id=p.branch_id, role=p.role) for p in posts]


def _check_expert_unique(session: Session, code: str | None, own_id: int | None) -> None:
    other = repository.expert_by_code(session, code) if code else None
    if other is not None and other.id != own_id:
        raise DuplicateProviderError(f"编号 {code} 已属于专家 {other.name}（编号 {other.id}）")


def create_expert(session: Session, *, payload: ExpertCreate) -> Expert:
    """Store a new expert with their posts."""
    _check_expert_unique(session, payload.code, None)
    expert = Expert(**payload.model_dump(exclude={"posts"}))
    _set_posts(session, expert, payload.posts)
    refresh_tokens(expert)
    session.add(expert)
    _flush_unique(session, f"专家编号 {payload.code} 已被使用")
    return expert


def get_expert(session: Session, *, expert_id: int) -> Expert:
    """The expert, or 404."""
    expert = repository.get_expert(session, expert_id)
    if expert is None:
        raise NotFoundError(f"专家 {expert_id} 不存在")
    return expert


def list_experts(
    session: Session, *, where: ExpertFilter, page: int, page_size: int
) -> tuple[list[Expert], int]:
    """One page of experts and the number of all matches."""
    return repository.search_experts(session, where, **_page(page, page_size))


def update_expert(session: Session, *, expert_id: int, patch: ExpertPatch) -> Expert:
    """Apply a staff edit; ``posts``, when given, replaces every post."""
    expert = get_expert(session, expert_id=expert_id)
    merged = _merged(expert, patch, ExpertCreate, exclude=("posts",))
    _check_expert_unique(session, merged.code, expert.id)
    _assign(expert, merged.model_dump(exclude={"posts"}))
    if patch.posts is not None:
        _set_posts(session, expert, patch.posts)
    refresh_tokens(expert)
    _flush_unique(session, f"专家编号 {merged.code} 已被使用")
    return expert


def delete_expert(session: Session, *, expert_id: int) -> None:
    """Delete an expert, their posts and the preferences that name them."""
    expert = get_expert(session, expert_id=expert_id)
    repository.delete_preferences_for(session, ProviderLevel.EXPERT, [expert.id])
    session.delete(expert)
    session.flush()


# --- demand preferences -----------------------------------------------------------------------------


def preferences_for(session: Session, *, demand_ids: Sequence[int]) -> list[DemandPreference]:
    """The preferences of these demands, for the matching rounds (prefer: bonus, refuse: forbidden)."""
    return repository.preferences_of(session, demand_ids) if demand_ids else []


def add_preference(
    session: Session, *, demand: Demand, payload: PreferenceIn, staff: StaffUser | None
) -> DemandPreference:
    """Record that the demand prefers or refuses a provider."""
    # The demand's row lock queues concurrent preferences of one demand, so the duplicate check
    # below sees a twin committed a moment ago (see api.db.concurrency).
    demand = locked(session, Demand, demand.id) or demand
    if demand.status is DemandStatus.CLOSED:
        raise ConflictError("需求已关闭，不能再修改对接意向")
    if not repository.provider_exists(session, payload.provider_level, payload.provider_id):
        label = LEVEL_LABELS[payload.provider_level]
        error = field_error("provider_id", "provider_not_found", value=payload.provider_id, level_label=label)
        raise RequestInvalidError(errors=[error])
    if repository.find_preference(session, demand.id, payload.provider_level, payload.provider_id):
        raise ConflictError("已对该对象填写过对接意向；如需更改，请先删除原意向")
    preference = DemandPreference(demand_id=demand.id, **payload.model_dump())
    preference.staff_id = staff.id if staff else None
    session.add(preference)
    flush_unique(session, lambda: ConflictError("已对该对象填写过对接意向；如需更改，请先删除原意向"))
    return preference


def remove_preference(session: Session, *, demand: Demand, preference_id: int) -> None:
    """Delete one of the demand's preferences."""
    if demand.status is DemandStatus.CLOSED:
        raise ConflictError("需求已关闭，不能再修改对接意向")
    preference = session.get(DemandPreference, preference_id)
    if preference is None or preference.demand_id != demand.id:
        raise NotFoundError(f"需求 {demand.id} 没有编号为 {preference_id} 的对接意向")
    session.delete(preference)
    session.flush()
