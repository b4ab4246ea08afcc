"""Profiling: process sampling (psutil), and later py-spy/memray wrappers and leak verdicts."""
