"""Validate read records with the demand schema, skip duplicates, write the rest in bulk.

Strict mode is all or nothing across every file of the call; keep-valid writes the valid rows. Rows
are inserted with one multi-row INSERT per chunk (RETURNING the ids in parameter order), and each
gets what a single submission gets: status, receipt salt, a suggested region, an event and tokens.
"""

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar, cast

from pydantic import ValidationError
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from api.auth.tokens import new_receipt_salt
from api.db.base import utcnow
from api.db.models import Demand, DemandEvent, DemandStatus
from api.demands.schemas import DemandCreate
from api.errors import translate_all
from api.imports.limits import ImportLimits
from api.imports.readers import ParsedFile, Record, file_error
from api.imports.report import Duplicate, FileSummary, ImportMode, ImportReport, RowError
from api.matching.engine import demand_record, tokenize_demands
from api.reference import suggest_region

CHUNK: Final = 1000
TOKENIZE_CHUNK: Final = 5000
_KEYWORD_SEPARATORS: Final = re.compile(r"[、,，;；\n]+")

T = TypeVar("T")

# (stage, done, total): the command line draws its progress bars from these calls.
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid row with its deduplication key."""

    record: Record
    payload: DemandCreate
    key: str


def _batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    return (items[start : start + size] for start in range(0, len(items), size))


def dedup_key(org_name: str, title: str, description: str) -> str:
    """The stable identity of a demand: the same organisation, title and description, however spaced."""
    parts = (
        re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()
        for text in (org_name, title, description)
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def payload_values(values: dict[str, str]) -> dict[str, Any]:
    """Record texts as the demand schema takes them: keywords become a list."""
    data: dict[str, Any] = dict(values)
    if "keywords" in data:
        data["keywords"] = [word for word in _KEYWORD_SEPARATORS.split(data["keywords"]) if word.strip()]
    return data


def validate(record: Record) -> DemandCreate | list[RowError]:
    """The record as a valid submission, or every error of its fields."""
    try:
        return DemandCreate.model_validate(payload_values(record.values))
    except ValidationError as error:
        return [
            RowError(
                field=item.field, code=item.code, message=item.message, source=record.source, row=record.row
            )
            for item in translate_all(error.errors())
        ]


def import_files(
    session: Session,
    files: Sequence[ParsedFile],
    *,
    mode: ImportMode,
    limits: ImportLimits,
    staff_id: int | None = None,
    n_jobs: int = 1,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import the parsed files in one transaction (flushed, not committed) and report on every row."""
    report = ImportReport(mode=mode)
    accepted = _check(files, report, limits, progress or _silent)
    fresh = _without_duplicates(session, accepted, report)
    if report.errors and mode is ImportMode.STRICT:
        return report
    ids = _write(session, fresh, staff_id=staff_id, n_jobs=n_jobs, progress=progress or _silent)
    report.created, report.created_ids = len(ids), ids
    return report


def _silent(_stage: str, _done: int, _total: int) -> None:
    return None


def _check(
    files: Sequence[ParsedFile], report: ImportReport, limits: ImportLimits, progress: ProgressCallback
) -> list[Accepted]:
    total = sum(len(parsed.records) for parsed in files)
    if total > limits.max_rows:
        message = f"本次导入共 {total} 行，超过上限 {limits.max_rows} 行，请分批导入"
        report.errors.append(file_error("（全部文件）", "too_many_rows", message))
    accepted: list[Accepted] = []
    done = 0
    for parsed in files:
        accepted.extend(_check_file(parsed, report))
        done += len(parsed.records)
        progress("校验", done, total)
    return accepted


def _check_file(parsed: ParsedFile, report: ImportReport) -> Iterator[Accepted]:
    summary = FileSummary(parsed.source, rows=len(parsed.records), extra_columns=parsed.extra_columns)
    report.files.append(summary)
    report.errors.extend(parsed.errors)
    if parsed.errors:
        # A file refused as a whole (missing column, over a limit): its rows are not checked one by one.
        summary.invalid = summary.rows
        return
    for record in parsed.records:
        outcome = validate(record)
        if isinstance(outcome, list):
            summary.invalid += 1
            report.errors.extend(outcome)
            continue
        summary.valid += 1
        yield Accepted(record, outcome, dedup_key(outcome.org_name, outcome.title, outcome.description))


def _without_duplicates(session: Session, accepted: list[Accepted], report: ImportReport) -> list[Accepted]:
    stored = _stored_keys(session, [item.key for item in accepted])
    first: dict[str, Accepted] = {}
    fresh: list[Accepted] = []
    for item in accepted:
        where = item.record
        if item.key in stored:
            report.duplicates.append(Duplicate(where.source, where.row, demand_id=stored[item.key]))
        elif (earlier := first.get(item.key)) is not None:
            report.duplicates.append(
                Duplicate(
                    where.source, where.row, first_source=earlier.record.source, first_row=earlier.record.row
                )
            )
        else:
            first[item.key] = item
            fresh.append(item)
    return fresh


def _stored_keys(session: Session, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _batched(sorted(set(keys)), CHUNK):
        query = select(Demand.dedup_key, Demand.id).where(Demand.dedup_key.in_(chunk))
        found.update({key: demand_id for key, demand_id in session.execute(query) if key is not None})
    return found


def _write(
    session: Session,
    accepted: list[Accepted],
    *,
    staff_id: int | None,
    n_jobs: int,
    progress: ProgressCallback,
) -> list[int]:
    tokens = _tokens([item.payload for item in accepted], n_jobs, progress)
    now = utcnow()
    demands, events = cast(Table, Demand.__table__), cast(Table, DemandEvent.__table__)
    ids: list[int] = []
    for chunk in _batched(list(zip(accepted, tokens, strict=True)), CHUNK):
        rows = [_demand_row(item, terms, now) for item, terms in chunk]
        # A plain executemany (pipelined by psycopg) is several times faster than INSERT .. RETURNING;
        # the unique key then finds the new ids.
        session.execute(insert(demands), rows)
        id_of = _stored_keys(session, [item.key for item, _ in chunk])
        chunk_ids = [id_of[item.key] for item, _ in chunk]
        session.execute(
            insert(events),
            [_event_row(i, item, staff_id, now) for i, (item, _) in zip(chunk_ids, chunk, strict=True)],
        )
        ids.extend(chunk_ids)
        progress("写入", len(ids), len(accepted))
    return ids


def _tokens(
    payloads: list[DemandCreate], n_jobs: int, progress: ProgressCallback
) -> list[dict[str, list[str]]]:
    # Tokenized once here, as at single intake, so that matching rounds read stored terms.
    terms: list[dict[str, list[str]]] = []
    for chunk in _batched(payloads, TOKENIZE_CHUNK):
        terms.extend(tokenize_demands([demand_record(payload) for payload in chunk], n_jobs=n_jobs))
        progress("分词", len(terms), len(payloads))
    return terms


def _demand_row(item: Accepted, tokens: dict[str, list[str]], now: datetime) -> dict[str, Any]:
    fields = item.payload.model_dump()
    suggested = fields["region_code"] is None and bool(fields["address"])
    if suggested:
        fields["region_code"] = suggest_region(fields["address"])
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
