"""The 附件1 demand form of the staff entry page and the enterprises' own page: its fields in the order
of the printed form, how a posted form becomes a submission, and its check by the intake rules.

There is no second validator here: a form is checked by :class:`DemandCreate` and stored by the intake
service, exactly as ``POST /api/v1/demands`` does.
"""

import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.demands import service
from api.demands.schemas import CODE_FIELDS, DETAIL_FIELDS, FORM1_FIELDS, LABELS, DemandCreate
from api.errors import HuiqiError
from api.validation import COOPERATION_MODES
from api.web.programme_forms import field_errors

# What an enterprise fills in; staff also assign the codes (without a region the address suggests one).
FORM_FIELDS: Final = FORM1_FIELDS + DETAIL_FIELDS
STAFF_FIELDS: Final = FORM_FIELDS + CODE_FIELDS
REQUIRED: Final = frozenset({"org_name", "contact_name", "title", "description"})
LONG_FIELDS: Final = frozenset({"description", "company_profile", "main_business"})
# One-line fields that still take a whole row: names and addresses are long.
WIDE_FIELDS: Final = LONG_FIELDS | {"org_name", "title", "address"}
HINTS: Final = {
    "mobile": "11位手机号码；手机和办公电话至少填一个",
    "office_phone": "如 0597-3213010",
    "title": "一句话说明要解决的技术问题",
    "description": "现状、要达到的指标、已做过的尝试，越具体越容易找到合适的专家",
    "keywords": "最多5个，用逗号或顿号分开",
    "budget_wan": "单位：万元，可不填",
    "industry_code": "国民经济行业分类代码，如 C3562",
    "discipline_code": "学科分类代码，如 52010",
    "region_code": "行政区划代码；不填时按联系地址推断",
}
# How each input is typed on a phone: the right keyboard and the browser's autofill.
INPUT_ATTRIBUTES: Final = {
    "org_name": {"autocomplete": "organization"},
    "contact_name": {"autocomplete": "name"},
    "mobile": {"type": "tel", "inputmode": "numeric", "autocomplete": "tel"},
    "office_phone": {"type": "tel", "autocomplete": "tel"},
    "fax": {"type": "tel"},
    "email": {"type": "email", "autocomplete": "email"},
    "website": {"inputmode": "url", "autocomplete": "url"},
    "address": {"autocomplete": "street-address"},
    "postcode": {"inputmode": "numeric", "autocomplete": "postal-code"},
    "budget_wan": {"inputmode": "decimal"},
    "deadline": {"type": "date"},
}
# Headed groups of the form: long on a phone, so it reads in three parts.
SECTIONS: Final = (
    ("单位与联系方式", FORM_FIELDS[:10]),
    ("技术需求", FORM_FIELDS[10:]),
    ("分类代码", CODE_FIELDS),
)
KEY_FIELD: Final = "submission_key"
KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"


@dataclass
class DemandForm:
    """A 附件1 form as shown: its fields, what was typed and the message beside each bad field."""

    fields: tuple[str, ...]
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Sent back with the form: a double click or a reload of the answer stores the demand once.
    key: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    # The HTTP status a refused form comes back with: 422, or the refusal's own (409 for a campaign).
    status: int = 422

    def context(self) -> dict[str, Any]:
        """What the form template needs."""
        return {
            "form": self,
            "sections": [(title, [n for n in names if n in self.fields]) for title, names in SECTIONS],
            "labels": LABELS,
            "required": REQUIRED,
            "long_fields": LONG_FIELDS,
            "wide_fields": WIDE_FIELDS,
            "hints": HINTS,
            "attributes": INPUT_ATTRIBUTES,
            "modes": COOPERATION_MODES,
        }


def posted_demand(form: FormData, fields: tuple[str, ...]) -> DemandForm:
    """The posted form as typed (nothing dropped, so a refused form comes back filled in)."""
    values = {name: str(form.get(name) or "").strip() for name in fields}
    key = str(form.get(KEY_FIELD) or "").strip()
    return DemandForm(fields, values, key=key) if key else DemandForm(fields, values)


def demand_input(values: FormData | dict[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """The submission of a form: blank inputs are absent, keywords are split at commas and 、."""
    data: dict[str, Any] = {name: (values.get(name) or None) for name in fields}
    keywords = str(values.get("keywords") or "")
    data["keywords"] = [
        word.strip() for word in keywords.replace("，", ",").replace("、", ",").split(",") if word.strip()
    ]
    return data


def submit_form(
    session: Session, *, form: DemandForm, secret: bytes, extra: dict[str, Any]
) -> service.Submission | None:
    """Store the form's demand through the intake service; None with ``form.errors`` set if refused.

    ``extra`` holds what the page adds (the campaign, the forwarding society). A refusal that names
    no field (a closed campaign) is shown under ``form``.
    """
    try:
        payload = DemandCreate.model_validate(demand_input(form.values, form.fields) | extra)
        with session.begin_nested():
            return service.submit(session, payload=payload, secret=secret, idempotency_key=_key(form))
    except (ValidationError, HuiqiError) as error:
        form.status = error.status_code if isinstance(error, HuiqiError) else 422
        found = field_errors(error, "form")
        # Listed in the order of the form, fields the page adds (campaign, society) and the rest last.
        order = {name: index for index, name in enumerate(form.fields)}
        form.errors = dict(sorted(found.items(), key=lambda item: order.get(item[0], len(order))))
    if form.errors.pop(IDEMPOTENCY_HEADER, None):
        # Sent before, then changed (the back button): a fresh key lets the next click store it anew.
        form.errors["form"] = "这份表单已经提交过，之后内容又有改动。如要再报一项需求，请再点一次“提交”。"
        form.key = secrets.token_urlsafe(18)
    return None


def _key(form: DemandForm) -> str | None:
    # The key is the form's own; a hand-made post with anything else just goes without one.
    return form.key if KEY_PATTERN.fullmatch(form.key) else None
