"""Provider profiles as ``id,name,text`` CSV, one row per profile document (what ``huiqi evaluate`` reads)."""

import csv
from collections.abc import Iterable
from typing import Literal, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.providers.models import Branch, Expert, Society
from api.providers.profiles import ProviderProfile

EXPORT_COLUMNS = ("id", "name", "text")
ExportKey = Literal["id", "code"]


def provider_codes(session: Session, level: str) -> dict[int, str]:
    """Database id -> stable code (CAST code, branch or expert code) of the providers of ``level``."""
    models: dict[str, type[Society] | type[Branch] | type[Expert]] = {
        "society": Society,
        "branch": Branch,
        "expert": Expert,
    }
    model = models[level]
    return {row_id: code for row_id, code in session.execute(select(model.id, model.code)) if code}


def export_rows(profiles: Iterable[ProviderProfile], codes: dict[int, str] | None = None) -> list[list[str]]:
    """One ``[id, name, text]`` row per document; ids are replaced by ``codes`` where given."""
    rows: list[list[str]] = []
    for profile in profiles:
        key = (codes or {}).get(profile.id, str(profile.id))
        rows.extend([key, profile.name, _one_line(text)] for text in profile.documents)
    return rows


def _one_line(text: str) -> str:
    # Line breaks inside a document would survive CSV quoting, but break line-oriented tools.
    return " ".join(text.split())


def write_csv(rows: Iterable[list[str]], out: TextIO) -> int:
    """Write the header and ``rows``; returns how many rows were written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
