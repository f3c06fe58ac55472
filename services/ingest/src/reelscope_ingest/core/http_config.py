"""How the API faces browsers: CORS (off unless origins are listed) and whether HTTPS is guaranteed (for HSTS)."""

import json
import re
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


class HttpSettings(BaseSettings):
    """`REELSCOPE_CORS_ALLOWED_ORIGINS` and `REELSCOPE_SERVED_OVER_HTTPS`."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Browser origins allowed to call the API cross-origin (comma-separated or a JSON list, each "
            "`scheme://host[:port]`); empty, the default, sends no CORS headers at all"
        ),
    )
    served_over_https: bool = Field(
        default=False,
        description="Clients reach the API over HTTPS only (directly or via a TLS proxy): send HSTS",
    )

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """Accept `https://a.example,https://b.example` as well as a JSON list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_allowed_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin: write scheme://host[:port], no path or wildcard")
        return origins
