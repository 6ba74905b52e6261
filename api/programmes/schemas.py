"""Request and response bodies of programmes, campaigns, standing units, activities and reports."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from api.programmes.models import (
    ActivityKind,
    CampaignStatus,
    FilingStatus,
    ReporterKind,
    TagTarget,
    UnitKind,
    UnitLevel,
    UnitProvider,
    UnitStatus,
)
from api.reference import normalize_region_code
from api.validation import FIELD_LABELS, Day, InputModel, RowId, blank_to_none, invalid, register_labels

# Labels are global by field name: the names other schemas label already (code, name, title, kind,
# level, org_name, society_id, provider_*) keep their labels.
register_labels(
    {
        "programme": "所属行动（项目）",
        "organiser": "组织单位",
        "regions": "征集地区",
        "channels": "报送渠道",
        "form": "征集表",
        "opens_on": "开始日期",
        "closes_on": "截止日期",
        "valid_until": "补报有效期",
        "target": "标注对象",
        "target_id": "对象编号",
        "enterprise_name": "企业名称",
        "demand_id": "需求编号",
        "pairing_id": "匹配编号",
        "established_on": "成立日期",
        "reporting_unit_id": "填报单位编号",
        "content": "活动内容",
        "outcomes": "主要成效",
        "publicity": "宣传工作情况",
        "occurred_on": "活动日期",
        "enterprises": "服务企业数",
        "participants": "参与人次",
        "experts": "参与专家数",
        "amount_wan": "金额（万元）",
        "report_table": "统计表",
        "unit": "填报单位编号",
        "period": "报告期",
        "table": "统计表",
        "row": "行",
        "text": "存在不足",
    }
)
# The command line loads these schemas without the providers' ones, which label the shared names.
for _field, _label in {"code": "代码", "name": "名称"}.items():
    FIELD_LABELS.setdefault(_field, _label)


def _region(value: str | None) -> str | None:
    return None if value is None else _region_required(value)


def _region_required(value: str) -> str:
    code = normalize_region_code(value)
    if code is None:
        raise invalid("region_code_unknown", value=value)
    return code


RegionCode = Annotated[str, AfterValidator(_region_required)]
OptionalRegion = Annotated[str | None, BeforeValidator(blank_to_none), AfterValidator(_region)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
OptionalText = Annotated[Annotated[str, Field(max_length=3000)] | None, BeforeValidator(blank_to_none)]
Amount = Annotated[Decimal, Field(ge=0, le=10_000_000, decimal_places=2)]
ReportTable = Literal[2, 3]


class _Input(InputModel):
    pass


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProgrammeCreate(_Input):
    """A new programme."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,29}$", description="英文小写代码，如 jqgc")]
    name: Annotated[str, Field(min_length=1, max_length=50, title="行动名称")]
    description: OptionalText = Field(default=None, title="行动说明")


class ProgrammeOut(_Output):
    """A programme."""

    id: int
    code: str
    name: str
    description: str | None


class TagCreate(_Input):
    """Put a programme on a matching round or a pairing."""

    target: TagTarget
    target_id: RowId


class TagOut(_Output):
    """A programme tag."""

    id: int
    programme_id: int
    target_kind: TagTarget
    target_id: int
    created_at: datetime


class ProgrammeSummary(BaseModel):
    """What was done under a programme, counted."""

    programme: ProgrammeOut
    campaigns: int
    demands: int
    rounds: int
    pairings: int
    standing_units: int
    activities: int
    activity_amount_wan: Decimal


class CampaignCreate(_Input):
    """Launch a collection campaign (技术需求征集)."""

    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$", description="如 2026-cxzx-ly")]
    name: Name
    programme: Annotated[str, Field(min_length=1, max_length=30, description="行动（项目）代码，如 cxzx")]
    organiser: Name = Field(description="组织单位，如 龙岩市科学技术协会")
    regions: Annotated[list[RegionCode], Field(max_length=200)] = Field(default_factory=list)
    channels: Annotated[list[Annotated[str, Field(min_length=1, max_length=30)]], Field(max_length=20)] = (
        Field(default_factory=lambda: ["县（市、区）科协", "市级学会"])
    )
    form: Annotated[str, Field(min_length=1, max_length=20)] = "附件1"
    opens_on: Day
    closes_on: Day

    @model_validator(mode="after")
    def _dates_ordered(self) -> Self:
        if self.closes_on < self.opens_on:
            raise invalid("dates_out_of_order", field="closes_on")
        return self


class CampaignOut(_Output):
    """A campaign with its programme."""

    id: int
    code: str
    name: str
    programme: ProgrammeOut
    organiser: str
    regions: list[str]
    channels: list[str]
    form: str
    opens_on: date
    closes_on: date
    status: CampaignStatus
    closed_at: datetime | None
    created_at: datetime


class OverrideCreate(_Input):
    """Let one enterprise submit after the deadline (补报), for a reason."""

    org_name: Name
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    valid_until: Day | None = Field(default=None, description="默认7天内有效")


class OverrideOut(_Output):
    """A recorded late-submission override."""

    id: int
    campaign_id: int
    org_name: str
    reason: str
    valid_until: date
    staff_name: str | None
    demand_id: int | None
    used_at: datetime | None
    created_at: datetime


class CountRow(BaseModel):
    """A count of received demands under one key (county code, society id)."""

    key: str
    name: str
    count: int


class DayRow(BaseModel):
    """Demands received on one day (China time)."""

    day: date
    count: int


class LateRow(BaseModel):
    """A demand admitted after the deadline, with the override that let it in."""

    demand_id: int
    org_name: str
    title: str
    received_at: datetime
    reason: str | None
    granted_by: str | None


class Dashboard(BaseModel):
    """How a campaign is going: totals, by county, by society, by day, and the late ones."""

    campaign: CampaignOut
    accepting: bool
    days_left: int
    total: int
    by_county: list[CountRow]
    by_society: list[CountRow]
    by_day: list[DayRow]
    late: list[LateRow]
    overrides_unused: list[OverrideOut]


class ReportingUnitCreate(_Input):
    """Register a unit that files 附件2/3: a society (by id) or a county 科协 (by region code)."""

    kind: ReporterKind = Field(title="单位类型")
    society_id: RowId | None = None
    region_code: OptionalRegion = None
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(default=None, title="单位名称")


class ReportingUnitOut(_Output):
    """A reporting unit."""

    id: int
    kind: ReporterKind
    society_id: int | None
    region_code: str | None
    name: str
    active: bool


class _UnitFields(_Input):
    kind: UnitKind = Field(title="服务站类型")
    level: UnitLevel = Field(title="服务站级别")
    established_on: Day
    name: Annotated[str, Field(min_length=1, max_length=150)] | None = Field(default=None, title="服务站名称")
    programme: Annotated[str, Field(min_length=1, max_length=30)] | None = None
    reporting_unit_id: RowId | None = None
    lock_provider: bool = Field(
        default=False, title="锁定配对", description="在以后的匹配轮次中锁定该企业与依托方的配对"
    )
    notes: OptionalText = Field(default=None, title="备注")


class StandingUnitCreate(_UnitFields):
    """Register a standing unit directly."""

    provider_level: UnitProvider
    provider_id: RowId
    enterprise_name: Name
    demand_id: RowId | None = None
    region_code: OptionalRegion = None


class StandingUnitFromPairing(_UnitFields):
    """Register a standing unit from an accepted pairing: provider and enterprise come from it."""

    pairing_id: RowId


class StandingUnitPatch(_Input):
    """Change a standing unit's status, lock or notes."""

    status: UnitStatus | None = Field(default=None, title="服务站状态")
    lock_provider: bool | None = Field(default=None, title="锁定配对")
    notes: OptionalText = Field(default=None, title="备注")


class StandingUnitOut(_Output):
    """A standing unit."""

    id: int
    name: str
    kind: UnitKind
    provider_level: UnitProvider
    provider_id: int
    provider_name: str
    enterprise_name: str
    demand_id: int | None
    pairing_id: int | None
    level: UnitLevel
    region_code: str | None
    programme: ProgrammeOut | None
    reporting_unit: ReportingUnitOut | None
    established_on: date
    status: UnitStatus
    lock_provider: bool
    notes: str | None
    created_at: datetime


class ActivityCreate(_Input):
    """Log an activity; counts and amounts feed the 主要成效 column of the reports."""

    kind: ActivityKind = Field(title="活动类型")
    title: Annotated[str, Field(min_length=1, max_length=100, title="活动名称")]
    content: Annotated[str, Field(min_length=1, max_length=3000)]
    outcomes: OptionalText = None
    publicity: OptionalText = None
    occurred_on: Day
    enterprises: Annotated[int, Field(ge=0, le=100_000)] = 0
    participants: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    experts: Annotated[int, Field(ge=0, le=100_000)] = 0
    amount_wan: Amount | None = None
    report_table: ReportTable | None = Field(default=None, description="2：附件2；3：附件3；默认按类型")
    reporting_unit_id: RowId | None = None
    programme: Annotated[str, Field(min_length=1, max_length=30)] | None = None


class ActivityOut(_Output):
    """A logged activity."""

    id: int
    reporting_unit_id: int
    standing_unit_id: int | None
    programme_id: int | None
    kind: ActivityKind
    report_table: int
    title: str
    content: str
    outcomes: str | None
    publicity: str | None
    occurred_on: date
    enterprises: int
    participants: int
    experts: int
    amount_wan: Decimal | None
    created_at: datetime


class ReportRow(BaseModel):
    """One row of 附件2/3: 序号, 活动名称, 活动内容, 主要成效（含宣传工作情况）, 存在不足."""

    seq: str = Field(description="序号；末行为“合计”")
    key: str = Field(description="行的来源：a<活动编号> 或 p<匹配编号>")
    name: str
    content: str
    outcomes: str
    shortcomings: str


class Report(BaseModel):
    """A unit's 附件2 or 附件3 for one period, as filed or as it stands."""

    unit: ReportingUnitOut
    period: str
    period_label: str
    table: int
    title_lines: list[str]
    filled_on: date
    due_on: date
    status: FilingStatus
    rows: list[ReportRow]


class ReportKey(_Input):
    """Which report: unit, period (2026Q3 or 2026) and table (2 or 3)."""

    unit: RowId
    period: Annotated[
        str, Field(pattern=r"^(19|2\d)\d{2}(Q[1-4]|A)?$", description="如 2026Q3；年度报告 2026")
    ]
    table: ReportTable


class ShortcomingIn(ReportKey):
    """存在不足 of one row (``row`` as in the report, e.g. a12), or of the whole report when empty."""

    row: Annotated[str, Field(max_length=20)] = ""
    text: Annotated[str, Field(max_length=1000)]


class MissingUnit(BaseModel):
    """A unit that has not filed one or both tables of a period."""

    unit_id: int
    name: str
    tables: list[int]


class DueItem(BaseModel):
    """A report falling due, and who has not filed it."""

    period: str
    label: str
    due_on: date
    days_left: int
    missing: list[MissingUnit]
