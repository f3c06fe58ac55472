"""Reelscope benchmarks: every figure is a ratio measured in the same run, because machines are noisy."""
