"""Request and answer bodies of matching: round scopes, rounds, match lists, pairings and transitions."""

from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from api.db.models import DemandStatus
from api.matching.models import AgreementType, PairingStatus, RoundStage, RoundStatus
from api.validation import Day, InputModel, RowId, invalid

Level = Literal["society", "branch", "expert"]
# A capacity above any number of demands a provider could take changes nothing; the bound keeps the
# solver's integer arrays far from overflow.
MAX_CAPACITY: Final = 1_000_000
Capacity = Annotated[int, Field(ge=0, le=MAX_CAPACITY)]
Wanted = Annotated[int, Field(ge=0, le=10)]


class PairRef(InputModel):
    """A (demand, provider) pair of the round's provider level."""

    demand_id: RowId = Field(title="需求编号")
    provider_id: RowId = Field(title="服务方编号")


# A weight per depth, finite and positive: the solver refuses anything else, and the round would fail later.
DepthWeight = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class RoundScope(InputModel):
    """What a round matches, and how. Every field is optional: an empty body matches every published
    demand (reviewed and awaiting matching) against every active society."""

    demand_ids: list[RowId] | None = Field(
        None, title="需求范围", description="只匹配这些需求；不填则按状态等条件筛选"
    )
    statuses: list[DemandStatus] = Field(
        default_factory=lambda: [DemandStatus.PUBLISHED],
        title="需求状态",
        description="需求状态，默认只含已发布（审核通过）",
    )
    region: str | None = Field(None, pattern=r"^\d{2,12}$", title="地区代码", description="行政区划代码前缀")
    industry: str | None = Field(None, max_length=5, title="行业代码", description="行业代码前缀")
    level: Level = Field("society", title="匹配对象", description="匹配对象：学会、分支机构或专家")
    provider_ids: list[RowId] | None = Field(None, title="服务方范围", description="只在这些服务方中匹配")
    capacities: dict[RowId, Capacity] = Field(
        default_factory=dict, title="本轮容量", description="本轮容量：服务方 id -> 最多对接需求数"
    )
    wanted: int = Field(1, ge=1, le=10, title="每个需求的对接数", description="每个需求希望对接的服务方数")
    wanted_per_demand: dict[RowId, Wanted] = Field(
        default_factory=dict, title="个别需求的对接数", description="个别需求的对接数"
    )
    depth_discount: list[DepthWeight] | None = Field(
        default_factory=lambda: [1.0, 0.8, 0.6],
        max_length=10,
        title="对接顺位权重",
        description="同一需求第 1、2、3… 个服务方的权重：0 到 1 之间，逐位不增",
    )
    candidates: int = Field(
        20, ge=1, le=500, title="候选数", description="每个需求的候选服务方数（不足时按对偶价格扩大）"
    )
    min_score: float = Field(
        0.02, ge=0, le=1, title="最低匹配度（÷100）", description="匹配度低于此值×100 的服务方不作候选"
    )
    min_match_degree: float | None = Field(
        None,
        ge=0,
        le=100,
        title="最低匹配度",
        description="0–100；给出时取代 min_score（min_score = 它 ÷ 100）",
    )
    forbidden: list[PairRef] = Field(default_factory=list, title="禁止的配对", description="本轮禁止的配对")
    locked: list[PairRef] = Field(default_factory=list, title="锁定的配对", description="本轮必须保留的配对")
    preference_bonus: float = Field(0.05, ge=0, le=1, title="意向加分", description="企业指定服务方的加分")
    stability_bonus: float = Field(
        0.02, ge=0, le=1, title="稳定加分", description="上一轮已提出的配对的加分：只有明显更好的配对才替换它"
    )
    time_limit: int = Field(
        1800,
        ge=10,
        le=86_400,
        title="时间限制（秒）",
        description="本轮最长运行时间（秒）：超过即停止并记为失败，不保存任何配对",
    )

    @field_validator("depth_discount")
    @classmethod
    def _non_increasing(cls, weights: list[float] | None) -> list[float] | None:
        # A later provider of the same demand never weighs more than an earlier one (the solver's rule).
        if weights and any(later > earlier for earlier, later in pairwise(weights)):
            raise invalid("depth_discount_rising")
        return weights

    @model_validator(mode="after")
    def _degree_sets_the_threshold(self) -> "RoundScope":
        # Staff set the threshold as a 匹配度 (0-100), the number every page shows.
        if self.min_match_degree is not None:
            self.min_score = self.min_match_degree / 100
        return self


class RoundCreated(BaseModel):
    """The queued round."""

    id: int
    status: RoundStatus


class RoundOut(BaseModel):
    """A round's state and outcome."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: RoundStatus
    stage: RoundStage | None
    percent: int
    scope: dict[str, Any]
    counts: dict[str, Any]
    timings: dict[str, float]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class Reason(BaseModel):
    """A shared term, its contribution to the score and the demand field it came from."""

    term: str
    weight: float
    field: str


def match_degree(score: float) -> int:
    """The 匹配度 staff read, 0-100: the calibrated score in percent (``RankingConfig.calibration``)."""
    return max(0, min(100, round(100 * score)))


class MatchItem(BaseModel):
    """One provider of a demand's ranked list."""

    rank: int
    provider_level: Level
    provider_id: int
    provider_name: str
    score: float

    @computed_field(description="匹配度（0–100）：同样分数的配对中约有这一比例被确认为合适")  # type: ignore[prop-decorator]
    @property
    def match_degree(self) -> int:
        """The score as the 0-100 匹配度."""
        return match_degree(self.score)

    reasons: list[Reason]
    closest_sentence: str | None = Field(
        default=None, description="服务方资料中与需求语义最接近的一句（按句向量）；无句向量时为空"
    )
    demand_sentence: str | None = Field(
        default=None,
        description="需求名称或说明中与上面那句最对应的一句（原文照录，可在需求原文中标出）；"
        "无句向量时为含共同关键词最多的一句；都没有时为空",
    )
    explanation: str
    capacity: int
    remaining_capacity: int | None
    constraints: list[str]
    excluded: bool


class MatchList(BaseModel):
    """A demand's provisional ranked list."""

    demand_id: int
    level: Level
    current_round_id: int | None
    items: list[MatchItem]
    notice: str | None = Field(
        default=None, description="排序未用上语义向量时给工作人员的说明（模型不可用或向量仍在计算中）"
    )


class PairingOut(BaseModel):
    """A pairing with its lifecycle fields."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    round_id: int
    demand_id: int
    provider_level: Level
    provider_id: int
    provider_name: str
    score: float
    rank: int
    reasons: list[Reason]
    status: PairingStatus
    reject_reason: str | None
    contact_date: date | None
    contact_notes: str | None
    agreement_type: AgreementType | None
    agreement_amount_wan: Decimal | None
    version: int
    updated_at: datetime


class PairingPage(BaseModel):
    """One page of a round's pairings."""

    items: list[PairingOut]
    total: int


class PairingTransition(InputModel):
    """A change of a pairing. ``version`` (or the If-Match header) must be the version last read."""

    action: Literal["accept", "reject", "lock", "forbid", "contact", "agreement", "close"] = Field(
        title="操作"
    )
    version: RowId | None = Field(None, title="版本号")
    reason: str | None = Field(None, max_length=500, title="原因")
    contact_date: Day | None = Field(None, title="对接日期")
    contact_notes: str | None = Field(None, max_length=2000, title="对接记录")
    agreement_type: AgreementType | None = Field(None, title="合同类型")
    agreement_amount_wan: Decimal | None = Field(
        None, ge=0, le=10_000_000, decimal_places=2, title="合同金额（万元）"
    )


class PairingEventOut(BaseModel):
    """One entry of a pairing's history."""

    model_config = ConfigDict(from_attributes=True)

    action: str
    from_status: PairingStatus | None
    to_status: PairingStatus | None
    data: dict[str, Any] | None
    staff_name: str | None
    created_at: datetime


class PairingDetail(PairingOut):
    """A pairing with its history."""

    events: list[PairingEventOut]
