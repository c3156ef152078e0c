"""analysis: checks set against the archive, without Prefect — the rerun of stored packages, the comparison with the previous revision, statistics."""
