"""The access table: for every route, which answer each role must get.

Roles: anonymous, the enterprise holding demand A's receipt token (enterprise_a), the enterprise of
demand B (enterprise_b), a reviewer and an admin. Every path id points at demand A and its
neighbours (see ``world.py``). Expected answers:

* ``"ok"``    — a 2xx answer;
* ``"allow"`` — let through: neither 401 nor 403 (the request may still be refused for its content,
  e.g. 409 for a second identical preference or 404 for a programme that does not exist);
* ``401`` / ``403`` / ``404`` — exactly that status.
"""

from typing import Final

ROLES: Final = ("anonymous", "enterprise_a", "enterprise_b", "reviewer", "admin")
Expected = str | int

POLICIES: Final[dict[str, tuple[Expected, ...]]] = {
    #                 anonymous enterprise_a enterprise_b reviewer admin
    "staff": (401, 401, 401, "ok", "ok"),
    "staff*": (401, 401, 401, "allow", "allow"),
    "admin": (401, 401, 401, 403, "ok"),
    "admin*": (401, 401, 401, 403, "allow"),
    "open": ("ok", "ok", "ok", "ok", "ok"),
    "unpublished": (404, 404, 404, 404, 404),
    "receipt": (401, "ok", 403, "ok", "ok"),
    "receipt*": (401, "allow", 403, "allow", "allow"),
    "own receipt only": (401, "ok", 403, 401, 401),
    "service": ("ok", "ok", "ok", "ok", "ok"),
}

S, SX, A, AX = "staff", "staff*", "admin", "admin*"
ROUTES: Final[dict[tuple[str, str], str]] = {
    ("GET", "/healthz"): "service",
    # demands
    ("POST", "/api/v1/demands"): "open",
    ("GET", "/api/v1/demands"): S,
    ("GET", "/api/v1/demands/{demand_id}"): "receipt",
    ("PATCH", "/api/v1/demands/{demand_id}"): S,
    ("POST", "/api/v1/demands/{demand_id}/transitions"): SX,
    ("GET", "/api/v1/demands/export.xlsx"): S,
    ("GET", "/api/v1/demands/export.csv"): S,
    ("POST", "/api/v1/demands/import"): SX,
    # enterprise preferences and pairings
    ("GET", "/api/v1/demands/{demand_id}/preferences"): "receipt",
    ("POST", "/api/v1/demands/{demand_id}/preferences"): "receipt*",
    ("DELETE", "/api/v1/demands/{demand_id}/preferences/{preference_id}"): "receipt*",
    ("GET", "/api/v1/enterprise/demands/{demand_id}/pairings"): "own receipt only",
    ("GET", "/api/v1/public/demands"): "open",
    ("GET", "/api/v1/public/demands/{demand_id}"): "unpublished",
    # providers: staff read, admins write
    ("GET", "/api/v1/societies"): S,
    ("POST", "/api/v1/societies"): AX,
    ("GET", "/api/v1/societies/{society_id}"): S,
    ("PATCH", "/api/v1/societies/{society_id}"): AX,
    ("DELETE", "/api/v1/societies/{society_id}"): AX,
    ("GET", "/api/v1/societies/{society_id}/branches"): S,
    ("POST", "/api/v1/societies/{society_id}/branches"): AX,
    ("GET", "/api/v1/branches/{branch_id}"): S,
    ("PATCH", "/api/v1/branches/{branch_id}"): AX,
    ("DELETE", "/api/v1/branches/{branch_id}"): AX,
    ("GET", "/api/v1/experts"): S,
    ("POST", "/api/v1/experts"): AX,
    ("GET", "/api/v1/experts/{expert_id}"): S,
    ("PATCH", "/api/v1/experts/{expert_id}"): AX,
    ("DELETE", "/api/v1/experts/{expert_id}"): AX,
    ("POST", "/api/v1/providers/import"): AX,
    # matching
    ("GET", "/api/v1/demands/{demand_id}/matches"): SX,
    ("GET", "/api/v1/encoding"): S,
    ("GET", "/api/v1/learning"): S,
    ("PUT", "/api/v1/learning"): AX,
    ("GET", "/api/v1/learning/events"): S,
    ("POST", "/api/v1/rounds"): SX,
    ("GET", "/api/v1/rounds/{round_id}"): S,
    ("POST", "/api/v1/rounds/{round_id}/cancel"): SX,
    ("GET", "/api/v1/rounds/{round_id}/diagnosis"): SX,
    ("GET", "/api/v1/rounds/{round_id}/pairings"): S,
    ("GET", "/api/v1/rounds/{round_id}/pairings.xlsx"): S,
    ("GET", "/api/v1/rounds/{round_id}/report.html"): SX,
    ("GET", "/api/v1/rounds/{round_id}/report.xlsx"): SX,
    ("GET", "/api/v1/reports/round/{round_id}.html"): SX,
    ("GET", "/api/v1/reports/round/{round_id}.xlsx"): SX,
    ("GET", "/api/v1/demands/matches.xlsx"): SX,
    ("GET", "/api/v1/reports/period.html"): SX,
    ("GET", "/api/v1/reports/period.xlsx"): SX,
    ("GET", "/api/v1/pairings/{pairing_id}"): S,
    ("POST", "/api/v1/pairings/{pairing_id}/transitions"): SX,
    # programmes
    ("GET", "/api/v1/programmes"): S,
    ("POST", "/api/v1/programmes"): SX,
    ("GET", "/api/v1/programmes/{key}/summary"): SX,
    ("POST", "/api/v1/programmes/{key}/tags"): SX,
    ("GET", "/api/v1/campaigns"): S,
    ("POST", "/api/v1/campaigns"): SX,
    ("GET", "/api/v1/campaigns/{key}"): SX,
    ("GET", "/api/v1/campaigns/{key}/dashboard"): SX,
    ("POST", "/api/v1/campaigns/{key}/close"): SX,
    ("POST", "/api/v1/campaigns/{key}/overrides"): SX,
    ("GET", "/api/v1/reporting-units"): S,
    ("POST", "/api/v1/reporting-units"): SX,
    ("GET", "/api/v1/standing-units"): S,
    ("POST", "/api/v1/standing-units"): SX,
    ("POST", "/api/v1/standing-units/from-pairing"): SX,
    ("GET", "/api/v1/standing-units/{unit_id}"): SX,
    ("PATCH", "/api/v1/standing-units/{unit_id}"): SX,
    ("GET", "/api/v1/standing-units/{unit_id}/activities"): SX,
    ("POST", "/api/v1/standing-units/{unit_id}/activities"): SX,
    ("POST", "/api/v1/activities"): SX,
    ("GET", "/api/v1/reports/quarterly"): SX,
    ("PUT", "/api/v1/reports/quarterly/shortcomings"): SX,
    ("POST", "/api/v1/reports/quarterly/filings"): SX,
    ("GET", "/api/v1/reports/due"): S,
    # security: audit log and staff management are for admins
    ("GET", "/api/v1/audit"): A,
    ("GET", "/api/v1/audit/export.csv"): A,
    ("GET", "/api/v1/audit/export.xlsx"): A,
    ("GET", "/api/v1/staff"): A,
    ("POST", "/api/v1/staff"): AX,
    ("PATCH", "/api/v1/staff/{staff_id}"): AX,
    ("POST", "/api/v1/staff/{staff_id}/tokens"): A,
    ("POST", "/api/v1/staff/{staff_id}/revoke"): A,
}

# Staff pages (server-rendered): signed-in staff get the page, everyone else the sign-in page.
PAGE_POLICIES: Final[dict[str, tuple[Expected, ...]]] = {
    "page": (303, 303, 303, 200, 200),
    "open page": (200, 200, 200, 200, 200),
    "redirect": (303, 303, 303, 303, 303),
    # A page of an id the world lacks: signed-in staff get its 404 page, others the sign-in page.
    "page*": (303, 303, 303, "allow", "allow"),
}
PAGES: Final[dict[str, str]] = {
    "/login": "open page",
    "/static/style.css": "open page",
    "/static/app.js": "open page",
    "/": "page",
    "/demands": "page",
    "/demands/{demand_id}": "page",
    "/demands/{demand_id}/edit": "page",
    "/demands/import": "page",
    "/demands/export.xlsx": "page",
    "/rounds": "page",
    "/rounds/{round_id}": "page",
    "/rounds/{round_id}/progress": "page",
    "/rounds/{round_id}/pairings": "page",
    "/pairings": "page",
    "/learning": "page",
    "/regions/children": "page",
    "/societies": "page",
    "/societies/{society_id}": "page",
    "/experts": "page",
    "/experts/{expert_id}": "page",
    "/campaigns": "page",
    "/campaigns/{key}": "page*",
    "/standing-units": "page",
    "/standing-units/new": "page*",
    "/standing-units/{unit_id}": "page*",
    "/quarterly-reports": "page",
    "/quarterly-reports/report.xlsx": "page*",
    "/quarterly-reports/report.docx": "page*",
}
