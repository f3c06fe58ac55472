"""One id per HTTP request, so a client's error report, our log lines and the trace can be matched.

The client's `X-Request-ID` is kept when it is sane (a proxy or the caller may already have one); otherwise the
service makes one. It is echoed on every response, bound to every log line of the request as `request_id`, and put
on the server span as `reelscope.request.id`. Pure ASGI, so streamed uploads stay streamed and the bound log
fields are seen by the code handling the request (BaseHTTPMiddleware would run it in another task).
"""

import re
import uuid
from typing import Any

import structlog
from opentelemetry import trace
from reelscope_telemetry.attributes import REQUEST_ID
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_STATE_KEY = "request_id"


def accepted_request_id(incoming: str | None) -> str:
    """The incoming id if it is at most 128 characters of `[A-Za-z0-9._-]`, else a new uuid4 hex."""
    if incoming is not None and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def request_id_of(scope: Scope) -> str:
    """The id the middleware gave this request (a fresh one if it did not run, so an error still has one)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    request_id = state.get(_STATE_KEY)
    if not isinstance(request_id, str):
        request_id = state[_STATE_KEY] = uuid.uuid4().hex
    return request_id


class RequestIdMiddleware:
    """Give each HTTP request its id: in `request.state.request_id`, the logs, the server span and the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accepted_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        scope.setdefault("state", {})[_STATE_KEY] = request_id
        trace.get_current_span().set_attribute(REQUEST_ID, request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)
