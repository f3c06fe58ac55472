"""Reelscope transcription: offline speech-to-text of a job's audio, as plain text and WebVTT."""
