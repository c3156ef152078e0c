"""flows: the Prefect flows and their deployments (check_package, submit_package, rerun_archive; deploy.py serves them), nothing else."""
