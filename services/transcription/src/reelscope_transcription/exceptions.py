"""Errors of the transcription service, each with a message meant for a human."""


class EngineUnavailable(Exception):
    """The configured recogniser cannot run here (not installed, model missing): the worker must not start."""


class AudioUnreadable(Exception):
    """The job's audio is not a 16 kHz mono 16-bit PCM WAV we can read."""


class RecognitionFailed(Exception):
    """The recogniser raised, or its process died, on one chunk."""
