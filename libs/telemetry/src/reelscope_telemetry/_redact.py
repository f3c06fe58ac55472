"""Secrets masked and control characters escaped inside our processes, before any signal is written.

The collector masks secrets too (otel-collector/config.yaml `redaction`), but stdout logs never pass
through it and a deployment may ship to someone else's collector, so every process applies the same
patterns itself. The patterns are the collector's `blocked_key_patterns` and `blocked_values`, verbatim
(Go RE2 and Python `re` read them alike; the tests check the two lists agree item by item). Where the
collector replaces a whole match with `****`, we keep the non-secret part around it (`token=****`,
`https://user:****@host`, `Bearer ****`), so a reader still sees what was there.

Control characters (CR, LF and the rest of C0/C1, U+2028/U+2029) are escaped in every string value, so
user input such as a filename holding "\\n" cannot forge a log line in the console renderer or in a
backend that shows a log body line by line.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from structlog.typing import EventDict, WrappedLogger

MASK = "****"


@dataclass(frozen=True)
class SecretPattern:
    """One of the collector's `blocked_values`, verbatim, and what a match of it becomes here."""

    name: str
    collector_regex: str
    replace: Callable[[re.Match[str]], str]
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.collector_regex))


def _keep_scheme(match: re.Match[str]) -> str:
    """`Bearer abc` → `Bearer ****` (the auth scheme is no secret, and says what was there)."""
    return f"{match.group(0).split(None, 1)[0]} {MASK}"


# The collector's key pattern (processors.redaction.blocked_key_patterns), verbatim.
BLOCKED_KEY_REGEX = r"(?i)(authorization|cookie|passw(or)?d|secret|token|api[_-]?key|signature|credential)"

# The collector's value patterns (processors.redaction.blocked_values), verbatim and in the same order;
# applied in this order, so a URL's password is masked before the e-mail pattern could read `pw@host.tld`.
SECRET_PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern("bearer token", r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]+=*", _keep_scheme),
    SecretPattern("basic credentials", r"\bBasic\s+[A-Za-z0-9+/]{16,}={0,2}", _keep_scheme),
    SecretPattern(
        "Reelscope API key",
        r"\brsk_[a-z0-9]{12}_[A-Za-z0-9_-]{20,}",
        lambda m: m.group(0)[:17] + MASK,  # rsk_<id>_****: the id is the key's visible prefix
    ),
    SecretPattern("JSON Web Token", r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", lambda m: MASK),
    SecretPattern("URL user-info password", r":[^/?#@\s]+@", lambda m: f":{MASK}@"),
    SecretPattern(
        "secret key=value pair",
        r"""(?i)\b(password|passwd|pwd|secret|token|access_token|api_key|apikey|signature|sig)=[^&\s"',;]+""",
        lambda m: f"{m.group(1)}={MASK}",
    ),
    SecretPattern("webhook signature", r"\bv1=[0-9a-fA-F]{32,}", lambda m: f"v1={MASK}"),
    SecretPattern("webhook signing secret", r"\bwhsec_[0-9a-f]{32,}", lambda m: f"whsec_{MASK}"),
    SecretPattern(
        "Slack webhook URL", r"hooks\.slack\.com/services/[A-Za-z0-9/_-]+", lambda m: f"hooks.slack.com/services/{MASK}"
    ),
    SecretPattern("e-mail address", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", lambda m: MASK),
)


def _may_hold_secret(text: str) -> bool:
    """Every pattern needs one of these literals (`@` for user info and e-mail, `=` for pairs and signatures,
    the prefixes of our keys and secrets): plain substring tests send the common string, which holds none of
    them, back untouched."""
    if "@" in text or "=" in text or "eyJ" in text:
        return True
    if "rsk_" in text or "whsec_" in text or "hooks.slack" in text:
        return True
    lowered = text.lower()
    return "bearer" in lowered or "basic" in lowered


_BLOCKED_KEY = re.compile(BLOCKED_KEY_REGEX)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# `suspect` answers "could this string need masking or escaping?" Almost every value logged (stages, ids, paths,
# numbers as text) cannot, and it runs for every field of every line and every string attribute of every span.
_MARK_OR_CONTROL = re.compile("[@=\x00-\x1f\x7f-\x9f\u2028\u2029]")


def suspect(text: str) -> bool:
    """Whether `text` could need masking or escaping: a character class search and `_may_hold_secret`'s substring
    tests, the two conditions the full path acts on. (One regex alternating over the literals, `bearer` in any
    case included, took several times as long: it tries every branch at every position.)"""
    return _MARK_OR_CONTROL.search(text) is not None or _may_hold_secret(text)


_NUMBER = (int, float)  # bool is an int; a tuple built once, not a `int | float` union per value
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Fields whose multi-line text is made by Python, not by a user: secrets are masked, lines are kept.
MULTILINE_KEYS = frozenset({"exception", "exception.stacktrace"})


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED_ESCAPES.get(char) or (f"\\x{ord(char):02x}" if ord(char) <= 0xFF else f"\\u{ord(char):04x}")


def mask_secrets(text: str) -> str:
    """`text` with every secret the collector's patterns know replaced by `****` (context kept)."""
    if not _may_hold_secret(text):
        return text
    for pattern in SECRET_PATTERNS:
        text = pattern.compiled.sub(pattern.replace, text)
    return text


def escape_control(text: str) -> str:
    """`text` with CR, LF and every other control character written as a visible escape (`\\n`, `\\x1b`)."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


@lru_cache(maxsize=4096)  # field and attribute names are few and repeat on every line
def is_secret_key(key: str) -> bool:
    """Whether a field or attribute named `key` holds a credential (its whole value is masked)."""
    return _BLOCKED_KEY.search(key) is not None


def redact_value(value: Any, *, multiline: bool = False) -> Any:
    """`value` with secrets masked in every string, nested dicts and lists included, and values of
    credential-named keys masked whole; control characters escaped unless `multiline`."""
    if isinstance(value, str):
        if not suspect(value):
            return value
        masked = mask_secrets(value)
        return masked if multiline else escape_control(masked)
    if value is None or isinstance(value, _NUMBER):  # bool is an int
        return value
    if isinstance(value, Mapping):
        return {k: MASK if is_secret_key(str(k)) else redact_value(v, multiline=multiline) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v, multiline=multiline) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_value(v, multiline=multiline) for v in value)
    return value


def redact_field(key: str, value: Any) -> Any:
    """What a top-level field `key` = `value` becomes in a log line or a telemetry attribute."""
    if is_secret_key(key) and value is not None:
        return MASK
    return redact_value(value, multiline=key in MULTILINE_KEYS)


def fields_are_plain(fields: Mapping[str, Any]) -> bool:
    """Whether redacting `fields` would change nothing, decided cheaply: no credential-named key, only strings,
    numbers and None as values, and one guard search over all the strings joined finds nothing (the guard's
    literals hold no space, so a match can never straddle two values). Anything else takes the full path."""
    texts: list[str] = []
    for key, value in fields.items():
        if is_secret_key(key):
            return False
        if isinstance(value, str):
            texts.append(value)
        elif not (value is None or isinstance(value, _NUMBER)):
            return False
    return not suspect(" ".join(texts))


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets and escape control characters in every field (`exc_info` aside,
    which is rendered later; our chains run this again after rendering it)."""
    if fields_are_plain(event_dict):
        return event_dict
    for key, value in event_dict.items():
        if key != "exc_info":
            event_dict[key] = redact_field(key, value)
    return event_dict
