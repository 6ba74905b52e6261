"""What one upload may cost: bytes on the wire, bytes once unzipped, rows and files.

XLSX and DOCX are zip archives: a few kilobytes can declare gigabytes of content (a zip bomb). The
sizes declared in the archive's directory are checked before any reader opens it; Python's zipfile
never inflates a member past its declared size, so the declared sizes bound the real cost.
"""

import io
import zipfile
from dataclasses import dataclass
from typing import Final

MB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Upper bounds of one import call."""

    max_file_bytes: int = 50 * MB
    # The whole request body of one upload call (all its files and the multipart framing).
    max_upload_bytes: int = 100 * MB
    max_unzipped_bytes: int = 400 * MB
    max_rows: int = 100_000
    max_files: int = 2_000
    # Text compresses about 10:1; 200:1 and more is a bomb, not a spreadsheet.
    max_compression_ratio: int = 200


class LimitExceededError(Exception):
    """An input over one of the limits; ``code`` is the machine code, the message is Chinese."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def human_size(size: int) -> str:
    """A byte count for people: 52428800 -> "50 MB"."""
    if size >= MB:
        return f"{size / MB:.0f} MB"
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} 字节"


def check_file_size(size: int, limits: ImportLimits) -> None:
    """Refuse a file larger than the upload limit."""
    if size > limits.max_file_bytes:
        raise LimitExceededError(
            "file_too_large",
            f"文件大小 {human_size(size)} 超过上限 {human_size(limits.max_file_bytes)}，请拆分后分批导入",
        )


def check_archive(data: bytes, limits: ImportLimits) -> zipfile.ZipFile:
    """Open ``data`` as a zip archive whose declared content stays within the limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise LimitExceededError("file_corrupt", "文件已损坏或不是有效的压缩格式，无法读取") from None
    members = archive.infolist()
    if len(members) > limits.max_files * 20:
        raise LimitExceededError("too_many_members", f"压缩包内文件过多（{len(members)} 个），无法导入")
    total = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members) or 1
    if total > limits.max_unzipped_bytes or total > packed * limits.max_compression_ratio + MB:
        raise LimitExceededError(
            "unzipped_too_large",
            f"文件解压后达 {human_size(total)}（上限 {human_size(limits.max_unzipped_bytes)}，"
            f"压缩比上限 {limits.max_compression_ratio}:1），疑似压缩炸弹，已拒绝",
        )
    return archive
