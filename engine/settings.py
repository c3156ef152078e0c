"""One typed settings object: paths, store, profile, execution backend.

Every value can be set by an environment variable prefixed ``DUOCE_`` (``DUOCE_STORE``,
``DUOCE_PROFILE`` …) or a ``.env`` file; the defaults need nothing installed or started.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUOCE_", env_file=".env", extra="ignore")

    store: Path = Path("store")  # the embedded store: raw packages, products, catalogue
    profile: str = "liaocheng"  # a bundled profile name or a path to a .toml profile
    workdir: Path | None = None  # where zips are extracted (default: inside the store's tmp/)
    backend: Literal["local", "dask"] = "local"  # task runner for many packages (rerun)
    dask_address: str | None = None  # an existing Dask scheduler; None starts a local cluster
    postgis_dsn: str | None = None  # also publish products to PostGIS when set
    read_workers: int | None = None  # extra processes: drawing readers, the rule split (None: one per spare core; 0: none)


def get_settings(**overrides) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
