"""Security headers on every response: an API answers JSON only, so browsers get told to sniff nothing, frame
nothing, load nothing and cache nothing of `/v1`.

The Swagger UI at `/docs` is an HTML page that loads its script and style from the jsDelivr CDN and runs an inline
bootstrap script; only that page gets a Content-Security-Policy relaxed just enough for it. Strict-Transport-Security
is sent only when the API is known to be reached over HTTPS (`REELSCOPE_SERVED_OVER_HTTPS`): over plain HTTP it
would be ignored, and on a mis-set deployment it would lock browsers out.
"""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'unsafe-inline' https://cdn.jsdelivr.net; img-src data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Which security headers a response to a given path gets."""

    def __init__(self, *, served_over_https: bool) -> None:
        self.served_over_https = served_over_https

    def for_path(self, path: str) -> dict[str, str]:
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": DOCS_CSP if path in DOCS_PATHS else API_CSP,
        }
        if path == "/v1" or path.startswith("/v1/"):
            headers["Cache-Control"] = "no-store"
        if self.served_over_https:
            headers["Strict-Transport-Security"] = HSTS
        return headers


class SecurityHeadersMiddleware:
    """Pure ASGI: sets the headers on the response start, leaving the bodies (and upload streams) alone."""

    def __init__(self, app: ASGIApp, headers: SecurityHeaders) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers.for_path(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
