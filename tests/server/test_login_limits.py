"""Sign-in limits (issue 17, findings 2, 3 and the timing half of 11).

Every password path (web /login, /auth/token, /auth/device) waits per client address
and per username with a capped, doubling back-off; the Argon2 check runs with no
write transaction open and a bounded number at once; unknown usernames are checked
against a dummy hash. Time is a fake clock on the app's LoginGuard: no sleeps.
"""
from __future__ import annotations

import queue
import secrets
import sqlite3
import threading

import pytest
from sqlalchemy import create_engine, text

from server.auth import passwords
from signin import form_token

LIMITS = {"LOGIN_ADDRESS_FAILURES": 3, "LOGIN_ACCOUNT_FAILURES": 5, "LOGIN_LOCKOUT_S": 60,
          "LOGIN_LOCKOUT_MAX_S": 900, "LOGIN_FORGET_S": 3600}
PASSWORD = "right-pass-1"


class Clock:
    """A settable clock for the guard (seconds since the epoch)."""

    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def hook_password_checks(monkeypatch, hook, **params):
    """Run ``hook(stored_hash)`` at the start of every Argon2 verification (whatever code
    path calls it), with the suite's cheap parameters unless ``params`` say otherwise."""
    from argon2 import PasswordHasher

    base = dict(time_cost=1, memory_cost=1024, parallelism=1) if not params.get("production") else {}

    class Hooked(PasswordHasher):
        def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
            hook(hash if isinstance(hash, str) else hash.decode())
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "_hasher", Hooked(**base))


@pytest.fixture
def app_config(app_config):
    return {**app_config, **LIMITS}


@pytest.fixture
def clock(app) -> Clock:
    c = Clock()
    app.extensions["saola_login_guard"].clock = c
    return c


def _addr(n: int) -> dict:
    return {"REMOTE_ADDR": f"10.0.{n // 250}.{n % 250 + 1}"}


def attempt(client, path: str, username: str, password: str, n: int = 0, headers=None):
    """One sign-in on ``path`` ('web', 'token' or 'device') from client address number ``n``."""
    env = _addr(n)
    if path == "web":
        data = {"username": username, "password": password, "csrf_token": form_token(client)}
        return client.post("/login", data=data, environ_base=env, headers=headers)
    body = {"username": username, "password": password}
    if path == "device":
        body["device_id"] = "tab-0001"
    return client.post(f"/api/v1/auth/{path}", json=body, environ_base=env, headers=headers)


def ok(r, path: str) -> bool:
    return r.status_code == (302 if path == "web" else 201)


def assert_waiting(r, path: str, retry_after: int, scope: str | None = None):
    assert r.status_code == 429, r.data
    assert r.headers["Retry-After"] == str(retry_after)
    if path == "web":
        assert b"Too many wrong sign-ins. Try again in" in r.data
    else:
        err = r.json["error"]
        assert err["code"] == "too_many_attempts" and err["details"]["retry_after"] == retry_after
        if scope:
            assert err["details"]["scope"] == scope


# ---- finding 3: brute force -------------------------------------------------------------
@pytest.mark.parametrize("path", ["web", "token", "device"])
def test_each_path_waits_after_n_wrong_passwords_even_for_the_right_one(client, world, clock, path):
    world.user("lan", password=PASSWORD)
    for _ in range(3):
        assert attempt(client, path, "lan", "wrong-pass-0").status_code == 401
    assert_waiting(attempt(client, path, "lan", "wrong-pass-0"), path, 60, "address")
    assert_waiting(attempt(client, path, "lan", PASSWORD), path, 60, "address")
    clock.t += 30
    assert_waiting(attempt(client, path, "lan", PASSWORD), path, 30, "address")
    clock.t += 31
    assert ok(attempt(client, path, "lan", PASSWORD), path)


def change_password(client, user, headers, current: str, n: int = 0):
    return client.patch(f"/api/v1/users/{user.id}", json={"password": "New-forest-2025", "current_password": current},
                        headers=headers, environ_base=_addr(n))


def test_current_password_of_a_password_change_is_limited_like_a_sign_in(client, world, clock):
    """A stolen token cannot guess the current password quickly: 403 for each wrong one, then
    429 (even for the right one) until the wait ends."""
    u = world.user("lan", password=PASSWORD)
    h = world.headers(u)
    for _ in range(3):
        r = change_password(client, u, h, "wrong-pass-0")
        assert r.status_code == 403 and r.json["error"]["code"] == "wrong_password"
    assert_waiting(change_password(client, u, h, "wrong-pass-0"), "token", 60, "address")
    assert_waiting(change_password(client, u, h, PASSWORD), "token", 60, "address")
    clock.t += 60
    assert change_password(client, u, h, PASSWORD).status_code == 200


def test_web_wait_message_is_vietnamese_for_vietnamese_readers(client, world, clock):
    world.user("lan", password=PASSWORD)
    for _ in range(3):
        attempt(client, "web", "lan", "wrong-pass-0")
    r = attempt(client, "web", "lan", "wrong-pass-0", headers={"Accept-Language": "vi"})
    assert r.status_code == 429 and "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 60 giây." in r.text
    clock.t += 60
    for _ in range(3):  # the fourth failure after a wait doubles it: 120 s, said in minutes
        assert attempt(client, "web", "lan", "wrong-pass-0").status_code in (401, 429)
    r = attempt(client, "web", "lan", "wrong-pass-0", headers={"Accept-Language": "vi"})
    assert r.status_code == 429 and "Vui lòng thử lại sau 2 phút." in r.text


def test_account_waits_after_failures_from_many_addresses_and_success_resets(client, world, clock):
    world.user("lan", password=PASSWORD)
    for n in range(5):  # one failure per address: only the account limit (5) is reached
        assert attempt(client, "token", "lan", "wrong-pass-0", n).status_code == 401
    assert_waiting(attempt(client, "token", "lan", PASSWORD, 99), "token", 60, "account")
    assert attempt(client, "token", "other-user", "wrong-pass-0", 99).status_code == 401  # not the address
    clock.t += 60
    assert attempt(client, "token", "lan", PASSWORD, 99).status_code == 201
    for n in range(10, 14):  # the count started again from zero: four more failures are allowed
        assert attempt(client, "token", "lan", "wrong-pass-0", n).status_code == 401
    assert attempt(client, "token", "lan", PASSWORD, 98).status_code == 201


def test_back_off_doubles_and_is_capped(client, world, clock):
    world.user("lan", password=PASSWORD)
    for _ in range(3):
        attempt(client, "token", "lan", "wrong-pass-0")
    waits = []
    for _ in range(6):
        r = attempt(client, "token", "lan", "wrong-pass-0")
        assert r.status_code == 429
        waits.append(int(r.headers["Retry-After"]))
        for _ in range(3):  # attempts refused during a wait do not lengthen it
            assert attempt(client, "token", "lan", "wrong-pass-0").headers["Retry-After"] == str(waits[-1])
        clock.t += waits[-1]
        assert attempt(client, "token", "lan", "wrong-pass-0").status_code == 401  # counted: next wait doubles
    assert waits == [60, 120, 240, 480, 900, 900]


def test_failures_are_forgotten_after_a_quiet_hour(client, world, clock):
    world.user("lan", password=PASSWORD)
    for _ in range(2):
        attempt(client, "token", "lan", "wrong-pass-0")
    clock.t += 3601
    for _ in range(2):
        assert attempt(client, "token", "lan", "wrong-pass-0").status_code == 401
    assert attempt(client, "token", "lan", PASSWORD).status_code == 201


def test_address_limit_comes_first_and_spares_the_account(client, world, clock):
    """One attacker address is stopped (for every username) before the ranger's account waits."""
    world.user("lan", password=PASSWORD)
    for _ in range(3):
        attempt(client, "device", "lan", "wrong-pass-0", n=1)
    assert_waiting(attempt(client, "device", "lan", "wrong-pass-0", n=1), "device", 60, "address")
    assert_waiting(attempt(client, "device", "someone-else", "wrong-pass-0", n=1), "device", 60, "address")
    assert attempt(client, "device", "lan", PASSWORD, n=2).status_code == 201  # the ranger, elsewhere


def test_a_known_address_and_issued_tokens_outlast_an_account_flood(client, world, clock):
    """Attackers on many addresses lock the username; the ranger's tablet keeps syncing with its
    token, and the address the ranger signed in from before is held only by its own limit."""
    world.user("lan", password=PASSWORD)
    r = attempt(client, "device", "lan", PASSWORD, n=7)
    token = r.json["token"]
    for n in range(20, 40):
        attempt(client, "token", "lan", "wrong-pass-0", n)
    assert_waiting(attempt(client, "token", "lan", PASSWORD, n=8), "token", 60, "account")
    assert attempt(client, "token", "lan", PASSWORD, n=7).status_code == 201
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}, environ_base=_addr(20))
    assert me.status_code == 200 and me.json["username"] == "lan"
    pull = client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"}, environ_base=_addr(20))
    assert pull.status_code == 200


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(client, world, clock, app_config):
    world.user("lan", password=PASSWORD)
    for n in range(3):  # a spoofed header does not make a new address
        attempt(client, "token", "lan", "wrong-pass-0", headers={"X-Forwarded-For": f"192.0.2.{n}"})
    r = attempt(client, "token", "lan", "wrong-pass-0", headers={"X-Forwarded-For": "192.0.2.99"})
    assert r.status_code == 429

    from server import create_app

    proxied = create_app({**app_config, "TRUSTED_PROXIES": 1})
    proxied.extensions["saola_login_guard"].clock = clock
    c2 = proxied.test_client()
    behind = {"X-Forwarded-For": "192.0.2.7"}  # behind one trusted proxy the forwarded address counts
    for _ in range(3):
        assert attempt(c2, "token", "other", "wrong-pass-0", n=50, headers=behind).status_code == 401
    assert attempt(c2, "token", "other", "wrong-pass-0", n=50, headers=behind).status_code == 429
    r = attempt(c2, "token", "other", "wrong-pass-0", n=50, headers={"X-Forwarded-For": "192.0.2.8"})
    assert r.status_code == 401


# ---- finding 2: availability -------------------------------------------------------------
def test_concurrent_wrong_device_registrations_never_500(app_config, world, monkeypatch):
    """8 wrong passwords on /auth/device at once, with production Argon2 cost, and each check
    held until all 8 are checking: they overlap (none waits on a database lock held by
    another's check) and all answer 401, never 500 "database is locked"."""
    from server import create_app

    together = threading.Barrier(8)
    # Longer than SQLite's 30 s busy timeout: a check holding the write lock fails the others.
    hook_password_checks(monkeypatch, lambda _hash: together.wait(45), production=True)
    app = create_app({**app_config, "LOGIN_CONCURRENCY": 8})
    world.user("ranger", password=PASSWORD)
    results: queue.Queue = queue.Queue()

    def one(n):
        results.put(attempt(app.test_client(), "device", "ranger", f"wrong-pass-{n}", n))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    answers = [results.get_nowait() for _ in range(8)]
    assert [r.status_code for r in answers] == [401] * 8, [(r.status_code, r.data[:200]) for r in answers]
    assert all(r.json["error"]["code"] == "bad_credentials" for r in answers)


@pytest.mark.parametrize("path", ["web", "token", "device", "password-change"])
def test_password_check_runs_with_no_transaction_open(client, world, monkeypatch, path):
    """While Argon2 runs, another connection can take SQLite's write lock at once, and
    PostgreSQL shows no session idle in a transaction."""
    world_user = [world.user("lan", password=PASSWORD)]
    url = client.application.config["DATABASE_URL"]
    seen = []

    def probe(_hash):
        if url.startswith("sqlite"):
            con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
            try:
                con.execute("BEGIN IMMEDIATE")
                con.execute("ROLLBACK")
                seen.append("free")
            except sqlite3.OperationalError as e:
                seen.append(str(e))
            finally:
                con.close()
        else:
            eng = create_engine(url)
            try:
                with eng.connect() as c:
                    n = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                       " AND state LIKE 'idle in transaction%'")).scalar()
                seen.append("free" if n == 0 else f"{n} idle in transaction")
            finally:
                eng.dispose()

    hook_password_checks(monkeypatch, probe)
    if path == "password-change":
        u = world_user[0]
        h = world.headers(u)
        assert change_password(client, u, h, "wrong-pass-0").status_code == 403
        assert change_password(client, u, h, PASSWORD).status_code == 200
    else:
        assert attempt(client, path, "lan", "wrong-pass-0").status_code == 401
        assert ok(attempt(client, path, "lan", PASSWORD), path)
    assert seen == ["free", "free"]


def test_password_checks_at_once_are_bounded(app_config, world, monkeypatch):
    """With LOGIN_CONCURRENCY 1: one check runs, one waits, the others get 503 at once."""
    from server import create_app

    app = create_app({**app_config, "LOGIN_CONCURRENCY": 1})
    world.user("lan", password=PASSWORD)
    release, entered = threading.Event(), threading.Event()
    lock = threading.Lock()
    active, peak = [0], [0]

    def held_check(_hash):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        entered.set()
        release.wait(60)
        with lock:
            active[0] -= 1

    hook_password_checks(monkeypatch, held_check)
    results: queue.Queue = queue.Queue()

    def one(n):
        results.put(attempt(app.test_client(), "token", "lan", "wrong-pass-0", n))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    assert entered.wait(60)
    busy = [results.get(timeout=60) for _ in range(4)]  # answered while a check is still held
    assert all(r.status_code == 503 and r.headers["Retry-After"] == "2" and r.json["error"]["code"] == "busy"
               for r in busy)
    release.set()
    for t in threads:
        t.join(60)
    rest = [results.get_nowait() for _ in range(2)]
    assert [r.status_code for r in rest] == [401, 401] and peak[0] == 1


def test_one_check_at_a_time_per_address(client, world, monkeypatch):
    """A second sign-in from an address whose first is still being checked is answered 429 at
    once (the attacker's 16 threads use one core, not all); other addresses go on."""
    world.user("lan", password=PASSWORD)
    release, entered = threading.Event(), threading.Event()

    def held_check(_hash):
        entered.set()
        release.wait(60)

    hook_password_checks(monkeypatch, held_check)
    results: queue.Queue = queue.Queue()
    first = threading.Thread(target=lambda: results.put(attempt(client.application.test_client(), "web", "lan",
                                                                "wrong-pass-0", n=3)))
    first.start()
    assert entered.wait(60)
    r = attempt(client, "token", "lan", "wrong-pass-1", n=3)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json["error"]["details"]["scope"] == "in_flight"
    r = attempt(client, "web", "lan", "wrong-pass-1", n=3)
    assert r.status_code == 429 and b"A sign-in from this address is already being checked" in r.data
    release.set()
    first.join(60)
    assert results.get_nowait().status_code == 401
    assert attempt(client, "token", "lan", PASSWORD, n=3).status_code == 201


# ---- finding 11: username enumeration by timing -------------------------------------------
@pytest.mark.parametrize("path", ["web", "token", "device"])
def test_unknown_usernames_cost_one_password_check_like_known_ones(client, world, monkeypatch, path):
    world.user("lan", password=PASSWORD)
    calls = []
    hook_password_checks(monkeypatch, calls.append)
    assert attempt(client, path, "lan", "wrong-pass-0").status_code == 401
    assert attempt(client, path, "nobody-here", "wrong-pass-0", n=1).status_code == 401
    assert len(calls) == 2
    known, dummy = calls
    # Same Argon2 variant and cost parameters, so both checks take the same time.
    assert dummy != known and dummy.rsplit("$", 2)[0] == known.rsplit("$", 2)[0]


# ---- several server processes share the counters -----------------------------------------
@pytest.fixture(params=["database", "redis"])
def shared_store_config(request, app_config):
    if request.param == "database":
        yield app_config
        return
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as e:
        pytest.fail(f"Redis at 127.0.0.1:6379 is not usable: {e}")
    yield {**app_config, "RATELIMIT_URL": url}


def test_two_app_instances_share_counters_and_waits(shared_store_config, world):
    from server import create_app

    a, b = create_app(shared_store_config), create_app(shared_store_config)
    clock = Clock()
    for app in (a, b):
        app.extensions["saola_login_guard"].clock = clock
    name = f"lan-{secrets.token_hex(4)}"  # unique keys: the Redis server is shared
    world.user(name, password=PASSWORD)
    n = secrets.randbelow(60000)
    ca, cb = a.test_client(), b.test_client()
    try:
        assert attempt(ca, "token", name, "wrong-pass-0", n).status_code == 401
        assert attempt(cb, "token", name, "wrong-pass-0", n).status_code == 401
        assert attempt(ca, "token", name, "wrong-pass-0", n).status_code == 401
        assert_waiting(attempt(cb, "token", name, PASSWORD, n), "token", 60, "address")
        assert_waiting(attempt(ca, "token", name, PASSWORD, n), "token", 60, "address")
        for i in range(1, 3):  # account: 5 failures across both processes and addresses
            assert attempt(cb if i % 2 else ca, "token", name, "wrong-pass-0", n + i).status_code == 401
        assert_waiting(attempt(ca, "token", name, PASSWORD, n + 3), "token", 60, "account")
        clock.t += 60
        assert attempt(cb, "token", name, PASSWORD, n + 3).status_code == 201
        assert attempt(ca, "token", name, "wrong-pass-0", n + 4).status_code == 401  # reset seen by both
    finally:
        store = a.extensions["saola_login_guard"].store
        if hasattr(store, "redis"):
            for key in store.redis.scan_iter(store.PREFIX + "*"):
                store.redis.delete(key)
