"""API keys: made and shown once, stored only as a keyed hash, checked in constant time, scoped, revoked.

A key reads `rsk_<id>_<secret>`. The id is its visible prefix (in listings, logs and the job's owner) and finds
the row by index; the secret never touches the database: the row holds HMAC-SHA256(pepper, key), so a copy of
the database alone cannot be used to guess keys offline, and the comparison is `hmac.compare_digest`."""

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError, field_validator
from reelscope_contracts import JobOwner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelscope_ingest.core.db import ApiKeyRow

KEY_PATTERN: Final = re.compile(r"^rsk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
TENANT_PATTERN: Final = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
DEFAULT_TENANT: Final = "default"
"""The tenant of jobs made before API keys existed (migration 0002)."""


class Scope(StrEnum):
    """What a key may do: `submit` and cancel jobs, `read` them, `admin` manage keys."""

    SUBMIT = "submit"
    READ = "read"
    ADMIN = "admin"


class DeclaredKey(BaseModel):
    """One entry of REELSCOPE_API_KEYS_FILE: a key the operator made (and keeps in a secret store)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=128)
    tenant: str = Field(default=DEFAULT_TENANT, pattern=TENANT_PATTERN)
    scopes: list[Scope] = Field(default=[Scope.SUBMIT, Scope.READ], min_length=1)
    key: SecretStr

    @field_validator("key")
    @classmethod
    def _shaped_like_a_key(cls, key: SecretStr) -> SecretStr:
        if KEY_PATTERN.fullmatch(key.get_secret_value()) is None:
            raise ValueError("a key must look like rsk_<12 of a-z 0-9>_<43 of A-Z a-z 0-9 _ ->")
        return key


_DECLARED = TypeAdapter(list[DeclaredKey])


def load_declared_keys(path: Path) -> list[DeclaredKey]:
    """Read and check the declared keys file (a JSON list); a bad file stops ingest with a line saying why."""
    try:
        return _DECLARED.validate_json(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read REELSCOPE_API_KEYS_FILE {path}: {exc.strerror}") from None
    except ValidationError as exc:
        raise ValueError(f"REELSCOPE_API_KEYS_FILE {path} is not a list of keys: {exc.errors()[0]['msg']}") from None


class KeyNotFound(LookupError):
    """No key with that id."""


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `secret` is the whole key, shown once and stored nowhere."""

    secret: SecretStr
    row: ApiKeyRow


@dataclass(frozen=True)
class Caller:
    """The authenticated key behind a request: who it is, what it may do, and its own limits (None: defaults)."""

    key_id: str
    tenant: str
    scopes: frozenset[Scope]
    submissions_per_minute: int | None
    max_concurrent_jobs: int | None
    storage_quota_bytes: int | None
    owner: JobOwner

    @classmethod
    def of(cls, row: ApiKeyRow) -> "Caller":
        return cls(
            key_id=row.id,
            tenant=row.tenant,
            scopes=frozenset(Scope(s) for s in row.scopes if s in Scope.__members__.values()),
            submissions_per_minute=row.submissions_per_minute,
            max_concurrent_jobs=row.max_concurrent_jobs,
            storage_quota_bytes=row.storage_quota_bytes,
            owner=JobOwner(
                tenant=row.tenant,
                key_id=row.id,
                signing_generations=tuple(row.signing_generations),
                slack_webhook_url=row.slack_webhook_url,
                email_to=row.email_to,
            ),
        )


def _now() -> datetime:
    return datetime.now(UTC)


class KeyStore:
    """API keys on the ingest database; `pepper` is the HMAC key of the stored hashes."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], pepper: SecretStr) -> None:
        self._sessions = sessions
        self._pepper = pepper.get_secret_value().encode()

    def _hash(self, key: str) -> str:
        return hmac.new(self._pepper, key.encode(), hashlib.sha256).hexdigest()

    async def create(self, name: str, tenant: str, scopes: Iterable[Scope], **settings: Any) -> IssuedKey:
        """Make a key; `settings` are optional ApiKeyRow fields (limits, Slack and email targets)."""
        key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
        key = f"rsk_{key_id}_{secrets.token_urlsafe(32)}"
        row = ApiKeyRow(
            id=key_id,
            name=name,
            tenant=tenant,
            scopes=sorted({Scope(s).value for s in scopes}),
            key_hash=self._hash(key),
            created_at=_now(),
            signing_generations=[1],
            **settings,
        )
        async with self._sessions() as session, session.begin():
            session.add(row)
        return IssuedKey(SecretStr(key), row)

    async def declare(self, name: str, tenant: str, scopes: Iterable[Scope], key: SecretStr) -> ApiKeyRow:
        """Make sure a key given by the operator (a declared key: the Helm chart's smoke-test key, keys kept in a
        secret store) exists with this name, tenant, scopes and secret; a revoked one stays revoked."""
        match = KEY_PATTERN.fullmatch(key.get_secret_value())
        if match is None:
            raise ValueError(f"declared key {name!r} is not of the form rsk_<12 a-z0-9>_<43 A-Za-z0-9_->")
        async with self._sessions() as session, session.begin():
            row = await session.get(ApiKeyRow, match.group(1), with_for_update=True)
            if row is None:
                row = ApiKeyRow(id=match.group(1), created_at=_now(), signing_generations=[1])
                session.add(row)
            row.name = name
            row.tenant = tenant
            row.scopes = sorted({Scope(s).value for s in scopes})
            row.key_hash = self._hash(key.get_secret_value())
            return row

    async def authenticate(self, presented: str) -> ApiKeyRow | None:
        """The live key row matching `presented`, else None (unknown, malformed, wrong secret or revoked)."""
        match = KEY_PATTERN.fullmatch(presented)
        if match is None:
            return None
        async with self._sessions() as session:
            row = await session.get(ApiKeyRow, match.group(1))
        if row is None or not hmac.compare_digest(self._hash(presented), row.key_hash):
            return None
        return row if row.revoked_at is None else None

    async def get(self, key_id: str) -> ApiKeyRow:
        async with self._sessions() as session:
            row = await session.get(ApiKeyRow, key_id)
        if row is None:
            raise KeyNotFound(f"no API key with id {key_id}")
        return row

    async def list(self, tenant: str | None = None) -> list[ApiKeyRow]:
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
        if tenant is not None:
            query = query.where(ApiKeyRow.tenant == tenant)
        async with self._sessions() as session:
            return list((await session.execute(query)).scalars())

    async def revoke(self, key_id: str) -> ApiKeyRow:
        """Revoke a key at once (the next request with it answers 401); revoking twice keeps the first time."""
        async with self._sessions() as session, session.begin():
            row = await session.get(ApiKeyRow, key_id, with_for_update=True)
            if row is None:
                raise KeyNotFound(f"no API key with id {key_id}")
            row.revoked_at = row.revoked_at or _now()
            return row

    async def start_signing_rotation(self, key_id: str) -> ApiKeyRow:
        """A new webhook signing secret generation becomes current; the previous one stays valid (deliveries
        carry a signature for each) until `finish_signing_rotation`. Starting again drops the oldest."""
        async with self._sessions() as session, session.begin():
            row = await session.get(ApiKeyRow, key_id, with_for_update=True)
            if row is None:
                raise KeyNotFound(f"no API key with id {key_id}")
            current = row.signing_generations[0]
            row.signing_generations = [current + 1, current]
            return row

    async def finish_signing_rotation(self, key_id: str) -> ApiKeyRow:
        """Only the current signing secret stays valid."""
        async with self._sessions() as session, session.begin():
            row = await session.get(ApiKeyRow, key_id, with_for_update=True)
            if row is None:
                raise KeyNotFound(f"no API key with id {key_id}")
            row.signing_generations = row.signing_generations[:1]
            return row
