"""Security helpers: password hashes (argon2 via pwdlib), random secrets and their digests,
signed session cookies (itsdangerous) and CSRF tokens bound to the session.

Passwords are hashed with argon2id (pwdlib's recommended parameters); a hash made with
older parameters is replaced at the next login. Session ids and API tokens are 256-bit
random strings; only their sha256 is stored (a digest of a random secret needs no slow
hash). A CSRF token is an HMAC of the session id (or, before login, of a signed nonce in
its own cookie), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pwdlib import PasswordHash

SESSION_COOKIE = "duoce_session"
LOGIN_COOKIE = "duoce_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_PREFIX = "dct_"
MIN_PASSWORD = 10

_hasher = PasswordHash.recommended()
_DUMMY = _hasher.hash("duoce-timing-equaliser")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"密码至少 {MIN_PASSWORD} 个字符")
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one should be upgraded). With no stored hash a
    dummy is verified, so an unknown user costs the same time as a wrong password."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY)
        return False, None
    try:
        return _hasher.verify_and_update(password, password_hash)
    except Exception:  # a malformed stored hash: no match
        return False, None


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Signer:
    """Signs cookie values and derives CSRF tokens from one secret key."""

    def __init__(self, key: str, max_age: float) -> None:
        self._key = key.encode("utf-8")
        self._session = URLSafeTimedSerializer(key, salt="duoce-session")
        self._login = URLSafeTimedSerializer(key, salt="duoce-login")
        self.max_age = max_age

    def sign_session(self, session_id: str) -> str:
        return self._session.dumps(session_id)

    def session_id(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            value = self._session.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def sign_login_nonce(self, nonce: str) -> str:
        return self._login.dumps(nonce)

    def login_nonce(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            value = self._login.loads(cookie, max_age=3600)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def csrf_token(self, purpose: str, bound_to: str) -> str:
        msg = f"{purpose}:{bound_to}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def csrf_ok(self, purpose: str, bound_to: str | None, token: str | None) -> bool:
        if not bound_to or not token:
            return False
        return hmac.compare_digest(self.csrf_token(purpose, bound_to), token)
