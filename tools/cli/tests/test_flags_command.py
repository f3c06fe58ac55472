"""`reelscope flags list|set`: the table, setting and resetting a flag in the file, and precise refusals."""

import json
from pathlib import Path

import pytest
from reelscope_cli.main import main
from reelscope_flags import read_flag_values

pytestmark = pytest.mark.unit


def test_list_shows_every_flag_off_when_there_is_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a file every flag is listed with its off value, description and reader; nothing is written."""
    path = tmp_path / "flags.json"
    assert main(["flags", "list", "--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "does not exist yet" in out
    header, *rows = [line for line in out.splitlines() if not line.startswith("(")]
    assert header.split()[:3] == ["NAME", "VALUE", "OFF"]
    assert len(rows) == 6
    slowdown = next(row for row in rows if row.startswith("transcriptionSlowdownFactor"))
    assert slowdown.split()[1:3] == ["1", "1"]
    assert slowdown.endswith("transcription")
    assert not path.exists()


def test_set_then_list_then_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`set` writes the flagd file; `list` shows the value marked on; `set NAME off` turns it off again."""
    path = tmp_path / "flags.json"
    assert main(["flags", "set", "transcodeFailureRate", "0.5", "--file", str(path)]) == 0
    assert "transcodeFailureRate = 0.5 (on)" in capsys.readouterr().out
    assert json.loads(path.read_text())["flags"]["transcodeFailureRate"]["defaultVariant"] == "on"
    assert main(["flags", "list", "--file", str(path)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("transcodeFailureRate"))
    assert row.split()[1:4] == ["0.5", "*", "0"]
    assert main(["flags", "set", "transcodeFailureRate", "off", "--file", str(path)]) == 0
    assert "transcodeFailureRate = 0 (off)" in capsys.readouterr().out
    assert read_flag_values(path)["transcodeFailureRate"] == 0.0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("transcodeFailurRate", "0.5", "unknown flag 'transcodeFailurRate'; known flags: transcodeFailureRate"),
        ("webhookTargetFailing", "2", "webhookTargetFailing is a bool: give true, false or off, not '2'"),
        ("ingestAddedLatencyMs", "-5", "ingestAddedLatencyMs must be 0..60000, got -5"),
    ],
)
def test_set_refuses_with_a_precise_message_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, value: str, message: str
) -> None:
    """An unknown name or a bad value exits 2 with a message saying what is allowed; the file is not created."""
    path = tmp_path / "flags.json"
    assert main(["flags", "set", name, value, "--file", str(path)]) == 2
    assert message in capsys.readouterr().err
    assert not path.exists()
