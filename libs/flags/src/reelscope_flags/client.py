"""`FeatureFlags`: a service's typed, never-failing view of the failure flags through OpenFeature.

OpenFeature's API is process-global (one provider, one hook list), so `FeatureFlags.start()` is called once, in a
service's start-up next to its telemetry bootstrap (`__main__` of a worker, the app factory of ingest), and nowhere
else; everything else receives the `FeatureFlags` it returns. Where the flags come from:

- `REELSCOPE_FLAGS_FILE`: the flagd provider in file mode reads (and polls) a flagd flag file: the local stack;
- `REELSCOPE_FLAGD_HOST` (and `REELSCOPE_FLAGD_PORT`): the flagd provider syncs in-process from a flagd server;
- neither: OpenFeature's no-op provider, every flag is off.

Every evaluation becomes a `feature_flag.evaluation` event on the current span (OpenTelemetry `TracingHook`)."""

import random
from pathlib import Path
from typing import Self

from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.hook.opentelemetry import TracingHook
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from reelscope_telemetry import get_logger

from reelscope_flags.catalog import Flag, FlagKind, flag

log = get_logger(__name__)


class FlagSettings(BaseSettings):
    """Where a service reads its flags (env prefix `REELSCOPE_`)."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    flags_file: Path | None = Field(default=None, description="A flagd flag file (file mode, polled for changes)")
    flagd_host: str | None = Field(default=None, description="A flagd server to sync flags from (in-process mode)")
    flagd_port: int = Field(default=8015, ge=1, le=65535, description="The flagd server's sync port")
    flags_poll_ms: int = Field(default=500, ge=50, le=60_000, description="How often the flag file is re-read")
    flags_startup_timeout_ms: int = Field(
        default=2000, ge=100, le=60_000, description="Bound on waiting for a flagd server at start-up"
    )


def _provider(settings: FlagSettings) -> FlagdProvider | None:
    if settings.flags_file is not None:
        return FlagdProvider(
            resolver_type=ResolverType.FILE,
            offline_flag_source_path=str(settings.flags_file),
            deadline_ms=settings.flags_poll_ms,
        )
    if settings.flagd_host:
        return FlagdProvider(
            resolver_type=ResolverType.IN_PROCESS,
            host=settings.flagd_host,
            port=settings.flagd_port,
            deadline_ms=settings.flags_startup_timeout_ms,
        )
    return None


class FeatureFlags:
    """Typed getters over an OpenFeature client; each returns the flag's off value on any error."""

    def __init__(self, client: OpenFeatureClient | None = None, rng: random.Random | None = None) -> None:
        self._client = client or api.get_client("reelscope")
        self._rng = rng or random.Random()  # noqa: S311 - fault injection, not cryptography

    @classmethod
    def start(cls, settings: FlagSettings | None = None) -> Self:
        """Set up OpenFeature for this process (once, at start-up): provider, tracing hook, a client.

        Waits for the provider (evaluating right after `set_provider` answers ProviderNotReadyError), but a
        missing or corrupt file or an unreachable flagd only logs: the flags read as off until it recovers."""
        settings = settings or FlagSettings()
        api.clear_hooks()
        api.add_hooks([TracingHook()])
        provider = _provider(settings)
        if provider is None:
            log.info("feature flags: no source configured, every flag is off")
        else:
            try:
                api.set_provider_and_wait(provider)
                log.info("feature flags ready", file=str(settings.flags_file or ""), flagd=settings.flagd_host or "")
            except Exception as exc:  # the provider keeps retrying; until then flags are off
                log.warning("feature flags not ready, every flag is off until they are", error=str(exc))
        return cls()

    @staticmethod
    def stop() -> None:
        """Shut the provider down (its file watcher or sync stream) and clear OpenFeature's global state."""
        api.shutdown()

    def _evaluate(self, spec: Flag) -> bool | int | float:
        try:
            if spec.kind is FlagKind.BOOL:
                return spec.validate(self._client.get_boolean_value(spec.name, bool(spec.off)))
            if spec.kind is FlagKind.INT:
                return spec.validate(self._client.get_integer_value(spec.name, int(spec.off)))
            return spec.validate(self._client.get_float_value(spec.name, float(spec.off)))
        except Exception as exc:  # a wrong-typed or out-of-range value: off, and say so
            log.warning("feature flag value refused, using its off value", flag=spec.name, error=str(exc))
            return spec.off

    def rate(self, name: str) -> float:
        """A probability flag (0..1)."""
        return float(self._evaluate(flag(name)))

    def factor(self, name: str) -> float:
        """A multiplier flag (>= 1)."""
        return float(self._evaluate(flag(name)))

    def integer(self, name: str) -> int:
        """A whole-number flag (milliseconds, MiB)."""
        return int(self._evaluate(flag(name)))

    def enabled(self, name: str) -> bool:
        """A bool flag."""
        return bool(self._evaluate(flag(name)))

    def roll(self, name: str) -> float | None:
        """Evaluate the probability flag `name` and draw: its rate when this draw hits, else None."""
        rate = self.rate(name)
        return rate if rate > 0 and self._rng.random() < rate else None
