"""The stable identity of a demand, shared by bulk import and single intake.

Two submissions of the same organisation, title and description (however spaced, full- or half-width,
upper or lower case) have the same key; the unique ``demands.dedup_key`` column holds it, so an
import finds copies of demands that came in through the API, and the other way round.
"""

import hashlib
import re
import unicodedata
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Demand

_SPACES: Final = re.compile(r"\s+")


def dedup_key(org_name: str, title: str, description: str) -> str:
    """The stable identity of a demand: the same organisation, title and description, however spaced."""
    parts = (
        _SPACES.sub("", unicodedata.normalize("NFKC", text)).casefold()
        for text in (org_name, title, description)
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def unclaimed_dedup_key(session: Session, org_name: str, title: str, description: str) -> str | None:
    """The key of a new single submission, or None when a stored demand holds it already.

    A second identical submission through the API is still accepted (the enterprise may mean it), but
    the key stays with the first one: the column is unique and an import reports the first as the copy.
    """
    key = dedup_key(org_name, title, description)
    taken = session.scalar(select(Demand.id).where(Demand.dedup_key == key).limit(1))
    return None if taken is not None else key
