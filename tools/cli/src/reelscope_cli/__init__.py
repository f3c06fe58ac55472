"""Reelscope's command line: submit and follow jobs, read their traces and logs, run the local stack."""
