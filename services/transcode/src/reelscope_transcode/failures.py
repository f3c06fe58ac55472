"""ffmpeg's error output turned into a reason and a category a person can act on.

Most inputs that ffmpeg cannot read are refused earlier, by `sniff` and `probe`. What is left are files
whose container is fine but whose streams are not: known symptoms are named here; anything else is a
processing error quoting ffmpeg's last lines."""

from pathlib import Path

from reelscope_contracts import FailureCategory
from reelscope_messaging import StageFailed

from reelscope_transcode.process import Finished

_SYMPTOMS: tuple[tuple[str, FailureCategory, str], ...] = (
    (
        "Cannot determine format of input stream",
        FailureCategory.INVALID_INPUT,
        "input is corrupt: its container is readable but no picture or sound could be decoded from it",
    ),
    (
        "Invalid data found when processing input",
        FailureCategory.INVALID_INPUT,
        "input is corrupt: ffmpeg found invalid data in it",
    ),
)


def ffmpeg_failure(finished: Finished, source: Path) -> StageFailed:
    """The `StageFailed` for an ffmpeg run that exited non-zero."""
    stderr = "\n".join(finished.stderr_tail)
    for symptom, category, reason in _SYMPTOMS:
        if symptom in stderr:
            return StageFailed(reason, category)
    # Local paths mean nothing to the job's owner: name the input "input".
    detail = finished.reason().replace(f"file:{source.resolve()}", "input")
    return StageFailed(f"ffmpeg could not transcode the input: {detail}", FailureCategory.PROCESSING_ERROR)
