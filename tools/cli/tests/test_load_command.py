"""`reelscope load` when the API cannot be reached: every submission ends as an error with its reason, the summary
still prints, and the exit status says the tool failed (unlike jobs failing, which exit 0)."""

import socket
from pathlib import Path

import pytest
from reelscope_cli.main import main

pytestmark = pytest.mark.integration  # real ffmpeg makes the clips; a real closed port refuses the connection


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens on it once the socket is closed


def test_an_unreachable_api_is_a_tool_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Connection refused on every submission: errors counted and grouped, summary printed, exit 1."""
    monkeypatch.setenv("REELSCOPE_API_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("REELSCOPE_API_KEY", "rsk_notarealkey0_" + "x" * 43)
    monkeypatch.setenv("REELSCOPE_CACHE_DIR", str(tmp_path))

    code = main(["load", "--rate", "4", "--duration", "1", "--mix", "short=1", "--drain-timeout", "5"])

    captured = capsys.readouterr()
    assert code == 1
    assert "completed 0  failed 0  cancelled 0  rejected 0  errors 4  unfinished 0" in captured.out, captured.out
    assert "    4  submission failed: ConnectError" in captured.out, captured.out
    assert "error: every submission ended in an error" in captured.err
