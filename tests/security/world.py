"""A small world to test who sees what: two enterprises' demands, staff of both roles, providers with
contacts, a round whose pairings stand at different stages."""

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.auth.service import create_staff
from api.db import StaffRole
from api.matching.models import MatchRound, Pairing, PairingStatus, RoundStatus
from api.providers.models import (
    Branch,
    DemandPreference,
    Expert,
    PreferenceKind,
    ProviderLevel,
    Society,
    SocietyLevel,
)
from tests.api.factories import demand_payload

SOCIETY_CONTACT = {
    "contact_name": "学会联络人王五",
    "contact_phone": "010-66661111",
    "email": "ws@society.example.org",
}
EXPERT_CONTACT = {"email": "expert.secret@example.org", "mobile": "13912345678"}
DEMAND_B_SECRETS = {
    "org_name": "乙方保密科技有限公司",
    "mobile": "13700001111",
    "email": "b@secret.example.com",
}


@dataclass(frozen=True)
class World:
    """Ids and credentials of the world."""

    demand_a: int
    demand_b: int
    receipt_a: str
    receipt_b: str
    reviewer: str
    admin: str
    victim_staff: int
    society: int
    branch: int
    expert: int
    round: int
    pairing_a: int
    pairing_b: int
    preference: int

    def headers(self, role: str) -> dict[str, str]:
        """The credentials of ``role`` as request headers."""
        return {
            "anonymous": {},
            "enterprise_a": {"X-Receipt-Token": self.receipt_a},
            "enterprise_b": {"X-Receipt-Token": self.receipt_b},
            "reviewer": {"Authorization": f"Bearer {self.reviewer}"},
            "admin": {"Authorization": f"Bearer {self.admin}"},
        }[role]


def _providers(session: Session) -> tuple[Society, Branch, Expert]:
    society = Society(name="中国测试学会", level=SocietyLevel.NATIONAL, scope="材料", **SOCIETY_CONTACT)
    branch = Branch(society=society, name="材料分会", scope="高分子")
    expert = Expert(name="专家甲", research_fields="聚氨酯", **EXPERT_CONTACT)
    session.add_all([society, branch, expert])
    session.flush()
    return society, branch, expert


def build_world(client: TestClient, db: sessionmaker[Session]) -> World:
    """Submit two demands through the API and add staff, providers, a round and its pairings."""
    a = client.post("/api/v1/demands", json=demand_payload()).json()
    b = client.post("/api/v1/demands", json=demand_payload(title="乙方的需求", **DEMAND_B_SECRETS)).json()
    with db.begin() as session:
        reviewer = create_staff(session, name="审核员", role=StaffRole.REVIEWER)[1]
        admin = create_staff(session, name="管理员", role=StaffRole.ADMIN)[1]
        victim = create_staff(session, name="将被停用的人", role=StaffRole.REVIEWER)[0]
        society, branch, expert = _providers(session)
        round_ = MatchRound(status=RoundStatus.SUCCEEDED)
        session.add(round_)
        session.flush()
        paired = Pairing(
            round_id=round_.id,
            demand_id=a["id"],
            provider_level=ProviderLevel.SOCIETY,
            provider_id=society.id,
            provider_name=society.name,
            score=0.5,
            rank=1,
            status=PairingStatus.ACCEPTED,
        )
        proposed = Pairing(
            round_id=round_.id,
            demand_id=b["id"],
            provider_level=ProviderLevel.EXPERT,
            provider_id=expert.id,
            provider_name=expert.name,
            score=0.4,
            rank=1,
        )
        preference = DemandPreference(
            demand_id=a["id"],
            provider_level=ProviderLevel.SOCIETY,
            provider_id=society.id,
            kind=PreferenceKind.PREFER,
        )
        session.add_all([paired, proposed, preference])
        session.flush()
        return World(
            a["id"],
            b["id"],
            a["receipt_token"],
            b["receipt_token"],
            reviewer,
            admin,
            victim.id,
            society.id,
            branch.id,
            expert.id,
            round_.id,
            paired.id,
            proposed.id,
            preference.id,
        )
