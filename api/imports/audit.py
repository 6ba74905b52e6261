"""One audit log entry per import: who imported which files, and what came of them.

The rows themselves are written in bulk, past the audit flush hook; each new demand has its own
``imported`` event (file and row) already, so the log holds one summary per call rather than a copy
of every row. The entry is written in the import's transaction: an import refused or rolled back
leaves none.
"""

from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy.orm import Session

from api.db.models import StaffUser
from api.imports.report import ImportReport
from api.security.audit import CLI_ACTOR, Actor, actor_of, record_audit

IMPORT_ACTION: Final = "demand.import"


def audit_import(
    session: Session, report: ImportReport, *, staff_id: int | None, campaign_id: int | None
) -> None:
    """Log the import in the session's transaction, unless it was refused as a whole."""
    if report.took_effect:
        summary = import_summary(report, campaign_id)
        record_audit(session, _actor(session, staff_id), IMPORT_ACTION, ("demand", None), None, summary)


def import_summary(report: ImportReport, campaign_id: int | None) -> dict[str, Any]:
    """What the log keeps of an import: its files, counts, the new ids as ranges, and its campaign."""
    return {
        "mode": report.mode.value,
        "files": [
            {"source": item.source, "rows": item.rows, "valid": item.valid, "invalid": item.invalid}
            for item in report.files
        ],
        "rows": report.rows,
        "created": report.created,
        "duplicates_skipped": len(report.duplicates),
        "refused_rows": report.invalid_rows,
        "created_ids": id_ranges(report.created_ids),
        "campaign_id": campaign_id,
    }


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Ids as sorted ``[first, last]`` runs of consecutive ids: a bulk insert is one or a few runs."""
    runs: list[list[int]] = []
    for item in sorted(ids):
        if runs and runs[-1][1] == item - 1:
            runs[-1][1] = item
        else:
            runs.append([item, item])
    return runs


def _actor(session: Session, staff_id: int | None) -> Actor:
    # The route and the staff pages attach the signed-in staff member; a caller that only passes an
    # id (or nothing, like the command line) is resolved here.
    attached = actor_of(session)
    if attached is not None:
        return attached
    if staff_id is None:
        return CLI_ACTOR
    staff = session.get(StaffUser, staff_id)
    return Actor(staff_id=staff_id, name=staff.name if staff is not None else f"工作人员 {staff_id}")
