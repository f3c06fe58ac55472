"""Every value in helm/reelscope/values.yaml is explained where it stands: a comment on the line above it (the
`# --` convention helm-docs reads) or at its end. Entries of resource blocks and of list items are covered by their
parent's comment."""

import re

import pytest

from .conftest import CHART

pytestmark = pytest.mark.unit

KEY = re.compile(r"^(?P<indent>\s*)(?P<item>- )?(?P<key>[A-Za-z0-9_-]+):(?P<rest>.*)$")


def undocumented_keys(text: str) -> list[str]:
    """Dotted paths of the keys in a values file with no comment above them or on their line."""
    lines = text.splitlines()
    missing: list[str] = []
    path: list[tuple[int, str]] = []
    for number, line in enumerate(lines):
        match = KEY.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        path = [(depth, key) for depth, key in path if depth < indent]
        if match["item"]:
            path.append((indent, "[]"))
            indent += len(match["item"])
        path.append((indent, match["key"]))
        keys = [key for _, key in path]
        if "resources" in keys[:-1] or "[]" in keys:
            continue
        above = next((prior.strip() for prior in reversed(lines[:number]) if prior.strip()), "")
        if "#" not in match["rest"] and not above.startswith("#"):
            missing.append(".".join(keys))
    return missing


def test_every_value_is_commented() -> None:
    """No key of values.yaml lacks its comment."""
    assert undocumented_keys((CHART / "values.yaml").read_text()) == []


def test_a_key_without_a_comment_is_found() -> None:
    """The check names a key added without a comment, and accepts one with a comment above or at the end."""
    text = (
        "# -- Documented.\na: 1\nb: 2\nc: 3  # documented too\n"
        "resources:\n  requests: {cpu: 1}\n# -- A list.\nd:\n  - e: 1\n"
    )
    assert undocumented_keys(text) == ["b", "resources"]
