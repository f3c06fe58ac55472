"""Who is calling: every `/v1` route needs an API key (`Authorization: Bearer rsk_…`) holding the route's scope.

Missing or invalid keys answer 401 with `WWW-Authenticate: Bearer`; a valid key without the scope answers 403.
The caller's key id and tenant go on the server span and on every log line of the request (never the key)."""

from collections.abc import Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace
from reelscope_telemetry import attributes

from reelscope_ingest.api.deps import StateDep
from reelscope_ingest.api.problems import INSUFFICIENT_SCOPE, UNAUTHENTICATED, ApiProblem
from reelscope_ingest.core.keys import Caller, Scope

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `python -m reelscope_ingest.keys create`: `Authorization: Bearer rsk_…`",
)
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def authenticate(credentials: CredentialsDep, state: StateDep) -> Caller:
    """The live key behind the request, or 401."""
    if credentials is None:
        raise ApiProblem(
            UNAUTHENTICATED,
            "send an API key: Authorization: Bearer rsk_…",
            {"WWW-Authenticate": 'Bearer realm="reelscope"'},
        )
    row = await state.keys.authenticate(credentials.credentials)
    if row is None:
        raise ApiProblem(
            UNAUTHENTICATED,
            "the API key is not valid: unknown, malformed or revoked",
            {"WWW-Authenticate": 'Bearer realm="reelscope", error="invalid_token"'},
        )
    caller = Caller.of(row)
    span = trace.get_current_span()
    span.set_attribute(attributes.API_KEY_ID, caller.key_id)
    span.set_attribute(attributes.TENANT, caller.tenant)
    structlog.contextvars.bind_contextvars(api_key_id=caller.key_id, tenant=caller.tenant)
    return caller


def require(scope: Scope) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency: the authenticated caller, if its key holds `scope` (else 403)."""

    async def check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if scope not in caller.scopes:
            raise ApiProblem(
                INSUFFICIENT_SCOPE,
                f"this API key lacks the '{scope}' scope (it has: {', '.join(sorted(caller.scopes)) or 'none'})",
                {"WWW-Authenticate": f'Bearer realm="reelscope", error="insufficient_scope", scope="{scope}"'},
            )
        return caller

    return check


SubmitterDep = Annotated[Caller, Depends(require(Scope.SUBMIT))]
ReaderDep = Annotated[Caller, Depends(require(Scope.READ))]
AdminDep = Annotated[Caller, Depends(require(Scope.ADMIN))]
