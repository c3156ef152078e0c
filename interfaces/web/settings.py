"""The web service's settings: the engine's (store, profile) and its own ``DUOCE_WEB_*``.

``DUOCE_WEB_SECRET`` signs cookies and CSRF tokens; when unset, a random key is kept in
``<store>/web/secret.key`` (created once, mode 0600), so sessions survive a restart.
``DUOCE_WEB_DATABASE_URL`` moves the account tables (default: the store's catalogue file).
``DUOCE_WEB_SECURE_COOKIES=1`` behind HTTPS. ``DUOCE_WEB_PREFECT=1`` (with
``PREFECT_API_URL``; ``duoce serve`` sets both) runs checks as Prefect flow runs.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from engine.settings import get_settings


@dataclass(frozen=True)
class WebSettings:
    store: Path = Path("store")
    profile: str = "liaocheng"
    secret_key: str | None = None
    database_url: str | None = None
    secure_cookies: bool = False
    session_hours: float = 12.0
    upload_limit: int | None = None  # bytes; None: from the profile's PKG-007 limits
    check_workers: int = 1  # processes running pre-checks
    check_mode: str = "process"  # "process" (default) or "thread" (tests)
    prefect: bool = False  # checks as Prefect flow runs (PREFECT_API_URL's server)

    @classmethod
    def from_env(cls, **overrides) -> WebSettings:
        """Engine settings (``DUOCE_STORE``, ``DUOCE_PROFILE``) and ``DUOCE_WEB_*``."""
        base = get_settings()
        env = os.environ
        values: dict = {
            "store": base.store,
            "profile": base.profile,
            "secret_key": env.get("DUOCE_WEB_SECRET") or None,
            "database_url": env.get("DUOCE_WEB_DATABASE_URL") or None,
            "secure_cookies": env.get("DUOCE_WEB_SECURE_COOKIES", "") in ("1", "true", "yes"),
            "prefect": env.get("DUOCE_WEB_PREFECT", "") in ("1", "true", "yes")
            and bool(env.get("PREFECT_API_URL")),
        }
        if env.get("DUOCE_WEB_CHECK_WORKERS"):
            values["check_workers"] = int(env["DUOCE_WEB_CHECK_WORKERS"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def web_dir(self) -> Path:
        return Path(self.store).absolute() / "web"

    def secret(self) -> str:
        """The signing key: the setting, or the store's key file (created if missing)."""
        if self.secret_key:
            return self.secret_key
        path = self.web_dir / "secret.key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_urlsafe(48))
        return path.read_text(encoding="ascii").strip()
