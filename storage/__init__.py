"""storage: raw packages, the catalogue, published products and their audit (no Prefect)."""
