"""A society, an expert, a county, a demand and an accepted pairing to build standing units and reports on."""

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.matching.models import MatchRound, Pairing, PairingStatus, RoundStatus
from api.programmes.campaigns import seed_programmes
from api.providers.models import Expert, ProviderLevel, Society, SocietyLevel
from tests.api.factories import demand_payload

SOCIETY_NAME = "福建省机械工程学会"
COUNTY_CODE = "350823"
ENTERPRISE = "龙岩闽西精工机械有限公司"


@dataclass(frozen=True)
class Setting:
    """Ids of the rows a test starts from."""

    society_id: int
    expert_id: int
    demand_id: int
    pairing_id: int
    proposed_pairing_id: int
    society_unit: int
    county_unit: int


def build_setting(client: TestClient, headers: dict[str, str], db: sessionmaker[Session]) -> Setting:
    """Providers, one demand from 上杭县 with an accepted and a proposed pairing, two reporting units."""
    demand = client.post(
        "/api/v1/demands", json=demand_payload(org_name=ENTERPRISE, region_code=COUNTY_CODE + "000000")
    )
    assert demand.status_code == 201, demand.text
    demand_id = demand.json()["id"]
    with db.begin() as session:
        seed_programmes(session)
        society = Society(name=SOCIETY_NAME, level=SocietyLevel.PROVINCIAL)
        other = Society(name="福建省农学会", level=SocietyLevel.PROVINCIAL)
        expert = Expert(name="林志远", organisation="福州大学", research_fields="精密铸造；数控加工")
        matching_round = MatchRound(status=RoundStatus.SUCCEEDED)
        session.add_all([society, other, expert, matching_round])
        session.flush()
        accepted = _pairing(matching_round.id, demand_id, society.id, PairingStatus.ACCEPTED, rank=1)
        proposed = _pairing(matching_round.id, demand_id, other.id, PairingStatus.PROPOSED, rank=2)
        session.add_all([accepted, proposed])
        session.flush()
        ids = (society.id, expert.id, accepted.id, proposed.id)
    society_unit = client.post(
        "/api/v1/reporting-units", json={"kind": "society", "society_id": ids[0]}, headers=headers
    )
    county_unit = client.post(
        "/api/v1/reporting-units", json={"kind": "county", "region_code": COUNTY_CODE}, headers=headers
    )
    assert society_unit.status_code == county_unit.status_code == 201, county_unit.text
    return Setting(
        society_id=ids[0],
        expert_id=ids[1],
        demand_id=demand_id,
        pairing_id=ids[2],
        proposed_pairing_id=ids[3],
        society_unit=society_unit.json()["id"],
        county_unit=county_unit.json()["id"],
    )


def _pairing(round_id: int, demand_id: int, society_id: int, status: PairingStatus, rank: int) -> Pairing:
    return Pairing(
        round_id=round_id,
        demand_id=demand_id,
        provider_level=ProviderLevel.SOCIETY,
        provider_id=society_id,
        provider_name="",
        score=0.42,
        rank=rank,
        status=status,
    )
