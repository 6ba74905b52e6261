"""Regions as staff name them: a name (福建, 福州市鼓楼区) or a code prefix is read as a code prefix, and
the province → city → county lists of the cascade. Codes stay what is stored and filtered on."""

from functools import lru_cache
from typing import Final

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api.reference import region_codes, region_prefix, suggest_region
from api.web.deps import WebStaffDep
from api.web.routing import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LEVEL_DIGITS: Final = (2, 4, 6)


def region_from_text(text: str) -> str | None:
    """The code prefix ``text`` names: digits are taken as they are, a name is looked up; None when
    the text names no region."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        return text if 2 <= len(text) <= 12 else None
    code = suggest_region(text) if text else None
    return region_prefix(code) if code else None


def full_region_code(text: str) -> str:
    """The 12-digit code of the region ``text`` names (a name, or a 2- to 12-digit code or prefix);
    text that names no region is returned as it is, for the intake rules to refuse in their words."""
    prefix = region_from_text(text)
    if prefix is None:
        return text
    code = prefix.ljust(12, "0")[:12]
    return code if code in region_codes() else text


def region_name(prefix: str) -> str:
    """The name of the region of a code prefix ("3501" -> "福州市"); the prefix itself when unknown."""
    code = prefix.ljust(12, "0")[:12]
    return region_codes().get(code, prefix)


@lru_cache(maxsize=512)
def children(parent: str) -> tuple[tuple[str, str], ...]:
    """The regions one level below ``parent`` ("" for the provinces) as (code prefix, name)."""
    depth = len(parent)
    if depth not in (0, 2, 4):
        return ()
    digits = depth + 2
    found = []
    for code, name in region_codes().items():
        if not code.startswith(parent) or code[depth:digits] == "00" or code[digits:].strip("0"):
            continue
        found.append((code[:digits], name))
    return tuple(sorted(set(found)))


@router.get("/regions/children")
def region_children(_staff: WebStaffDep, parent: str = "") -> Response:
    """The cascade's next list, as JSON for the pages' script."""
    parent = parent if parent.isascii() and parent.isdigit() else ""
    items = [{"code": code, "name": name} for code, name in children(parent[:4])]
    return JSONResponse(items, headers={"Cache-Control": "max-age=3600"})
