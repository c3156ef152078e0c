"""engine: running one check without Prefect — settings, the pre-check, the rule split."""
