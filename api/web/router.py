"""The staff pages, mounted on the service's app by one include line."""

from pathlib import Path
from typing import Final

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from api.errors import NotFoundError
from api.web import (
    auth_pages,
    demand_pages,
    entry_pages,
    import_pages,
    learning_pages,
    matching_pages,
    programme_pages,
    provider_pages,
    regions,
    report_pages,
    submit_pages,
    workbench,
)
from api.web.routing import WebRoute

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES: Final = {
    "style.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
}

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The pages' stylesheet and script (a fixed list: no path from the URL reaches the disk)."""
    if name not in STATIC_FILES:
        raise NotFoundError("没有这个文件")
    return FileResponse(
        STATIC_DIR / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "max-age=300"}
    )


# The import pages come first: /demands/import must not be read as a demand's id.
for pages in (
    workbench,
    auth_pages,
    import_pages,
    entry_pages,
    demand_pages,
    matching_pages,
    learning_pages,
    provider_pages,
    report_pages,
    programme_pages,
    submit_pages,
    regions,
):
    router.include_router(pages.router)
