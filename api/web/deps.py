"""Dependencies of the staff pages: the signed-in session and CSRF-checked form data."""

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from api.db.models import StaffUser
from api.deps import SessionDep
from api.security.audit import attach_actor
from api.web.models import StaffSession
from api.web.sessions import SESSION_COOKIE, csrf_matches, find_session


class SignInRequiredError(Exception):
    """The page needs a signed-in staff member; the browser is sent to the sign-in page."""


class CsrfRejectedError(Exception):
    """A form came without the CSRF token of its session."""


def current_session(request: Request, session: SessionDep) -> StaffSession:
    """The signed-in session of the request's cookie; otherwise off to the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    found = find_session(session, token=token) if token else None
    if found is None:
        raise SignInRequiredError
    request.state.web_session = found
    attach_actor(session, found.staff)  # the page's audited changes are this staff member's
    return found


WebSessionDep = Annotated[StaffSession, Depends(current_session)]


def current_staff(web_session: WebSessionDep) -> StaffUser:
    """The signed-in staff member."""
    return web_session.staff


WebStaffDep = Annotated[StaffUser, Depends(current_staff)]


async def read_form(request: Request) -> FormData:
    """The posted form (urlencoded or multipart), parsed once."""
    return await request.form()


def checked_form(web_session: WebSessionDep, form: Annotated[FormData, Depends(read_form)]) -> FormData:
    """The posted form, after checking its CSRF token against the session's."""
    submitted = form.get("csrf_token")
    if not csrf_matches(web_session, submitted if isinstance(submitted, str) else None):
        raise CsrfRejectedError
    return form


FormDep = Annotated[FormData, Depends(checked_form)]
