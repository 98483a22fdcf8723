"""Where sign-in failure counters live: the database (default) or Redis.

Both stores apply one :class:`Limit` atomically, so several server processes agree on
counts and waits. Times are seconds since the epoch from the caller's clock (tests
inject one), never read here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlmodel import col, delete, select

from ..db import session_scope
from ..models import LoginThrottle


@dataclass(frozen=True)
class Limit:
    """How many failures a key may have before it waits, and how long it waits.

    From the ``failures``-th failure on, each failure starts a wait of ``base_s`` doubled
    per failure beyond the limit, at most ``cap_s``. A key's failures are forgotten
    ``forget_s`` after its last failure (or when its wait ends, if later).
    """

    failures: int
    base_s: float
    cap_s: float
    forget_s: float

    def after_failure(self, failures: int, now: float) -> tuple[int, float | None, float]:
        """(failures, locked_until or None, expires_at) after one more failure."""
        n = failures + 1
        locked = None
        if n >= self.failures:
            locked = now + min(self.cap_s, self.base_s * 2 ** min(n - self.failures, 40))
        return n, locked, max(now + self.forget_s, locked or 0.0)


@dataclass(frozen=True)
class State:
    failures: int
    locked_until: float | None

    def wait(self, now: float) -> float:
        """Seconds left of this key's wait (0: none)."""
        return max(0.0, (self.locked_until or 0.0) - now)


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


def _ts(d: datetime) -> float:
    return (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).timestamp()


def _state(row: LoginThrottle) -> State:
    return State(row.failures, None if row.locked_until is None else _ts(row.locked_until))


class DatabaseStore:
    """Counters in the ``login_throttle`` table; each write is one short transaction."""

    def __init__(self, url: str):
        self.url = url

    def get(self, keys: list[str], now: float) -> dict[str, State]:
        """The live state of each of ``keys`` that has one (read-only, no write lock)."""
        with session_scope(self.url, read_only=True) as s:
            rows = s.exec(select(LoginThrottle).where(col(LoginThrottle.key).in_(keys))).all()
            return {r.key: _state(r) for r in rows if _ts(r.expires_at) > now}

    def fail(self, items: list[tuple[str, Limit]], now: float) -> dict[str, State]:
        """Count one failure on each key; a key already waiting is left as it is (attempts
        refused during a wait never lengthen it)."""
        out: dict[str, State] = {}
        items = sorted(items, key=lambda kv: kv[0])  # one lock order: no deadlocks on PostgreSQL
        with session_scope(self.url) as s:
            _insert_missing(s, [k for k, _ in items], now)
            rows = {r.key: r for r in s.exec(select(LoginThrottle).where(
                col(LoginThrottle.key).in_([k for k, _ in items])).with_for_update())}
            for key, limit in items:
                row = rows[key]
                if _ts(row.expires_at) <= now:  # forgotten
                    row.failures, row.locked_until = 0, None
                if _state(row).wait(now) > 0:
                    out[key] = _state(row)
                    continue
                n, locked, expires = limit.after_failure(row.failures, now)
                row.failures, row.expires_at = n, _dt(expires)
                row.locked_until = None if locked is None else _dt(locked)
                s.add(row)
                out[key] = State(n, locked)
            s.flush()
            s.exec(delete(LoginThrottle).where(col(LoginThrottle.expires_at) < _dt(now)))
        return out

    def reset(self, key: str) -> None:
        with session_scope(self.url) as s:
            s.exec(delete(LoginThrottle).where(col(LoginThrottle.key) == key))

    def remember(self, key: str, until: float, now: float) -> None:
        """Keep ``key`` (no failures) until ``until``."""
        with session_scope(self.url) as s:
            _insert_missing(s, [key], now)
            row = s.get_one(LoginThrottle, key)
            row.failures, row.locked_until, row.expires_at = 0, None, _dt(until)
            s.add(row)


def _insert_missing(s, keys: list[str], now: float) -> None:
    """Create absent rows (already expired, so they count from zero) without racing
    another process doing the same."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    rows = [{"key": k, "failures": 0, "locked_until": None, "expires_at": _dt(now)} for k in keys]
    s.exec(insert(LoginThrottle).values(rows).on_conflict_do_nothing(index_elements=["key"]))


class RedisStore:
    """Counters as Redis hashes ``saola:login:<key>`` that Redis drops when they expire."""

    PREFIX = "saola:login:"

    def __init__(self, url: str):
        import redis  # the 'scale' extra; only needed when SAOLA_RATELIMIT_URL names Redis

        self.redis = redis.Redis.from_url(url)
        self._watch_error = redis.WatchError

    @staticmethod
    def _state(h: dict, now: float) -> State | None:
        if not h or float(h.get(b"expires_at", 0)) <= now:
            return None
        lu = h.get(b"locked_until")
        return State(int(h.get(b"failures", 0)), float(lu) if lu else None)

    def get(self, keys: list[str], now: float) -> dict[str, State]:
        pipe = self.redis.pipeline(transaction=False)
        for k in keys:
            pipe.hgetall(self.PREFIX + k)
        out = {}
        for k, h in zip(keys, pipe.execute()):
            st = self._state(h, now)
            if st is not None:
                out[k] = st
        return out

    def fail(self, items: list[tuple[str, Limit]], now: float) -> dict[str, State]:
        out = {}
        for key, limit in items:
            name = self.PREFIX + key
            with self.redis.pipeline() as pipe:
                while True:  # optimistic transaction: retried when another process wrote meanwhile
                    try:
                        pipe.watch(name)
                        st = self._state(pipe.hgetall(name), now) or State(0, None)
                        if st.wait(now) > 0:
                            pipe.unwatch()
                            out[key] = st
                            break
                        n, locked, expires = limit.after_failure(st.failures, now)
                        pipe.multi()
                        pipe.delete(name)
                        pipe.hset(name, mapping={"failures": n, "locked_until": "" if locked is None else repr(locked),
                                                 "expires_at": repr(expires)})
                        pipe.expire(name, max(1, int(expires - now) + 1))
                        pipe.execute()
                        out[key] = State(n, locked)
                        break
                    except self._watch_error:
                        continue
        return out

    def reset(self, key: str) -> None:
        self.redis.delete(self.PREFIX + key)

    def remember(self, key: str, until: float, now: float) -> None:
        name = self.PREFIX + key
        pipe = self.redis.pipeline()
        pipe.delete(name)
        pipe.hset(name, mapping={"failures": 0, "locked_until": "", "expires_at": repr(until)})
        pipe.expire(name, max(1, int(until - now) + 1))
        pipe.execute()
