"""Per-key limits on submissions, checked before the body is read: a rolling-minute rate (429 with Retry-After),
unfinished jobs at once (429), and stored bytes (413; what is left of the quota also bounds the upload).

Counted in the database from the key's own jobs, so every ingest replica sees the same figures with no extra
store. Two submissions racing past the same check can each get in (a bound off by the requests in flight)."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reelscope_ingest.api.deps import AppState
from reelscope_ingest.api.problems import RATE_LIMITED, STORAGE_QUOTA_EXCEEDED, TOO_MANY_JOBS, ApiProblem
from reelscope_ingest.core.keys import Caller

WINDOW = timedelta(minutes=1)
BUSY_RETRY_AFTER_S = 30


@dataclass(frozen=True)
class Allowance:
    """What one admitted submission may store: its byte limit, and whether the quota (not the global upload
    limit) is what sets it."""

    max_bytes: int
    quota_bound: bool
    quota_bytes: int


async def admit_submission(caller: Caller, state: AppState) -> Allowance:
    """Refuse a submission the key's limits do not allow; else say how many bytes it may upload."""
    settings = state.settings
    now = datetime.now(UTC)
    usage = await state.store.usage(caller.key_id, since=now - WINDOW)
    per_minute = caller.submissions_per_minute or settings.submissions_per_minute
    if usage.recent_submissions >= per_minute:
        oldest = usage.oldest_recent or now
        retry_after = max(1, math.ceil((oldest + WINDOW - now).total_seconds()))
        raise ApiProblem(
            RATE_LIMITED,
            f"this API key may submit {per_minute} jobs per minute; try again in {retry_after} s",
            {"Retry-After": str(retry_after)},
        )
    concurrent = caller.max_concurrent_jobs or settings.max_concurrent_jobs
    if usage.unfinished >= concurrent:
        raise ApiProblem(
            TOO_MANY_JOBS,
            f"this API key has {usage.unfinished} unfinished jobs, its limit is {concurrent}; wait for one to finish",
            {"Retry-After": str(BUSY_RETRY_AFTER_S)},
        )
    quota = caller.storage_quota_bytes or settings.storage_quota_bytes
    remaining = quota - usage.stored_bytes
    if remaining <= 0:
        raise ApiProblem(
            STORAGE_QUOTA_EXCEEDED,
            f"this API key's jobs hold {usage.stored_bytes} bytes, its storage quota is {quota} bytes",
        )
    return Allowance(min(settings.max_upload_bytes, remaining), remaining < settings.max_upload_bytes, quota)
