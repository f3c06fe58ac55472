"""The HTTP edge every response passes: problem-details errors, request ids, security headers and (opt-in) CORS."""

from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from reelscope_ingest.api.error_handlers import install_problem_handlers
from reelscope_ingest.api.problems import add_problem_schema
from reelscope_ingest.api.request_id import REQUEST_ID_HEADER, RequestIdMiddleware
from reelscope_ingest.api.security_headers import SecurityHeaders, SecurityHeadersMiddleware
from reelscope_ingest.core.http_config import HttpSettings

CORS_METHODS = ("GET", "POST", "DELETE")
CORS_HEADERS = ("Authorization", "Content-Type", REQUEST_ID_HEADER)
CORS_EXPOSED = (REQUEST_ID_HEADER, "Location", "Retry-After")


def harden(app: FastAPI, settings: HttpSettings) -> None:
    """Install the edge on `app`. Outermost first: request id (so everything inside logs it), security headers,
    CORS only when origins are configured (its preflight answers get the headers above too)."""
    security = SecurityHeaders(served_over_https=settings.served_over_https)
    install_problem_handlers(app, security)
    if settings.cors_allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allowed_origins),
            allow_methods=list(CORS_METHODS),
            allow_headers=list(CORS_HEADERS),
            expose_headers=list(CORS_EXPOSED),
        )
    app.add_middleware(SecurityHeadersMiddleware, headers=security)
    app.add_middleware(RequestIdMiddleware)  # added last: outermost of ours

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_problem_schema(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
