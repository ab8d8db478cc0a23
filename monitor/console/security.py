"""Who may do what, and the browser's protections.

- Passwords: argon2id (argon2-cffi). API tokens, feed tokens and session ids are random and stored as
  SHA-256 digests only; a token is shown once, when it is made.
- Sessions: an HttpOnly, SameSite=Strict cookie holding a random id (Secure over HTTPS); the row keeps a CSRF
  token that every form and every HTMX request sends back (``X-CSRF-Token``).
- Login attempts are counted per name and per address (``LoginThrottle``).
- Roles: viewer < analyst < admin, checked on the server for pages and API alike (``allows``).
- Every response carries a Content-Security-Policy with no inline script (``CSP``) and no framing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from storage import console_repo as repo
from storage.console_models import ROLES, ApiToken, User, WebSession
from storage.models import utcnow

SESSION_COOKIE = "tocsin_session"
LOGIN_COOKIE = "tocsin_login"  # the login form's CSRF token (double-submit), before there is a session
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # form posts can go back; no address leaks to other sites
    "Cross-Origin-Opener-Policy": "same-origin",
}

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password anyone has")  # so an unknown name costs as long as a wrong password


def digest(secret: str) -> str:
    """What is stored for a token or a session id."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may (viewer < analyst < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Viewer:
    """The person behind a request."""

    user_id: int
    name: str
    role: str
    csrf: str = ""  # empty for API requests (bearer tokens need no CSRF token)
    seen_alert_id: int = 0

    def may(self, needed: str) -> bool:
        return allows(self.role, needed)


def _viewer(user: User, csrf: str = "") -> Viewer:
    return Viewer(user.id, user.name, user.role, csrf, user.seen_alert_id)


def start_session(session: Session, user: User, *, lifetime: timedelta, now: datetime | None = None
                  ) -> tuple[str, WebSession]:
    """A new login: returns the cookie value (shown to the browser only) and the stored row."""
    now = now or utcnow()
    repo.end_sessions(session, expired_before=now)
    cookie = new_secret()
    row = WebSession(id_hash=digest(cookie), user_id=user.id, csrf_token=new_secret(), created_at=now,
                     expires_at=now + lifetime)
    session.add(row)
    user.last_login_at = now
    session.flush()
    return cookie, row


def session_viewer(session: Session, cookie: str | None, *, now: datetime | None = None) -> Viewer | None:
    """The logged-in person of a session cookie, or None (unknown, expired or disabled)."""
    if not cookie:
        return None
    row = repo.session_by_hash(session, digest(cookie))
    if row is None or row.expires_at <= (now or utcnow()) or row.user.disabled_at is not None:
        return None
    return _viewer(row.user, row.csrf_token)


def end_session(session: Session, cookie: str | None) -> None:
    if cookie and (row := repo.session_by_hash(session, digest(cookie))) is not None:
        session.delete(row)


def token_viewer(session: Session, token: str | None, *, scope: str = "api", filter_id: int | None = None,
                 now: datetime | None = None) -> Viewer | None:
    """The owner of a live token of this scope (a feed token: of this saved filter), or None."""
    if not token:
        return None
    row: ApiToken | None = repo.token_by_hash(session, digest(token))
    if row is None or row.revoked_at is not None or row.scope != scope or row.user.disabled_at is not None:
        return None
    if filter_id is not None and row.filter_id != filter_id:
        return None
    row.last_used_at = now or utcnow()
    return _viewer(row.user)


class LoginThrottle:
    """Failed logins per name and per address within ``window``; past ``limit``, logins wait."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit, self.window = limit, window.total_seconds()
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        found = self._failures.setdefault(key, deque())
        while found and found[0] <= now - self.window:
            found.popleft()
        return found

    def wait_seconds(self, *keys: str) -> int:
        """0 when a login may be tried now, else how many seconds until it may."""
        now = time.monotonic()
        with self._lock:
            waits = [found[0] + self.window - now for key in keys
                     if len(found := self._recent(key, now)) >= self.limit]
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
