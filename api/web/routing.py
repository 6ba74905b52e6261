"""The route class of the staff pages: errors become pages, not JSON."""

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from api.errors import HuiqiError
from api.web.deps import CsrfRejectedError, SignInRequiredError
from api.web.templating import render

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class WebRoute(APIRoute):
    """An APIRoute whose failures answer with a Chinese page or a redirect to the sign-in page."""

    def get_route_handler(self) -> Handler:
        """Wrap the standard handler with the pages' error answers."""
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequiredError:
                return _to_sign_in(request)
            except CsrfRejectedError:
                message = "表单已过期或来源不明（CSRF 校验未通过）。请返回上一页、刷新后重新提交。"
                return render(request, "error.html", {"message": message}, status_code=403)
            except HuiqiError as error:
                context = {"message": error.detail, "errors": error.errors}
                return render(request, "error.html", context, status_code=error.status_code)

        return page_handler


def _to_sign_in(request: Request) -> Response:
    # After signing in, a GET goes back where it was; a form post is not replayed.
    target = "/"
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
