"""The import report: every refused row, field by field, and what was written or skipped."""

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from api.errors import FieldError


class ImportMode(StrEnum):
    """strict: one bad row refuses everything; keep_valid: good rows are written, bad ones reported."""

    STRICT = "strict"
    KEEP_VALID = "keep_valid"


@dataclass(frozen=True, slots=True)
class RowError(FieldError):
    """A bad field of one row (``row`` is the spreadsheet's row number; None for a Word form or a file)."""

    source: str
    row: int | None


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A row already stored (``demand_id``) or repeated earlier in the same import (``first_row``)."""

    source: str
    row: int | None
    demand_id: int | None = None
    first_source: str | None = None
    first_row: int | None = None


@dataclass(slots=True)
class FileSummary:
    """What one file held."""

    source: str
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    extra_columns: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ImportReport:
    """The outcome of one import call."""

    mode: ImportMode
    files: list[FileSummary] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    created: int = 0
    created_ids: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows read in all files."""
        return sum(summary.rows for summary in self.files)

    @property
    def invalid_rows(self) -> int:
        """Rows (or forms) with at least one error, plus files refused as a whole."""
        return len({(error.source, error.row) for error in self.errors})

    @property
    def refused(self) -> bool:
        """True when anything was refused: the caller must say so."""
        return bool(self.errors)

    @property
    def took_effect(self) -> bool:
        """False when the import was refused as a whole: something refused and nothing written."""
        return not (self.refused and self.created == 0)

    def headline(self) -> str:
        """One Chinese sentence: what was written, skipped and refused."""
        parts = [f"读取 {len(self.files)} 个文件共 {self.rows} 条", f"新建 {self.created} 条"]
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} 条已存在（未重复建档）")
        if self.errors:
            refused = "全部未写入（严格模式）" if self.mode is ImportMode.STRICT else "有误的行未写入"
            parts.append(f"{self.invalid_rows} 条有误，共 {len(self.errors)} 处错误，{refused}")
        return "；".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "mode": self.mode.value,
            "summary": self.headline(),
            "rows": self.rows,
            "created": self.created,
            "duplicates_skipped": len(self.duplicates),
            "invalid_rows": self.invalid_rows,
            "refused": self.refused,
            "created_ids": self.created_ids,
            "files": [asdict(summary) for summary in self.files],
            "errors": [asdict(error) for error in self.errors],
            "duplicates": [asdict(duplicate) for duplicate in self.duplicates],
        }
