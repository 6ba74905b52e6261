"""Tables of the staff pages: signed-in browser sessions."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.base import Base, UTCDateTime, utcnow
from api.db.models import StaffUser


class StaffSession(Base):
    """A browser session of a signed-in staff member; the cookie holds a random id, kept here hashed."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Every form of the session carries this token; a POST without it is refused (CSRF).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    staff: Mapped[StaffUser] = relationship(lazy="joined")
