"""Console users and their tokens: what ``tocsin users ...`` and the users page both do.

Each function works on the caller's session, writes the change to the audit log under ``actor``, and raises
:class:`~config.errors.UserError` when the change cannot be made. Tokens are returned once and stored only
as digests.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from config.errors import UserError
from monitor.console.security import digest, hash_password, new_secret, password_matches
from storage import console_repo as repo
from storage.console_models import ROLES, ApiToken, SavedFilter, User
from storage.models import utcnow

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
MIN_PASSWORD = 10


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is too short: use at least {MIN_PASSWORD} characters (a passphrase is best)")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def get_user(session: Session, name: str) -> User:
    user = repo.user_by_name(session, name)
    if user is None:
        raise UserError(f"no user {name!r} (see `tocsin users list`)")
    return user


def add_user(session: Session, name: str, *, role: str, password: str | None, actor: str) -> User:
    """A new user; ``password`` None makes an API-only user (``tocsin users token``)."""
    if not NAME.fullmatch(name):
        raise UserError(f"user name {name!r}: use letters, digits and . _ @ - (at most 100, starting with a "
                        "letter or digit)")
    _check_role(role)
    if password is not None:
        _check_password(password)
    if repo.user_by_name(session, name) is not None:
        raise UserError(f"user {name!r} exists already (change it with `tocsin users passwd` or the users page)")
    user = User(name=name, role=role, password_hash=hash_password(password) if password is not None else None,
                password_changed_at=utcnow() if password is not None else None)
    session.add(user)
    session.flush()
    repo.add_audit(session, actor=actor, action="user.add", target=name, detail={"role": role})
    return user


def set_role(session: Session, name: str, *, role: str, actor: str) -> User:
    _check_role(role)
    user = get_user(session, name)
    if user.role != role:
        repo.add_audit(session, actor=actor, action="user.role", target=name, detail={"from": user.role, "to": role})
        user.role = role
    return user


def set_password(session: Session, name: str, *, password: str, actor: str) -> User:
    """A new password; the user's open sessions end."""
    _check_password(password)
    user = get_user(session, name)
    user.password_hash, user.password_changed_at = hash_password(password), utcnow()
    repo.end_sessions(session, user_id=user.id)
    repo.add_audit(session, actor=actor, action="user.passwd", target=name)
    return user


def set_disabled(session: Session, name: str, *, disabled: bool, actor: str) -> User:
    """Disable (sessions end, tokens stop working) or enable again."""
    user = get_user(session, name)
    if disabled and user.disabled_at is None:
        user.disabled_at = utcnow()
        repo.end_sessions(session, user_id=user.id)
        repo.add_audit(session, actor=actor, action="user.disable", target=name)
    elif not disabled and user.disabled_at is not None:
        user.disabled_at = None
        repo.add_audit(session, actor=actor, action="user.enable", target=name)
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The enabled user with this name and password, or None (the same cost either way)."""
    user = repo.user_by_name(session, name)
    ok = password_matches(user.password_hash if user is not None else None, password)
    return user if ok and user is not None and user.disabled_at is None else None


def new_api_token(session: Session, name: str, *, actor: str, replace: bool = False) -> str:
    """A new API token for ``name`` (printed once; only its digest is kept). ``replace`` revokes the others."""
    user = get_user(session, name)
    if user.disabled_at is not None:
        raise UserError(f"user {name!r} is disabled (enable it first)")
    if replace:
        for old in repo.live_tokens(session, user.id, scope="api"):
            old.revoked_at = utcnow()
    token = new_secret()
    session.add(ApiToken(user_id=user.id, token_hash=digest(token), scope="api"))
    repo.add_audit(session, actor=actor, action="user.token", target=name, detail={"replaced": replace})
    return token


def new_feed_token(session: Session, saved: SavedFilter, *, actor: str) -> str:
    """A new read-only token for one saved filter's Atom feed; the filter's older feed tokens stop working."""
    for old in repo.live_tokens(session, saved.user_id, scope="feed", filter_id=saved.id):
        old.revoked_at = utcnow()
    token = new_secret()
    session.add(ApiToken(user_id=saved.user_id, token_hash=digest(token), scope="feed", filter_id=saved.id))
    repo.add_audit(session, actor=actor, action="filter.feed_token", target=saved.name)
    return token


def mark_seen(session: Session, user_id: int, *, now: datetime | None = None) -> int:
    """The queue's "new since I last looked" starts again from the newest alert; returns its id."""
    user = session.get_one(User, user_id)
    user.seen_alert_id, user.seen_at = repo.newest_alert_id(session), now or utcnow()
    return user.seen_alert_id
