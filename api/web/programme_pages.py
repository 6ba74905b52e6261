"""The staff pages of the programmes work: collection campaigns, standing units and the 附件2/3 reports."""

from fastapi import APIRouter

from api.web import campaign_pages, quarterly_pages, unit_pages
from api.web.routing import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
for pages in (campaign_pages, unit_pages, quarterly_pages):
    router.include_router(pages.router)
