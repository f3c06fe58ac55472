"""`python -m reelscope_ingest.keys`: create, list and revoke API keys, and rotate a key's webhook signing secret.

An operator's command, run where ingest runs (`kubectl exec deploy/<release>-ingest -- python -m
reelscope_ingest.keys create --name ci`): it talks to the ingest database directly. A new key is printed once, on
stdout (with `--json`, as one JSON object for scripts); nothing else can show it again. Exit codes: 0 done,
1 failed (one line on stderr says why), 2 bad arguments."""

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from reelscope_outbound import SigningSettings, key_signing_secret
from sqlalchemy.exc import SQLAlchemyError

from reelscope_ingest.core.config import ApiKeySettings, DatabaseSettings
from reelscope_ingest.core.db import ApiKeyRow, make_engine, make_sessionmaker
from reelscope_ingest.core.keys import DEFAULT_TENANT, KeyNotFound, KeyStore, Scope

EXIT_OK = 0
EXIT_FAILED = 1
PREFIX = "reelscope-keys:"


def say(line: str) -> None:
    print(f"{PREFIX} {line}", file=sys.stderr, flush=True)


def describe(row: ApiKeyRow) -> dict[str, Any]:
    """What a listing shows of a key: never its hash."""
    return {
        "id": row.id,
        "prefix": f"rsk_{row.id}",
        "name": row.name,
        "tenant": row.tenant,
        "scopes": row.scopes,
        "created_at": row.created_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "signing_generations": row.signing_generations,
        "slack_webhook_url": "set" if row.slack_webhook_url else None,
        "email_to": row.email_to,
        "submissions_per_minute": row.submissions_per_minute,
        "max_concurrent_jobs": row.max_concurrent_jobs,
        "storage_quota_bytes": row.storage_quota_bytes,
    }


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reelscope_ingest.keys", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="make a key and print it once")
    create.add_argument("--name", required=True, help="what the key is for (shown in listings)")
    create.add_argument("--tenant", default=DEFAULT_TENANT, help="whose jobs it sees (default: %(default)s)")
    create.add_argument(
        "--scope",
        action="append",
        choices=[s.value for s in Scope],
        help="repeat for several (default: submit and read)",
    )
    create.add_argument("--slack-webhook-url", help="a Slack incoming webhook for this key's job outcomes")
    create.add_argument("--email-to", help="where to email this key's job outcomes")
    create.add_argument("--submissions-per-minute", type=int, help="overrides REELSCOPE_SUBMISSIONS_PER_MINUTE")
    create.add_argument("--max-concurrent-jobs", type=int, help="overrides REELSCOPE_MAX_CONCURRENT_JOBS")
    create.add_argument("--storage-quota-bytes", type=int, help="overrides REELSCOPE_STORAGE_QUOTA_BYTES")
    create.add_argument("--json", action="store_true", help="print the key and its id as one JSON object")
    listing = commands.add_parser("list", help="show keys (never their secret)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    for name, text in (
        ("revoke", "revoke a key at once"),
        ("rotate-signing-secret", "start a signing-secret rotation: a new secret, the previous one still valid"),
        ("finish-signing-rotation", "end a rotation: only the current signing secret stays valid"),
        ("signing-secret", "print the key's valid webhook signing secrets (current first)"),
    ):
        commands.add_parser(name, help=text).add_argument("key_id", help="the id (rsk_<id> without rsk_ also works)")
    return parser.parse_args(argv)


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "slack_webhook_url": args.slack_webhook_url,
        "email_to": args.email_to,
        "submissions_per_minute": args.submissions_per_minute,
        "max_concurrent_jobs": args.max_concurrent_jobs,
        "storage_quota_bytes": args.storage_quota_bytes,
    }
    for name in ("submissions_per_minute", "max_concurrent_jobs", "storage_quota_bytes"):
        if settings[name] is not None and settings[name] < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
    return settings


def _signing_secrets(row: ApiKeyRow) -> list[str]:
    current_master = SigningSettings().webhook_signing_secrets[0]
    return [key_signing_secret(current_master, row.id, g).get_secret_value() for g in row.signing_generations]


async def execute(args: argparse.Namespace, store: KeyStore) -> int:
    key_id = getattr(args, "key_id", "").removeprefix("rsk_")
    if args.command == "create":
        issued = await store.create(
            args.name, args.tenant, [Scope(s) for s in (args.scope or ["submit", "read"])], **_limits(args)
        )
        key = issued.secret.get_secret_value()
        if args.json:
            print(json.dumps({"key": key, **describe(issued.row)}))
        else:
            say(f"created key rsk_{issued.row.id} ({args.name}) for tenant {args.tenant}; it is shown once:")
            print(key)
    elif args.command == "list":
        for row in await store.list(args.tenant):
            print(json.dumps(describe(row)))
    elif args.command == "revoke":
        row = await store.revoke(key_id)
        say(f"revoked rsk_{row.id} ({row.name}) at {row.revoked_at}")
    elif args.command == "rotate-signing-secret":
        row = await store.start_signing_rotation(key_id)
        say(f"rsk_{row.id} signs with generations {row.signing_generations}; give the receiver the first:")
        print(_signing_secrets(row)[0])
    elif args.command == "finish-signing-rotation":
        row = await store.finish_signing_rotation(key_id)
        say(f"rsk_{row.id} now signs with generation {row.signing_generations[0]} only")
    else:
        for secret in _signing_secrets(await store.get(key_id)):
            print(secret)
    return EXIT_OK


async def run(args: argparse.Namespace) -> int:
    database = DatabaseSettings()
    engine = make_engine(database.database_url)
    try:
        return await execute(args, KeyStore(make_sessionmaker(engine), ApiKeySettings().pepper))
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = parse(argv)
    try:
        return asyncio.run(run(args))
    except (KeyNotFound, ValueError, ValidationError, SQLAlchemyError, OSError) as error:
        lines = str(error).strip().splitlines()
        say(f"error: {type(error).__name__}: {lines[0] if lines else 'no message'}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
