"""Small, distinct societies and published demands to match in tests."""

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Demand, DemandStatus
from api.providers.models import Society, SocietyLevel
from api.providers.profiles import refresh_tokens

SOCIETIES = {
    "中国材料研究学会": "高分子材料、聚氨酯弹性体、工程塑料改性、复合材料、耐水解与老化性能研究",
    "中国农学会": "作物栽培、水稻育种、土壤肥料、农业机械化、病虫害绿色防控技术推广",
    "中国生物医学工程学会": "医疗器械、医学影像、生物传感器、康复工程与植入材料评价",
}
DEMANDS = [
    (
        "耐水解聚氨酯弹性体配方开发",
        "聚酯型聚氨酯弹性体湿热老化后强度下降，需要耐水解配方与改性工程塑料方案。",
    ),
    ("水稻病虫害绿色防控", "水稻种植基地需要病虫害绿色防控与土壤肥料改良技术。"),
    ("康复器械传感器设计", "研发康复训练器械，需要生物传感器与医学影像分析支持。"),
]


def add_societies(
    factory: sessionmaker[Session], capacity: int = 5, societies: dict[str, str] | None = None
) -> dict[str, int]:
    """Active societies with their remit tokenized as the providers service does; name -> id."""
    ids = {}
    with factory.begin() as session:
        for name, scope in (societies or SOCIETIES).items():
            society = Society(
                name=name,
                level=SocietyLevel.NATIONAL,
                scope=scope,
                default_capacity=capacity,
                discipline_codes=[],
                nsfc_codes=[],
                industry_codes=[],
            )
            refresh_tokens(society)
            session.add(society)
            session.flush()
            ids[name] = society.id
    return ids


def add_demands(
    factory: sessionmaker[Session],
    texts: list[tuple[str, str]] | None = None,
    status: DemandStatus = DemandStatus.PUBLISHED,
) -> list[int]:
    """Demands in ``status`` (published: awaiting matching); their ids in order."""
    ids = []
    with factory.begin() as session:
        for title, description in texts or DEMANDS:
            demand = Demand(**_demand_fields(title, description), status=status)
            session.add(demand)
            session.flush()
            ids.append(demand.id)
    return ids


def _demand_fields(title: str, description: str) -> dict[str, Any]:
    return {
        "org_name": "测试企业有限公司",
        "contact_name": "张三",
        "title": title,
        "description": description,
        "keywords": [],
        "receipt_salt": "0" * 32,
    }
