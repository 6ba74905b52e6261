"""Request and response bodies of the demand API (field names follow the 附件1 collection form)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    model_validator,
)

from api.db.models import DemandStatus
from api.reference import discipline_codes, normalize_industry_code, normalize_region_code
from api.validation import (
    Day,
    EmailAddress,
    InputModel,
    MobileNumber,
    PhoneNumber,
    Postcode,
    RowId,
    WebAddress,
    blank_to_none,
    invalid,
    register_labels,
    with_extra_error,
)

# The demand's fields in three groups, each in the order staff and enterprises know it: the printed
# 附件1 (单位名称 … 企业概况), the codes staff assign, and the structured fields that help matching.
FORM1_FIELDS: Final = (
    "org_name",
    "main_business",
    "contact_name",
    "mobile",
    "office_phone",
    "fax",
    "email",
    "website",
    "address",
    "postcode",
    "title",
    "description",
    "company_profile",
)
CODE_FIELDS: Final = ("industry_code", "discipline_code", "region_code")
DETAIL_FIELDS: Final = ("keywords", "cooperation_mode", "budget_wan", "deadline")

LABELS = {
    "org_name": "单位名称",
    "main_business": "主营业务",
    "contact_name": "联系人",
    "mobile": "手机",
    "office_phone": "办公电话",
    "fax": "传真",
    "email": "E-mail",
    "website": "网址",
    "address": "联系地址",
    "postcode": "邮编",
    "title": "技术需求名称",
    "description": "具体的技术需求说明",
    "company_profile": "企业概况",
    "industry_code": "行业代码",
    "discipline_code": "学科代码",
    "region_code": "行政区划代码",
    "keywords": "关键词",
    "cooperation_mode": "合作方式",
    "budget_wan": "预算（万元）",
    "deadline": "期望完成日期",
    "reason": "原因",
    "page": "页码",
    "page_size": "每页条数",
    "status": "状态",
}
register_labels(LABELS)

MAX_KEYWORDS = 5
PHONE_FIELDS = ("mobile", "office_phone")


def _industry(value: str | None) -> str | None:
    if value is None:
        return None
    code = normalize_industry_code(value)
    if code is None:
        raise invalid("industry_code_unknown", value=value)
    return code


def _discipline(value: str | None) -> str | None:
    if value is None or value in discipline_codes():
        return value
    raise invalid("discipline_code_unknown", value=value)


def _region(value: str | None) -> str | None:
    if value is None:
        return None
    code = normalize_region_code(value)
    if code is None:
        raise invalid("region_code_unknown", value=value)
    return code


def _distinct(values: list[str]) -> list[str]:
    # The same keyword twice adds nothing; keep the first spelling and the order given.
    return list(dict.fromkeys(values))


RequiredName = Annotated[str, Field(min_length=1, max_length=100)]
ContactName = Annotated[str, Field(min_length=1, max_length=50)]
# Optional texts: blank means absent; the length limit applies to the text, not to the null.
ShortText = Annotated[
    Annotated[str, StringConstraints(max_length=200)] | None, BeforeValidator(blank_to_none)
]
MediumText = Annotated[
    Annotated[str, StringConstraints(max_length=500)] | None, BeforeValidator(blank_to_none)
]
LongText = Annotated[
    Annotated[str, StringConstraints(max_length=3000)] | None, BeforeValidator(blank_to_none)
]
Description = Annotated[str, Field(min_length=1, max_length=5000)]
IndustryCode = Annotated[str | None, BeforeValidator(blank_to_none), AfterValidator(_industry)]
DisciplineCode = Annotated[str | None, BeforeValidator(blank_to_none), AfterValidator(_discipline)]
RegionCode = Annotated[str | None, BeforeValidator(blank_to_none), AfterValidator(_region)]
Keyword = Annotated[str, Field(min_length=1, max_length=20)]
Keywords = Annotated[list[Keyword], Field(max_length=MAX_KEYWORDS), AfterValidator(_distinct)]
CooperationMode = Literal["技术开发", "技术转让", "技术许可", "技术咨询", "技术服务", "联合攻关", "人才培养"]
Budget = Annotated[Decimal, Field(ge=0, le=10_000_000, decimal_places=2)]


class _DemandFields(InputModel):
    pass


class DemandCreate(_DemandFields):
    """A technology demand as an enterprise submits it (the 附件1 form plus structured fields)."""

    org_name: RequiredName = Field(description="单位名称")
    main_business: MediumText = Field(default=None, description="主营业务")
    contact_name: ContactName = Field(description="联系人")
    mobile: MobileNumber = Field(default=None, description="手机，11位")
    office_phone: PhoneNumber = Field(default=None, description="办公电话")
    fax: PhoneNumber = Field(default=None, description="传真")
    email: EmailAddress = Field(default=None, description="E-mail")
    website: WebAddress = Field(default=None, description="网址")
    address: ShortText = Field(default=None, description="联系地址")
    postcode: Postcode = Field(default=None, description="邮编，6位数字")
    title: RequiredName = Field(description="技术需求名称")
    description: Description = Field(description="具体的技术需求说明")
    company_profile: LongText = Field(default=None, description="企业概况")
    industry_code: IndustryCode = Field(default=None, description="GB/T 4754-2017 行业代码，如 C3562")
    discipline_code: DisciplineCode = Field(default=None, description="GB/T 13745-2009 学科代码")
    region_code: RegionCode = Field(default=None, description="行政区划代码（6或12位）；不填时按联系地址推断")
    keywords: Keywords = Field(default_factory=list, description="关键词，最多5个")
    cooperation_mode: CooperationMode | None = Field(default=None, description="合作方式")
    budget_wan: Budget | None = Field(default=None, description="预算（万元）")
    deadline: Day | None = Field(default=None, description="期望完成日期")
    campaign_id: RowId | None = Field(default=None, description="征集活动编号；截止后须工作人员登记补报")
    collected_by_society_id: RowId | None = Field(default=None, description="汇总填报（转报）的学会编号")

    @model_validator(mode="wrap")
    @classmethod
    def _reachable_by_phone(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # Checked around the field validation so that a missing phone is listed with every other
        # bad field instead of only once they are all fixed.
        no_phone = isinstance(data, dict) and not any(_filled(data.get(key)) for key in PHONE_FIELDS)
        try:
            demand = handler(data)
        except ValidationError as error:
            if no_phone:
                raise with_extra_error(error, "contact_phone_required", "mobile") from None
            raise
        if no_phone:
            raise invalid("contact_phone_required", field="mobile")
        return demand


def _filled(value: Any) -> bool:
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


class DemandPatch(_DemandFields):
    """A staff edit: any subset of the demand's fields; the edited demand must stay valid."""

    org_name: RequiredName | None = None
    main_business: MediumText = None
    contact_name: ContactName | None = None
    mobile: MobileNumber = None
    office_phone: PhoneNumber = None
    fax: PhoneNumber = None
    email: EmailAddress = None
    website: WebAddress = None
    address: ShortText = None
    postcode: Postcode = None
    title: RequiredName | None = None
    description: Description | None = None
    company_profile: LongText = None
    industry_code: IndustryCode = None
    discipline_code: DisciplineCode = None
    region_code: RegionCode = None
    keywords: Keywords | None = None
    cooperation_mode: CooperationMode | None = None
    budget_wan: Budget | None = None
    deadline: Day | None = None


class TransitionRequest(InputModel):
    """A status change asked by staff."""

    # A title, not a shared label: "to" is also the end date of the period reports' query.
    to: DemandStatus = Field(title="目标状态", description="目标状态")
    reason: MediumText = Field(default=None, description="原因；退回时必填")


class DemandReceipt(BaseModel):
    """The answer to a submission: keep the receipt token to read the demand later."""

    id: int
    status: DemandStatus
    receipt_token: str


class DemandEventOut(BaseModel):
    """One entry of a demand's history."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    from_status: DemandStatus | None
    to_status: DemandStatus | None
    reason: str | None
    changes: dict[str, object] | None
    staff_name: str | None
    created_at: datetime


class DemandOut(BaseModel):
    """A demand as stored, with its history."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: DemandStatus
    org_name: str
    main_business: str | None
    contact_name: str
    mobile: str | None
    office_phone: str | None
    fax: str | None
    email: str | None
    website: str | None
    address: str | None
    postcode: str | None
    title: str
    description: str
    company_profile: str | None
    industry_code: str | None
    discipline_code: str | None
    region_code: str | None
    region_suggested: bool
    keywords: list[str]
    cooperation_mode: str | None
    budget_wan: Decimal | None
    deadline: date | None
    campaign_id: int | None = None
    collected_by_society_id: int | None = None
    created_at: datetime
    updated_at: datetime
    events: list[DemandEventOut] = []


class DemandSummary(BaseModel):
    """A demand in a list."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: DemandStatus
    org_name: str
    title: str
    industry_code: str | None
    region_code: str | None
    created_at: datetime


class DemandPage(BaseModel):
    """One page of demands and how many match in all."""

    items: list[DemandSummary]
    total: int
    page: int
    page_size: int
