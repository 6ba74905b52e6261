"""What leaves the service without staff credentials: published listings and an enterprise's pairings.

The public fields of a demand are listed here, in one place. Everything else — the enterprise's
name, contacts, address, company profile, budget and any staff notes — stays private. An enterprise
sees providers only once staff accepted the pairing, and only then their contacts.
"""

import re
from datetime import date
from typing import Any, Final

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import Demand, DemandStatus
from api.matching.models import Pairing, PairingStatus
from api.providers.models import Branch, Expert, ProviderLevel, Society

# The demand fields a published listing shows. The description is public because staff publish a
# demand only after reviewing its text; phone numbers and e-mail addresses typed inside the title or
# description are masked all the same (a reviewer can miss one, a scraper never does).
PUBLIC_DEMAND_FIELDS: Final = (
    "id",
    "title",
    "description",
    "industry_code",
    "discipline_code",
    "region_code",
    "keywords",
    "cooperation_mode",
    "deadline",
)
PAIRED_STATUSES: Final = (
    PairingStatus.ACCEPTED,
    PairingStatus.CONTACTED,
    PairingStatus.AGREEMENT,
    PairingStatus.CLOSED,
)


class PublicDemand(BaseModel):
    """A published demand as anyone may read it: only :data:`PUBLIC_DEMAND_FIELDS`."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")

    id: int
    title: str
    description: str
    industry_code: str | None
    discipline_code: str | None
    region_code: str | None
    keywords: list[str]
    cooperation_mode: str | None
    deadline: date | None


class PublicDemandPage(BaseModel):
    """One page of published demands."""

    items: list[PublicDemand]
    total: int
    page: int
    page_size: int


class ProviderContact(BaseModel):
    """How to reach a provider the enterprise is paired with."""

    contact_name: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    address: str | None = None
    organisation: str | None = None


class EnterprisePairing(BaseModel):
    """A pairing as the enterprise sees it: who, at which stage, and how to reach them."""

    provider_level: ProviderLevel
    provider_name: str
    status: PairingStatus
    contact: ProviderContact


# Mobile numbers (138 1234 5678, +86-138…), landlines (0591-87654321, (010)66661111) and e-mail
# addresses; the digits may be full-width or separated by blanks and dashes, as people type them.
_CONTACTS: Final = re.compile(
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
    r"|(?<![0-9０-９])(?:\+?86[\s\-]?)?[1１][3-9３-９](?:[\s\-]?[0-9０-９]){9}(?![0-9０-９])"
    r"|(?<![0-9０-９])[（(]?0[0-9]{2,3}[）)]?[\s\-]?[2-9][0-9]{6,7}(?![0-9])"
)
MASK: Final = "［联系方式已隐藏］"


def mask_contacts(text: str) -> str:
    """``text`` with every phone number and e-mail address replaced by :data:`MASK`."""
    return _CONTACTS.sub(MASK, text)


def public_demand(demand: Demand) -> PublicDemand:
    """The public view of one demand, contacts typed into its texts masked."""
    fields = {name: getattr(demand, name) for name in PUBLIC_DEMAND_FIELDS}
    fields["title"], fields["description"] = mask_contacts(demand.title), mask_contacts(demand.description)
    return PublicDemand.model_validate(fields)


def published_demands(session: Session, *, page: int, page_size: int) -> PublicDemandPage:
    """One page of published demands, newest first."""
    where = Demand.status == DemandStatus.PUBLISHED
    total = session.scalar(select(func.count()).select_from(Demand).where(where)) or 0
    query = (
        select(Demand).where(where).order_by(Demand.id.desc()).offset((page - 1) * page_size).limit(page_size)
    )
    items = [public_demand(demand) for demand in session.scalars(query)]
    return PublicDemandPage(items=items, total=total, page=page, page_size=page_size)


def published_demand(session: Session, demand_id: int) -> PublicDemand | None:
    """The public view of a published demand; None for any other."""
    demand = session.get(Demand, demand_id)
    if demand is None or demand.status != DemandStatus.PUBLISHED:
        return None
    return public_demand(demand)


def enterprise_pairings(session: Session, demand: Demand) -> list[EnterprisePairing]:
    """The demand's pairings that staff accepted (and later stages), with the providers' contacts."""
    query = (
        select(Pairing)
        .where(Pairing.demand_id == demand.id, Pairing.status.in_(PAIRED_STATUSES))
        .order_by(Pairing.id)
    )
    return [_as_enterprise_pairing(session, pairing) for pairing in session.scalars(query)]


def _as_enterprise_pairing(session: Session, pairing: Pairing) -> EnterprisePairing:
    return EnterprisePairing(
        provider_level=pairing.provider_level,
        provider_name=pairing.provider_name,
        status=pairing.status,
        contact=ProviderContact(**_contact(session, pairing.provider_level, pairing.provider_id)),
    )


def _contact(session: Session, level: ProviderLevel, provider_id: int) -> dict[str, Any]:
    if level == ProviderLevel.EXPERT:
        expert = session.get(Expert, provider_id)
        return (
            {}
            if expert is None
            else {"email": expert.email, "phone": expert.mobile, "organisation": expert.organisation}
        )
    if level == ProviderLevel.BRANCH:
        branch = session.get(Branch, provider_id)
        provider_id = (
            branch.society_id if branch is not None else -1
        )  # a branch is reached through its society
    society = session.get(Society, provider_id)
    if society is None:
        return {}
    return {
        "contact_name": society.contact_name,
        "phone": society.contact_phone,
        "email": society.email,
        "website": society.website,
        "address": society.address,
    }
