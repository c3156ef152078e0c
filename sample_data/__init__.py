"""sample_data."""
