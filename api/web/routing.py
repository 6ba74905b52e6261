"""The route class of the staff pages: errors become pages, not JSON."""

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import HuiqiError, handle_error, translate_all
from api.web import messages
from api.web.deps import CsrfRejectedError, SignInRequiredError
from api.web.templating import render

NO_SUCH_PAGE = "找不到这个页面。网址可能输错了，或页面已被删除。请从导航重新进入。"
BAD_ADDRESS = "网址中的参数不对（例如页码应为正整数）。请从页面上的链接或导航重新进入。"
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
                context = {"message": error.detail, "errors": messages.listed(error.errors)}
                return render(request, "error.html", context, status_code=error.status_code)
            except RequestValidationError as error:
                # A hand-edited or stale address (page=0, an id that is not a number): a page, not JSON.
                listed = messages.listed(translate_all(error.errors()))
                context = {"message": BAD_ADDRESS, "errors": listed}
                return render(request, "error.html", context, status_code=422)

        return page_handler


def _to_sign_in(request: Request) -> Response:
    # After signing in, a GET goes back where it was; a form post is not replayed.
    target = "/"
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def install_page_errors(app: FastAPI, api_prefix: str) -> None:
    """Answer an address no route serves with the Chinese error page when a browser asks for it.

    The API (``api_prefix``) and clients that do not accept HTML keep the JSON error body.
    """

    async def page_or_json(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and _wants_page(request, api_prefix):
            message = NO_SUCH_PAGE if exc.status_code == 404 else BAD_ADDRESS
            return render(request, "error.html", {"message": message}, status_code=exc.status_code)
        return await handle_error(request, exc)

    app.add_exception_handler(StarletteHTTPException, page_or_json)


def _wants_page(request: Request, api_prefix: str) -> bool:
    path = request.url.path
    is_api = path == api_prefix or path.startswith(api_prefix + "/")
    return not is_api and "text/html" in request.headers.get("accept", "")
