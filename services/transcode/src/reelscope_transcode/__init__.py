"""Reelscope transcode: validates uploads with ffprobe and makes every rendition in one ffmpeg run."""
