"""Start every HTTP request from an empty context.

uvicorn's flow control re-registers a keep-alive connection's socket reader from inside a request
(`resume_reading` during a large upload), so the *next* request on that connection would inherit
that request's context: its span would become a child of the upload's span and its log lines would
carry the upload's `job_id`. Wrapping the app in `FreshContext` cuts that inheritance.
"""

from typing import Any

import structlog
from opentelemetry import context
from opentelemetry.context import Context


class FreshContext:
    """ASGI wrapper: run each call with no OpenTelemetry context and no bound log fields."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        structlog.contextvars.clear_contextvars()
        token = context.attach(Context())
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)
