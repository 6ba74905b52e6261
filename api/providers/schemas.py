"""Request and response bodies of the provider API: societies, branches, experts, demand preferences."""

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from api.demands.schemas import RegionCode
from api.providers.models import CastGroup, PostRole, PreferenceKind, ProviderLevel, SocietyLevel
from api.reference import discipline_codes, normalize_industry_code
from api.validation import (
    EmailAddress,
    InputModel,
    MobileNumber,
    PhoneNumber,
    RowId,
    WebAddress,
    blank_to_none,
    invalid,
    register_labels,
)
from fixtures.catalog import load_nsfc

LABELS = {
    "name": "名称",
    "file": "上传文件",
    "code": "代码",
    "level": "级别",
    "cast_group": "科协学科组",
    "scope": "业务范围",
    "discipline_codes": "学科代码",
    "nsfc_codes": "基金申请代码",
    "industry_codes": "服务行业代码",
    "contact_phone": "联系电话",
    "default_capacity": "每轮容量",
    "active": "启用",
    "organisation": "工作单位",
    "professional_title": "职称",
    "research_fields": "研究方向",
    "capacity": "每轮容量",
    "available": "可接受新需求",
    "posts": "学会任职",
    "society_id": "学会编号",
    "branch_id": "分会编号",
    "role": "职务",
    "provider_level": "对象类型",
    "provider_id": "对象编号",
    "kind": "意向",
}
register_labels(LABELS)

MAX_CODES = 60
T = TypeVar("T")
MAX_POSTS = 10


def _discipline(value: str) -> str:
    if value not in discipline_codes():
        raise invalid("discipline_code_unknown", value=value)
    return value


def _nsfc(value: str) -> str:
    code = value.upper()
    if code not in load_nsfc():
        raise invalid("nsfc_code_unknown", value=value)
    return code


def _industry(value: str) -> str:
    code = normalize_industry_code(value)
    if code is None:
        raise invalid("industry_code_unknown", value=value)
    return code


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=7)]
DisciplineCodes = Annotated[
    list[Annotated[Code, AfterValidator(_discipline)]], Field(max_length=MAX_CODES), AfterValidator(_distinct)
]
NsfcCodes = Annotated[
    list[Annotated[Code, AfterValidator(_nsfc)]], Field(max_length=MAX_CODES), AfterValidator(_distinct)
]
IndustryCodes = Annotated[
    list[Annotated[Code, AfterValidator(_industry)]], Field(max_length=MAX_CODES), AfterValidator(_distinct)
]
Name = Annotated[str, Field(min_length=1, max_length=100)]
PersonName = Annotated[str, Field(min_length=1, max_length=50)]
OptionalCode = Annotated[
    Annotated[str, StringConstraints(max_length=20)] | None, BeforeValidator(blank_to_none)
]
ShortText = Annotated[
    Annotated[str, StringConstraints(max_length=100)] | None, BeforeValidator(blank_to_none)
]
ContactName = Annotated[
    Annotated[str, StringConstraints(max_length=50)] | None, BeforeValidator(blank_to_none)
]
Title = Annotated[Annotated[str, StringConstraints(max_length=50)] | None, BeforeValidator(blank_to_none)]
Address = Annotated[Annotated[str, StringConstraints(max_length=200)] | None, BeforeValidator(blank_to_none)]
Scope = Annotated[Annotated[str, StringConstraints(max_length=5000)] | None, BeforeValidator(blank_to_none)]
ResearchFields = Annotated[str, Field(min_length=1, max_length=3000)]
Capacity = Annotated[int, Field(ge=0, le=1000)]
Keywords = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=20)]], Field(max_length=10), AfterValidator(_distinct)
]


class _Fields(InputModel):
    pass


class SocietyCreate(_Fields):
    """A society (学会/协会/研究会) as staff enter it."""

    name: Name = Field(description="名称")
    code: OptionalCode = Field(default=None, description="代码，全国学会用科协代码，如 B-01")
    level: SocietyLevel = Field(description="national 全国 / provincial 省级 / municipal 市级")
    cast_group: CastGroup | None = Field(default=None, description="科协学科组：理、工、农、医、交叉")
    region_code: RegionCode = Field(default=None, description="所在地行政区划代码")
    scope: Scope = Field(default=None, description="业务范围")
    discipline_codes: DisciplineCodes = Field(default_factory=list, description="GB/T 13745-2009 学科代码")
    nsfc_codes: NsfcCodes = Field(default_factory=list, description="国家自然科学基金申请代码")
    industry_codes: IndustryCodes = Field(default_factory=list, description="服务的 GB/T 4754-2017 行业")
    contact_name: ContactName = Field(default=None, description="联系人")
    contact_phone: PhoneNumber = Field(default=None, description="联系电话")
    email: EmailAddress = Field(default=None, description="E-mail")
    website: WebAddress = Field(default=None, description="网址")
    address: Address = Field(default=None, description="地址")
    default_capacity: Capacity = Field(default=5, description="每轮最多承接的需求数")
    active: bool = Field(default=True, description="启用")


class SocietyPatch(_Fields):
    """A staff edit of a society: any subset of its fields."""

    name: Name | None = None
    code: OptionalCode = None
    level: SocietyLevel | None = None
    cast_group: CastGroup | None = None
    region_code: RegionCode = None
    scope: Scope = None
    discipline_codes: DisciplineCodes | None = None
    nsfc_codes: NsfcCodes | None = None
    industry_codes: IndustryCodes | None = None
    contact_name: ContactName = None
    contact_phone: PhoneNumber = None
    email: EmailAddress = None
    website: WebAddress = None
    address: Address = None
    default_capacity: Capacity | None = None
    active: bool | None = None


class BranchCreate(_Fields):
    """A 分会 or 专业委员会 of a society."""

    name: Name = Field(description="名称")
    code: OptionalCode = Field(default=None, description="代码，如 B-01-02")
    scope: Scope = Field(default=None, description="业务范围")
    keywords: Keywords = Field(default_factory=list, description="关键词，最多10个")
    discipline_codes: DisciplineCodes = Field(default_factory=list, description="GB/T 13745-2009 学科代码")
    nsfc_codes: NsfcCodes = Field(default_factory=list, description="国家自然科学基金申请代码")
    default_capacity: Capacity = Field(default=3, description="每轮最多承接的需求数")
    active: bool = Field(default=True, description="启用")


class BranchPatch(_Fields):
    """A staff edit of a branch."""

    name: Name | None = None
    code: OptionalCode = None
    scope: Scope = None
    keywords: Keywords | None = None
    discipline_codes: DisciplineCodes | None = None
    nsfc_codes: NsfcCodes | None = None
    default_capacity: Capacity | None = None
    active: bool | None = None


class PostIn(_Fields):
    """An expert's post: a society, optionally one of its branches, and the role."""

    society_id: RowId = Field(description="学会编号")
    branch_id: RowId | None = Field(default=None, description="分会编号，可空")
    role: PostRole = Field(default=PostRole.MEMBER, description="职务")


class ExpertCreate(_Fields):
    """An expert as staff enter them."""

    name: PersonName = Field(description="姓名")
    code: OptionalCode = Field(default=None, description="编号")
    organisation: ShortText = Field(default=None, description="工作单位")
    professional_title: Title = Field(default=None, description="职称")
    research_fields: ResearchFields = Field(description="研究方向")
    discipline_codes: DisciplineCodes = Field(default_factory=list, description="GB/T 13745-2009 学科代码")
    nsfc_codes: NsfcCodes = Field(default_factory=list, description="国家自然科学基金申请代码")
    region_code: RegionCode = Field(default=None, description="所在地行政区划代码")
    email: EmailAddress = Field(default=None, description="E-mail")
    mobile: MobileNumber = Field(default=None, description="手机")
    capacity: Capacity = Field(default=2, description="每轮最多承接的需求数")
    available: bool = Field(default=True, description="可接受新需求")
    active: bool = Field(default=True, description="启用")
    posts: Annotated[list[PostIn], Field(max_length=MAX_POSTS)] = Field(
        default_factory=list, description="学会任职"
    )


class ExpertPatch(_Fields):
    """A staff edit of an expert; ``posts``, when given, replaces all posts."""

    name: PersonName | None = None
    code: OptionalCode = None
    organisation: ShortText = None
    professional_title: Title = None
    research_fields: ResearchFields | None = None
    discipline_codes: DisciplineCodes | None = None
    nsfc_codes: NsfcCodes | None = None
    region_code: RegionCode = None
    email: EmailAddress = None
    mobile: MobileNumber = None
    capacity: Capacity | None = None
    available: bool | None = None
    active: bool | None = None
    posts: Annotated[list[PostIn], Field(max_length=MAX_POSTS)] | None = None


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class BranchOut(_Out):
    """A branch as stored."""

    id: int
    society_id: int
    name: str
    code: str | None
    scope: str | None
    keywords: list[str]
    discipline_codes: list[str]
    nsfc_codes: list[str]
    default_capacity: int
    active: bool
    created_at: datetime
    updated_at: datetime


class SocietyOut(_Out):
    """A society as stored, with its branches."""

    id: int
    name: str
    code: str | None
    level: SocietyLevel
    cast_group: CastGroup | None
    region_code: str | None
    scope: str | None
    discipline_codes: list[str]
    nsfc_codes: list[str]
    industry_codes: list[str]
    contact_name: str | None
    contact_phone: str | None
    email: str | None
    website: str | None
    address: str | None
    default_capacity: int
    active: bool
    created_at: datetime
    updated_at: datetime
    branches: list[BranchOut] = []


class SocietySummary(_Out):
    """A society in a list."""

    id: int
    name: str
    code: str | None
    level: SocietyLevel
    cast_group: CastGroup | None
    default_capacity: int
    active: bool


class PostOut(_Out):
    """An expert's post."""

    society_id: int
    branch_id: int | None
    role: PostRole


class ExpertOut(_Out):
    """An expert as stored, with their posts."""

    id: int
    name: str
    code: str | None
    organisation: str | None
    professional_title: str | None
    research_fields: str
    discipline_codes: list[str]
    nsfc_codes: list[str]
    region_code: str | None
    email: str | None
    mobile: str | None
    capacity: int
    available: bool
    active: bool
    posts: list[PostOut]
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    """One page of a list and how many match in all."""

    items: list[T]
    total: int
    page: int
    page_size: int


class PreferenceIn(_Fields):
    """A provider the enterprise wants (prefer) or refuses (refuse) for its demand."""

    provider_level: ProviderLevel = Field(description="society 学会 / branch 分会 / expert 专家")
    provider_id: RowId = Field(description="对象编号")
    kind: PreferenceKind = Field(description="prefer 希望对接 / refuse 不希望对接")
    reason: Annotated[
        Annotated[str, StringConstraints(max_length=200)] | None, BeforeValidator(blank_to_none)
    ] = Field(default=None, description="原因")


class PreferenceOut(_Out):
    """A stored preference."""

    id: int
    demand_id: int
    provider_level: ProviderLevel
    provider_id: int
    kind: PreferenceKind
    reason: str | None
    created_at: datetime
