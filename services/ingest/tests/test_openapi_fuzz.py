"""The ingest API fuzzed from its own OpenAPI document with schemathesis: every operation, with a valid key (submit
and read; also one with admin, for the key routes), with no key, with a malformed key and with a revoked key,
answers no 5xx and only what the document declares (status code, content type, headers, body schema).

The app is the real one, served by uvicorn on 127.0.0.1 (an OS-chosen port) with its lifespan running on the
session's RabbitMQ, a fresh SQLite database and fresh storage per test, so schemathesis calls it over real HTTP."""

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reelscope_ingest.api.deps import AppState
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.keys import DEFAULT_TENANT, Scope
from reelscope_ingest.main import create_app
from reelscope_telemetry.testing import CapturedTelemetry
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [
    pytest.mark.integration,
    # The app runs in a thread of this process, and OpenTelemetry's span/trace id generator (and uvicorn) draw from
    # the global `random` while Hypothesis draws a case; Hypothesis then blames the strategy for touching `random`,
    # but only when the timing lines up (a flaky deprecation error, seen in CI). The draws are not ours to fix.
    pytest.mark.filterwarnings(
        "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
    ),
]

MAX_EXAMPLES = 30
"""Cases per operation and auth mode: 8 operations x 5 modes x 30 stays well under a minute on 2 cores."""
CASE_DEADLINE_MS = 5000
REQUEST_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 20.0

# The response checks. Left out on purpose: `positive_data_acceptance` (a schema-valid upload that is not media is
# rightly 415, a burst is rightly 429, an unknown job id is rightly 404, so "valid data must be accepted" does not
# hold for this API) and `negative_data_rejection` (its notion of invalid includes values FastAPI coerces on purpose,
# e.g. a form field "true" for a boolean; the 5xx and conformance checks still run on every negative case).
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

AUTH_MODES = ("valid-key", "admin-key", "no-key", "malformed-key", "revoked-key")


@dataclass
class Served:
    """The app served on a real socket, and the loop it runs on (to call its key store from the test)."""

    app: FastAPI
    base_url: str
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Callable[[AppState], object]) -> object:
        state: AppState = self.app.state.reelscope
        return asyncio.run_coroutine_threadsafe(coroutine(state), self.loop).result(timeout=REQUEST_TIMEOUT_S)  # type: ignore[arg-type]


@dataclass
class Tally:
    """Cases run per operation, and every failure found (its check message and a curl line to replay it)."""

    cases: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


@pytest.fixture
def served(tmp_path: Path, rabbitmq_url: str, telemetry: CapturedTelemetry) -> Iterator[Served]:
    """The real ingest app under uvicorn in a thread, ready (database and RabbitMQ up); stopped afterwards."""
    app = create_app(
        IngestSettings(
            amqp_url=rabbitmq_url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}",
            storage_dir=tmp_path / "storage",
            scratch_dir=tmp_path / "scratch",
        ),
        telemetry.telemetry,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())
        await server.serve(sockets=[sock])

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
            for _ in range(int(READY_TIMEOUT_S / 0.05)):
                try:
                    if http.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                threading.Event().wait(0.05)
            else:
                raise AssertionError("ingest never became ready")
        yield Served(app, base_url, loops[0])
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not stop"


def _authorization(served: Served, mode: str) -> dict[str, str]:
    """The Authorization header of one auth mode (keys are made in the running app's database, with limits far
    above what the fuzzing sends, so quotas do not turn every case into a 429)."""
    if mode == "no-key":
        return {}
    if mode == "malformed-key":
        return {"Authorization": "Bearer not-a-reelscope-key"}

    async def make(state: AppState) -> str:
        issued = await state.keys.create(
            "fuzz",
            DEFAULT_TENANT,
            (Scope.SUBMIT, Scope.READ, Scope.ADMIN) if mode == "admin-key" else (Scope.SUBMIT, Scope.READ),
            submissions_per_minute=100_000,
            max_concurrent_jobs=100_000,
        )
        if mode == "revoked-key":
            await state.keys.revoke(issued.row.id)
        return issued.secret.get_secret_value()

    return {"Authorization": f"Bearer {served.run(make)}"}


def _fuzz_operation(
    operation: schemathesis.APIOperation[Any, Any, Any, Any], served: Served, headers: dict[str, str], tally: Tally
) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=CASE_DEADLINE_MS,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Case[Any]) -> None:
        tally.cases[label] += 1
        if case.headers:  # the auth mode under test decides the Authorization header, not the generator
            case.headers.pop("Authorization", None)
        try:
            case.call_and_validate(base_url=served.base_url, headers=headers, checks=CHECKS, timeout=REQUEST_TIMEOUT_S)
        except (AssertionError, FailureGroup) as failure:  # keep going (no shrinking): report every failure
            tally.failures.append(f"{label}: {failure}\n  replay: {case.as_curl_command(headers=headers)}")

    run()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", AUTH_MODES)
def test_every_operation_answers_only_what_the_openapi_document_declares(served: Served, mode: str) -> None:
    """With `mode`'s credentials, schemathesis' generated valid and invalid requests to every operation of the
    document get no 5xx, a documented status code and content type, and a body and headers matching the schema."""
    headers = _authorization(served, mode)
    schema = schemathesis.openapi.from_dict(served.app.openapi())
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "an operation of the document could not be loaded"
    tally = Tally()
    for operation in operations:
        _fuzz_operation(operation, served, headers, tally)

    print(f"\nschemathesis, {mode}: " + ", ".join(f"{op} {n}" for op, n in sorted(tally.cases.items())))
    assert len(operations) >= 8, "the document lost operations"
    # the probes take no input (hypothesis stops after the one distinct case); every /v1 operation got the budget
    assert all(
        n >= (MAX_EXAMPLES if op.startswith(("POST", "GET /v1", "DELETE")) else 1) for op, n in tally.cases.items()
    )
    assert set(tally.cases) == {f"{op.method.upper()} {op.path}" for op in operations}, tally.cases
    assert not tally.failures, f"{len(tally.failures)} failure(s):\n" + "\n".join(tally.failures[:20])
