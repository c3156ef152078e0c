"""docs/deploy.md names every setting the code reads, and the commands it gives exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("engine", "interfaces", "flows", "storage", "analysis", "outputs", "parsers", "schemas")


def settings_read() -> set[str]:
    names: set[str] = set()
    for room in ROOMS:
        for path in (ROOT / room).rglob("*.py"):
            names |= set(re.findall(r"DUOCE_[A-Z][A-Z_]*[A-Z]", path.read_text(encoding="utf-8")))
    from engine.settings import PREFIX, Settings

    names |= {PREFIX + f.upper() for f in Settings.__dataclass_fields__}
    # a prefix in a docstring, the CI marker, the overlay DXF's text style name
    return names - {"DUOCE_WEB", "DUOCE_CI", "DUOCE_QC"}


def test_every_setting_is_in_the_deployment_guide():
    doc = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `(DUOCE_[A-Z_]+)`", doc, flags=re.M))
    missing = settings_read() - table
    assert not missing, f"docs/deploy.md does not describe {sorted(missing)}"
    assert "DUOCE_DATABASE_URL" in table and "DUOCE_DASK_ADDRESS" in table


def test_the_guide_names_real_entry_points():
    doc = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    import importlib.util

    for module in re.findall(r"python -m ([a-z_.]+)", doc):
        assert importlib.util.find_spec(module) is not None, module
    from interfaces.web.worker import DEPLOYMENT

    assert DEPLOYMENT in doc
    from outputs.products import (
        BOUNDARY_POINTS,
        HOUSING_UNITS,
        PARCELS,
        SHARED_PARTS,
        SITE_BOUNDARY,
    )

    for layer in (SITE_BOUNDARY, PARCELS, BOUNDARY_POINTS, HOUSING_UNITS, SHARED_PARTS):
        assert f"`{layer.name}`" in doc, layer.name
