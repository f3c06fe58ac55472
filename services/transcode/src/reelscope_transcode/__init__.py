"""Reelscope transcode: refuses bad uploads early with a precise reason, then makes a job's whole rendition
ladder, HLS packaging, poster and speech audio in one hardened ffmpeg run."""
