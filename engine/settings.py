"""One typed settings object: paths, store, database, profile, execution backend.

Every value can be set by an environment variable prefixed ``DUOCE_`` (``DUOCE_STORE``,
``DUOCE_PROFILE`` …, case-insensitive) or a ``.env`` file in the working folder (the
environment wins); the defaults need nothing installed or started.

A plain dataclass read by hand, not pydantic-settings: ``duoce check`` reads its settings on
every run and importing pydantic-settings cost it ≈ 0.15 s of CPU. The types are the
fields' annotations; a value that does not convert raises ``ValueError`` naming the
variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PREFIX = "DUOCE_"
BACKENDS = ("local", "dask")


@dataclass(frozen=True)
class Settings:
    store: Path = Path("store")  # the embedded store: raw packages, products, catalogue
    profile: str = "liaocheng"  # a bundled profile name or a path to a .toml profile
    workdir: Path | None = None  # where zips are extracted (default: inside the store's tmp/)
    backend: Literal["local", "dask"] = "local"  # task runner for many packages (rerun)
    dask_address: str | None = None  # an existing Dask scheduler; None starts a local cluster
    # the catalogue (and case log, accounts) in this database, and the department products
    # also in its PostGIS schemas: postgresql+psycopg://user@host/db; None = the store's
    # catalogue.sqlite and GeoPackage files only
    database_url: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"DUOCE_BACKEND must be one of {BACKENDS}, not {self.backend!r}")
        if self.database_url is not None and "://" not in self.database_url:
            raise ValueError(
                f"DUOCE_DATABASE_URL must be a database URL (postgresql+psycopg://…), "
                f"not {self.database_url!r}"
            )


_CONVERT = {
    "store": Path,
    "profile": str,
    "workdir": Path,
    "backend": str,
    "dask_address": str,
    "database_url": str,
}
_OPTIONAL = {"workdir", "dask_address", "database_url"}  # empty: the default


def _dotenv(path: Path = Path(".env")) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (comments, blank lines and ``export`` ignored)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[key.strip()] = value
    return found


def _from(source: dict[str, str]) -> dict[str, str]:
    """The ``DUOCE_*`` entries of ``source`` by field name."""
    out: dict[str, str] = {}
    for key, value in source.items():
        if not key.upper().startswith(PREFIX):
            continue
        name = key[len(PREFIX) :].lower()
        if name in _CONVERT:
            out[name] = value
    return out


def get_settings(**overrides) -> Settings:
    """The settings from ``.env``, then the environment, then ``overrides`` (None ignored)."""
    raw = _from(_dotenv()) | _from(dict(os.environ))
    values: dict = {}
    for name, value in raw.items():
        if name in _OPTIONAL and value.strip() == "":
            continue
        try:
            values[name] = _CONVERT[name](value.strip())
        except ValueError:
            raise ValueError(f"{PREFIX}{name.upper()}={value!r} is not a valid {_CONVERT[name].__name__}") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)

