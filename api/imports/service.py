"""Validate read records with the demand schema, skip duplicates, write the rest in bulk, chunk by chunk.

Files are streamed in chunks of ``CHUNK`` rows: read -> validate -> deduplicate -> admit to the
campaign -> tokenize -> insert, so only a few chunks are in memory at any time (plus one short key per
row, to find rows repeated within the import). Tokenizing runs in worker processes ahead of the
inserts (``api.imports.terms``). Each chunk is written with one executemany per table.

Strict mode is all or nothing across every file of the call, in ONE pass: rows are inserted inside a
savepoint as they come; the first refused row stops the tokenizing and writing (the rest is still
read and checked, so the report lists every problem) and the savepoint is rolled back at the end.
A valid file costs one pass, and a refused file writes nothing. Keep-valid writes the valid rows; a
file refused while being read (too many rows, a broken line) is undone by a savepoint of its own.
More rows in the whole call than ``ImportLimits.max_rows`` refuse the call: nothing is written.
"""

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import islice
from typing import Any, Final, TypeVar, cast

from pydantic import ValidationError
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from api.auth.tokens import new_receipt_salt
from api.db.base import utcnow
from api.db.models import Demand, DemandEvent, DemandStatus
from api.demands.schemas import DemandCreate
from api.errors import FieldError, translate_all
from api.imports.admission import CAMPAIGN, Admissions, LateAdmission
from api.imports.audit import audit_import
from api.imports.keys import dedup_key
from api.imports.limits import ImportLimits
from api.imports.readers import FileRefusedError, ParsedFile, Record, file_error
from api.imports.report import Duplicate, FileSummary, ImportMode, ImportReport, RowError
from api.imports.terms import ChunkTokenizer
from api.matching.inputs import demand_record
from api.programmes.models import CampaignOverride
from api.reference import suggest_region
from matcher.texts import DemandTokens

__all__ = ["CHUNK", "Accepted", "dedup_key", "import_files", "payload_values", "validate"]

CHUNK: Final = 2000
ALL_FILES: Final = "（全部文件）"
_KEYWORD_SEPARATORS: Final = re.compile(r"[、,，;；\n]+")

T = TypeVar("T")

# (stage, done, total): the command line draws its progress bars from these calls.
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid, new row with its deduplication key and, when late, the override it uses."""

    record: Record
    payload: DemandCreate
    key: str
    late: LateAdmission | None = None


class _CallRefusedError(Exception):
    """The whole call is over a limit: nothing is written."""


def payload_values(values: dict[str, str]) -> dict[str, Any]:
    """Record texts as the demand schema takes them: keywords become a list."""
    data: dict[str, Any] = dict(values)
    if "keywords" in data:
        data["keywords"] = [word for word in _KEYWORD_SEPARATORS.split(data["keywords"]) if word.strip()]
    return data


def validate(record: Record, campaign_id: int | None = None) -> DemandCreate | list[RowError]:
    """The record as a valid submission (in the import's campaign, if any), or every error of its fields."""
    try:
        payload = DemandCreate.model_validate(payload_values(record.values))
    except ValidationError as error:
        return _row_errors(record, translate_all(error.errors()))
    if campaign_id is None or payload.campaign_id == campaign_id:
        return payload
    if payload.campaign_id is None:
        return payload.model_copy(update={"campaign_id": campaign_id})
    message = f"该行征集活动编号为 {payload.campaign_id}，与本次导入指定的征集活动 {campaign_id} 不一致"
    return _row_errors(record, [FieldError(CAMPAIGN, "campaign_mismatch", message)])


def _row_errors(record: Record, errors: Iterable[FieldError]) -> list[RowError]:
    return [RowError(e.field, e.code, e.message, source=record.source, row=record.row) for e in errors]


@dataclass(slots=True)
class _Run:
    """The state of one import call."""

    session: Session
    report: ImportReport
    limits: ImportLimits
    admissions: Admissions
    tokens: ChunkTokenizer
    progress: ProgressCallback
    now: datetime
    staff_id: int | None
    campaign_id: int | None
    depth: int
    # Every key of the call, with where it was first seen: rows repeated within the import.
    seen: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    rows_read: int = 0
    written: int = 0

    @property
    def writing(self) -> bool:
        """False once strict mode refused something: the rest is only checked."""
        return not (self.report.mode is ImportMode.STRICT and self.report.errors)

    def count(self, rows: int) -> None:
        """Count rows read; refuse the call past the row limit."""
        self.rows_read += rows
        if self.rows_read > self.limits.max_rows:
            raise _CallRefusedError


def import_files(
    session: Session,
    files: Iterable[ParsedFile],
    *,
    mode: ImportMode,
    limits: ImportLimits,
    staff_id: int | None = None,
    n_jobs: int = 1,
    progress: ProgressCallback | None = None,
    campaign_id: int | None = None,
) -> ImportReport:
    """Import the files in the session's transaction (flushed, not committed) and report on every row.

    An import that took effect leaves one audit log entry (``api.imports.audit``) in that transaction.

    ``campaign_id`` tags every row that names no campaign of its own; with ``n_jobs`` > 1, ``n_jobs - 1``
    worker processes tokenize while this one reads, checks and inserts.
    """
    report = ImportReport(mode=mode)
    with ChunkTokenizer(n_jobs) as tokens:  # forked before this call opens any connection
        now = utcnow()
        run = _Run(
            session, report, limits, Admissions(session, now), tokens, progress or _silent, now,
            staff_id, campaign_id, depth=max(n_jobs, 1),
        )  # fmt: skip
        if campaign_id is not None and not run.admissions.campaign_exists(campaign_id):
            message = f"征集活动 {campaign_id} 不存在，请核对征集活动编号"
            report.errors.append(file_error(ALL_FILES, "campaign_not_found", message, CAMPAIGN))
            return report
        _import_all(run, files)
    audit_import(session, report, staff_id=staff_id, campaign_id=campaign_id)
    return report


def _silent(_stage: str, _done: int, _total: int) -> None:
    return None


def _import_all(run: _Run, files: Iterable[ParsedFile]) -> None:
    writes = run.session.begin_nested()
    try:
        for parsed in files:
            _import_file(run, parsed)
    except _CallRefusedError:
        writes.rollback()
        message = f"本次导入超过 {run.limits.max_rows} 行的上限，全部未写入，请分批导入"
        run.report.errors.append(file_error(ALL_FILES, "too_many_rows", message))
        run.report.created, run.report.created_ids = 0, []
        return
    except BaseException:
        writes.rollback()
        raise
    if run.writing:
        writes.commit()
    else:
        writes.rollback()
        run.report.created, run.report.created_ids = 0, []


def _import_file(run: _Run, parsed: ParsedFile) -> None:
    summary = FileSummary(parsed.source, extra_columns=parsed.extra_columns)
    run.report.files.append(summary)
    if parsed.errors:
        # A file refused as a whole (missing column, over a limit): its rows are counted, not checked.
        run.report.errors.extend(parsed.errors)
        summary.rows = summary.invalid = _count_rows(run, parsed)
        return
    writes = run.session.begin_nested()
    writer = _Writer(run)
    try:
        _stream(run, parsed, summary, writer)
    except FileRefusedError as error:
        writer.cancel()
        writes.rollback()
        _forget(run, parsed.source)
        summary.valid, summary.invalid = 0, summary.rows
        run.report.errors.append(file_error(parsed.source, error.code, str(error)))
        return
    except BaseException:
        writer.cancel()
        raise
    writes.commit()
    run.report.created += len(writer.ids)
    run.report.created_ids.extend(writer.ids)


def _stream(run: _Run, parsed: ParsedFile, summary: FileSummary, writer: "_Writer") -> None:
    for chunk in _batched(parsed.records, CHUNK):
        run.count(len(chunk))
        summary.rows += len(chunk)
        accepted = _check(run, chunk, summary)
        if run.writing and accepted:
            writer.push(accepted)
        elif not run.writing:
            writer.cancel()
        run.progress(f"校验 {parsed.source}", summary.rows, max(summary.rows, parsed.expected_rows or 0))
    writer.drain()


def _count_rows(run: _Run, parsed: ParsedFile) -> int:
    rows = 0
    try:
        for chunk in _batched(parsed.records, CHUNK):
            run.count(len(chunk))
            rows += len(chunk)
    except FileRefusedError:
        pass  # the file is refused already; one reason is enough
    return rows


def _forget(run: _Run, source: str) -> None:
    # Rows of a file rolled back are no longer in the database: a copy elsewhere is not a duplicate.
    run.seen = {key: where for key, where in run.seen.items() if where[0] != source}


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --- checking -------------------------------------------------------------------------------------


def _check(run: _Run, chunk: list[Record], summary: FileSummary) -> list[Accepted]:
    """The chunk's rows that are valid, new and admitted; everything else is reported."""
    candidates: list[tuple[Record, DemandCreate, str]] = []
    for record in chunk:
        outcome = validate(record, run.campaign_id)
        if isinstance(outcome, list):
            _refuse_row(run, summary, outcome)
            continue
        key = dedup_key(outcome.org_name, outcome.title, outcome.description)
        if (first := run.seen.get(key)) is not None:
            summary.valid += 1
            run.report.duplicates.append(
                Duplicate(record.source, record.row, first_source=first[0], first_row=first[1])
            )
            continue
        run.seen[key] = (record.source, record.row)
        candidates.append((record, outcome, key))
    return _admit_new(run, candidates, summary)


def _admit_new(
    run: _Run, candidates: list[tuple[Record, DemandCreate, str]], summary: FileSummary
) -> list[Accepted]:
    stored = _stored_keys(run.session, [key for _, _, key in candidates])
    accepted: list[Accepted] = []
    for record, payload, key in candidates:
        if key in stored:
            summary.valid += 1
            run.report.duplicates.append(Duplicate(record.source, record.row, demand_id=stored[key]))
            continue
        admission = run.admissions.admit(payload)
        if isinstance(admission, list):
            del run.seen[key]
            _refuse_row(run, summary, _row_errors(record, admission))
            continue
        summary.valid += 1
        accepted.append(Accepted(record, payload, key, admission))
    return accepted


def _refuse_row(run: _Run, summary: FileSummary, errors: list[RowError]) -> None:
    summary.invalid += 1
    run.report.errors.extend(errors)


def _stored_keys(session: Session, keys: list[str]) -> dict[str, int]:
    if not keys:
        return {}
    query = select(Demand.dedup_key, Demand.id).where(Demand.dedup_key.in_(keys))
    return {key: demand_id for key, demand_id in session.execute(query) if key is not None}


# --- writing --------------------------------------------------------------------------------------


class _Writer:
    """Writes accepted chunks once their terms are ready, keeping up to ``depth`` chunks in flight."""

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._pending: deque[tuple[list[Accepted], Future[list[DemandTokens]]]] = deque()
        self.ids: list[int] = []

    def push(self, accepted: list[Accepted]) -> None:
        """Start tokenizing ``accepted``; write the oldest chunks beyond the depth."""
        texts = [demand_record(item.payload) for item in accepted]
        self._pending.append((accepted, self._run.tokens.submit(texts)))
        while len(self._pending) > self._run.depth:
            self._write_oldest()

    def drain(self) -> None:
        """Write every chunk still in flight."""
        while self._pending and self._run.writing:
            self._write_oldest()
        self.cancel()

    def cancel(self) -> None:
        """Drop the chunks in flight (strict mode refused something, or the file was refused)."""
        for _, future in self._pending:
            future.cancel()
        self._pending.clear()

    def _write_oldest(self) -> None:
        accepted, future = self._pending.popleft()
        self.ids.extend(_write_chunk(self._run, accepted, future.result()))
        self._run.written += len(accepted)
        self._run.progress("写入", self._run.written, max(self._run.written, self._run.rows_read))


def _write_chunk(run: _Run, chunk: list[Accepted], terms: list[DemandTokens]) -> list[int]:
    demands, events = cast(Table, Demand.__table__), cast(Table, DemandEvent.__table__)
    session, now = run.session, run.now
    # A plain executemany (pipelined by psycopg) is several times faster than INSERT .. RETURNING;
    # the unique key then finds the new ids.
    session.execute(
        insert(demands), [_demand_row(item, tokens, now) for item, tokens in zip(chunk, terms, strict=True)]
    )
    id_of = _stored_keys(session, [item.key for item in chunk])
    ids = [id_of[item.key] for item in chunk]
    rows = [_event_row(i, item, run.staff_id, now) for i, item in zip(ids, chunk, strict=True)]
    late = [(i, item.late) for i, item in zip(ids, chunk, strict=True) if item.late is not None]
    session.execute(insert(events), rows + [_late_event_row(i, admission, now) for i, admission in late])
    if late:
        _use_overrides(session, late, now)
    return ids


def _use_overrides(session: Session, late: list[tuple[int, LateAdmission]], now: datetime) -> None:
    table = cast(Table, CampaignOverride.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("override_id"))
        .values(demand_id=bindparam("new_demand_id"), used_at=now)
    )
    session.execute(statement, [{"override_id": a.override_id, "new_demand_id": i} for i, a in late])


@lru_cache(maxsize=8192)
def _region_of(address: str) -> str | None:
    # The rows of one 汇总表 often share an address (branches of one company, a county's industrial park).
    return suggest_region(address)


def _demand_row(item: Accepted, tokens: DemandTokens, now: datetime) -> dict[str, Any]:
    fields = item.payload.model_dump()
    suggested = fields["region_code"] is None and bool(fields["address"])
    if suggested:
        fields["region_code"] = _region_of(fields["address"])
    return {
        **fields,
        "status": DemandStatus.SUBMITTED,
        "region_suggested": suggested and fields["region_code"] is not None,
        "tokens": tokens,
        "receipt_salt": new_receipt_salt(),
        "idempotency_key": None,
        "request_fingerprint": None,
        "dedup_key": item.key,
        "created_at": now,
        "updated_at": now,
    }


def _event_row(demand_id: int, item: Accepted, staff_id: int | None, now: datetime) -> dict[str, Any]:
    return {
        "demand_id": demand_id,
        "kind": "imported",
        "from_status": None,
        "to_status": DemandStatus.SUBMITTED,
        "reason": None,
        "changes": {"source": item.record.source, "row": item.record.row},
        "staff_id": staff_id,
        "created_at": now,
    }


def _late_event_row(demand_id: int, admission: LateAdmission, now: datetime) -> dict[str, Any]:
    return {
        "demand_id": demand_id,
        "kind": "late_admitted",
        "from_status": None,
        "to_status": None,
        "reason": admission.reason,
        "changes": None,
        "staff_id": admission.staff_id,
        "created_at": now,
    }
