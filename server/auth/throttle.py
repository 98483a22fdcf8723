"""Sign-in limits: waits per client address and per username, bounded password checks.

A password check costs Argon2's time and memory on purpose, so unlimited anonymous
sign-ins both starve the server and allow brute force. Every path that checks a
password goes through :func:`authenticate`:

1. refuse at once (429, Retry-After) while the client address or the username waits;
2. look the user up read-only and end that transaction, so no write lock (SQLite's
   is database-wide) is held during the check;
3. check the password, against a dummy hash when the username is unknown so both
   take the same time; per process one check at a time per client address (others
   429 at once), at most LOGIN_CONCURRENCY checks at once with as many more queued,
   and the rest are answered 503 at once, so a flood cannot take every request thread
   or every core;
4. record the outcome in one short write: a failure counts for the address and the
   username; success clears the username's count (never the address's, or signing
   in to one's own account would reset an attacker's address) and remembers the
   address as known for that user.

What keeps a real ranger in, as mature systems do: the address limit is lower than
the username limit, so one attacker is stopped before the account waits; waits double
with each further failure but are capped (LOGIN_LOCKOUT_MAX_S) and attempts refused
during a wait never lengthen it; failures are forgotten after LOGIN_FORGET_S; an
address where the user signed in during the last KNOWN_DAYS is held only by its own
limit, not by the username's, so attackers elsewhere cannot keep the user out; and
bearer tokens already issued are never checked here, so tablets keep syncing.
"""
from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from flask import Flask, current_app, request
from sqlmodel import select

from ..db import session_scope
from ..errors import RetryLater, Unauthorized
from ..i18n import gettext as _
from ..models import User
from . import passwords
from .throttle_store import DatabaseStore, Limit, RedisStore

KNOWN_DAYS = 30


def _key(kind: str, value: str) -> str:
    # Hashed: people type passwords into the username field; keep none of it.
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def address_of(raw: str | None) -> str:
    """The client address a limit applies to: the IPv4 address, or the IPv6 /64 network
    (one subscriber usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(raw or "")
    except ValueError:
        return raw or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class LoginGuard:
    """The sign-in limits of one app (one per process); ``clock`` is injectable for tests."""

    def __init__(self, config: dict, clock: Callable[[], float] = time.time):
        url = config.get("RATELIMIT_URL") or ""
        self.store = RedisStore(url) if url.startswith(("redis://", "rediss://", "unix://")) \
            else DatabaseStore(config["DATABASE_URL"])
        base, cap, forget = (float(config[k]) for k in ("LOGIN_LOCKOUT_S", "LOGIN_LOCKOUT_MAX_S", "LOGIN_FORGET_S"))
        self.address_limit = Limit(int(config["LOGIN_ADDRESS_FAILURES"]), base, cap, forget)
        self.account_limit = Limit(int(config["LOGIN_ACCOUNT_FAILURES"]), base, cap, forget)
        self.database_url = config["DATABASE_URL"]
        self.clock = clock
        n = max(1, int(config["LOGIN_CONCURRENCY"]))
        self._checking = threading.BoundedSemaphore(n)
        self._admitted = threading.BoundedSemaphore(2 * n)  # checking + queued
        self._in_flight: set[str] = set()  # addresses with a sign-in under way in this process
        self._lock = threading.Lock()
        # Address waits seen by this process (key -> end): waits only end by time, so they can be cached.
        self._waits: dict[str, float] = {}

    # ---- the one entry point -------------------------------------------------------
    def authenticate(self, username: str, password: str, address: str) -> User:
        """The active user with this username and password, else Unauthorized (401) or
        RetryLater (429 while a wait runs or while this address has a check under way,
        503 when too many checks are under way)."""
        account = _key("account", username.strip().casefold())
        addr = _key("address", address_of(address))
        known = _key("known", f"{username.strip().casefold()}|{address_of(address)}")
        now = self.clock()
        until = self._waits.get(addr, 0.0)
        if until > now:  # a flood from one waiting address costs no store read
            raise self._too_many(until - now, "address")
        with self._slot(addr):  # refusals here cost no database work either
            self._refuse_if_waiting(account, addr, known)
            user = self._lookup(username)
            with self._checking:
                ok = passwords.verify_password(
                    user.password_hash if user is not None else passwords.dummy_hash(), password)
            if ok and user is not None and user.active:
                self._succeeded(account, known)
                return user
            # Still inside the slot: this address's next attempt sees this failure counted.
            self._failed(account, addr)
        raise Unauthorized("wrong username or password", code="bad_credentials")

    @contextmanager
    def _slot(self, addr: str) -> Iterator[None]:
        """One check at a time per client address, 2 x LOGIN_CONCURRENCY in all (checking or
        queued); beyond that, an answer at once instead of a request thread held."""
        with self._lock:
            if addr in self._in_flight:
                raise RetryLater("a sign-in from this client address is already being checked; try again",
                                 retry_after=1, details={"scope": "in_flight"})
            self._in_flight.add(addr)
        try:
            if not self._admitted.acquire(blocking=False):
                raise RetryLater("the server is busy checking other sign-ins; try again in a few seconds",
                                 retry_after=2, status=503, code="busy")
            try:
                yield
            finally:
                self._admitted.release()
        finally:
            with self._lock:
                self._in_flight.discard(addr)

    # ---- steps ---------------------------------------------------------------------
    def _refuse_if_waiting(self, account: str, addr: str, known: str) -> None:
        now = self.clock()
        states = self.store.get([account, addr, known], now)
        if addr in states and states[addr].wait(now) > 0:
            self._waits[addr] = states[addr].locked_until
            raise self._too_many(states[addr].wait(now), "address")
        # An address the user signed in from lately is held only by its own limit.
        if account in states and states[account].wait(now) > 0 and known not in states:
            raise self._too_many(states[account].wait(now), "account")

    @staticmethod
    def _too_many(wait: float, scope: str) -> RetryLater:
        who = "this client address" if scope == "address" else "this username"
        return RetryLater(f"too many wrong sign-ins from {who}; try again in {int(-(-wait // 1))} s",
                          retry_after=wait, details={"scope": scope})

    def _lookup(self, username: str) -> User | None:
        # Read-only and finished before the password check (no write lock held during it).
        with session_scope(self.database_url, read_only=True) as s:
            return s.exec(select(User).where(User.username == username)).first()

    def _failed(self, account: str, addr: str) -> None:
        now = self.clock()
        states = self.store.fail([(account, self.account_limit), (addr, self.address_limit)], now)
        if states[addr].wait(now) > 0:
            if len(self._waits) > 10000:  # many addresses (a botnet): forget the ended waits
                self._waits = {k: t for k, t in self._waits.items() if t > now}
            self._waits[addr] = states[addr].locked_until

    def _succeeded(self, account: str, known: str) -> None:
        now = self.clock()
        states = self.store.get([account, known], now)
        if account in states:  # only a write when there is something to clear
            self.store.reset(account)
        if known not in states:  # remembered for KNOWN_DAYS, then again at the next sign-in
            self.store.remember(known, now + KNOWN_DAYS * 86400, now)


def wait_message(e: RetryLater) -> str:
    """What the sign-in page says for a refused attempt, in the reader's language."""
    if e.status == 503:
        return _("The server is busy checking other sign-ins. Try again in a few seconds.")
    if (e.details or {}).get("scope") == "in_flight":
        return _("A sign-in from this address is already being checked. Try again in a moment.")
    if e.retry_after < 120:
        return _("Too many wrong sign-ins. Try again in {n} seconds.", n=e.retry_after)
    return _("Too many wrong sign-ins. Try again in {n} minutes.", n=-(-e.retry_after // 60))


def guard() -> LoginGuard:
    """The current app's LoginGuard."""
    return current_app.extensions["saola_login_guard"]


def client_address() -> str:
    """The request's client address (X-Forwarded-For counts only with SAOLA_TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"


def authenticate(username: str, password: str) -> User:
    """Check a sign-in from the current request's client (see :class:`LoginGuard`)."""
    return guard().authenticate(username, password, client_address())


def confirm_password(user: User, password: str) -> bool:
    """Whether a signed-in ``user`` typed their own password (e.g. to change it), under the same
    limits as a sign-in, so a stolen session cannot guess it quickly. RetryLater while waiting.
    Call it before the request opens a write transaction."""
    try:
        authenticate(user.username, password)
    except Unauthorized:
        return False
    return True


def init_app(app: Flask) -> None:
    app.extensions["saola_login_guard"] = LoginGuard(app.config)
