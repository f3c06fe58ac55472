"""Reelscope notification: tells a job's owner, by webhook, that the job completed or failed."""
