"""Persistence: the declarative base, the typed models and the engine/session factory."""

from api.db.base import Base
from api.db.models import Demand, DemandEvent, DemandStatus, StaffRole, StaffStatus, StaffToken, StaffUser
from api.db.session import make_engine, make_session_factory

__all__ = [
    "Base",
    "Demand",
    "DemandEvent",
    "DemandStatus",
    "StaffRole",
    "StaffStatus",
    "StaffToken",
    "StaffUser",
    "make_engine",
    "make_session_factory",
]
