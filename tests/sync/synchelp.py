"""Sync client test helpers: the field app's Store against the server through a requests-like adapter.

``FlaskSession`` carries the client's requests into the Flask app in-process
(fast, and on both databases via the ``app`` fixture); ``Faulty`` wraps any
session to drop connections before or after the server handled a request, or
to answer like a captive portal. The end-to-end test uses real HTTP instead.
"""
from urllib.parse import urlsplit



class _Resp:
    def __init__(self, r):
        self.status_code = r.status_code
        self.headers = dict(r.headers)
        self._data = r.get_data()
        self.reason = r.status

    def json(self):
        import json

        return json.loads(self._data)


class FlaskSession:
    """A requests.Session look-alike that calls a Flask test client."""

    def __init__(self, app):
        self.client = app.test_client()
        self.calls = []

    def request(self, method, url, headers=None, timeout=None, data=None, params=None, json=None):
        parts = urlsplit(url)
        self.calls.append((method, parts.path, len(data) if isinstance(data, (bytes, bytearray)) else 0))
        r = self.client.open(parts.path, method=method, headers=headers or {}, data=data, query_string=params)
        return _Resp(r)

    def get(self, url, timeout=None, headers=None):
        return self.request("GET", url, headers=headers)


class ConnectionDropped(Exception):
    pass


class Faulty:
    """Wraps a session; ``plan`` maps call numbers to faults: 'drop' (never reaches the server),
    'lose' (server handles it, answer lost), 'portal' (HTML 200 instead of the server)."""

    def __init__(self, inner, plan=None, match=None):
        self.inner, self.plan, self.match = inner, dict(plan or {}), match
        self.n = 0

    def request(self, method, url, **kw):
        if self.match is None or self.match(method, url):
            self.n += 1
            fault = self.plan.get(self.n)
        else:
            fault = None
        if fault == "drop":
            raise ConnectionDropped("connection reset by peer")
        if fault == "portal":
            class Portal:
                status_code = 200
                headers = {"Content-Type": "text/html"}
                reason = "OK"

                def json(self):
                    raise ValueError("not json")

            return Portal()
        resp = self.inner.request(method, url, **kw)
        if fault == "lose":
            raise ConnectionDropped("connection reset after the request was sent")
        return resp

    def get(self, url, **kw):
        return self.request("GET", url, **kw)


class Site:
    """An area with a transect program, taxa, and rangers; makes Stores and clients."""

    def __init__(self, app, world, tmp_path, suffix=""):
        self.app, self.world, self.tmp = app, world, tmp_path
        self.area = world.area("PNKB" + suffix, "Phong Nha-Ke Bang")
        self.program = world.program(self.area.id, "Transects 2026", protocol="line-transect")
        with world.session() as s:
            from sqlmodel import select

            from server.models import Taxon
            from server.services.taxa import refresh_search_text

            for sci in ("Pygathrix nemaeus", "Muntiacus vuquangensis", "Nomascus gabriellae"):
                if s.exec(select(Taxon).where(Taxon.scientific_name == sci)).first() is None:
                    t = Taxon(scientific_name=sci)
                    refresh_search_text(t)
                    s.add(t)
        self.ranger = world.user("lan" + suffix, roles={self.area.id: "ranger"})
        self.ranger2 = world.user("minh" + suffix, roles={self.area.id: "ranger"})

    def store(self, name):
        from mobile.store import Store

        return Store(self.tmp / name)

    def client(self, store, user=None, session=None, **kw):
        from mobile.sync import SyncClient

        user = user or self.ranger
        flask = session or FlaskSession(self.app)
        base = flask.inner if isinstance(flask, Faulty) else flask
        r = base.client.post("/api/v1/auth/device", json={"username": user.username, "password": "password123",
                                                          "device_id": store.device_id})
        assert r.status_code == 201, r.json
        kw.setdefault("sleep", lambda s: None)
        return SyncClient(store, "http://saola.test", r.json["token"], session=flask, **kw)

    def observation(self, store, walk_id=None, **rec):
        data = {"observed_at": "2026-03-01T07:30:00+07:00", "taxon": "Pygathrix nemaeus", "sign_type": "sighting",
                "count": 2, "distance_m": 15.0, "bearing_deg": 40.0, "transect_bearing_deg": 0.0,
                "location": {"lat": 17.5, "lon": 106.2}, **rec}
        return store.save_record("observation", "line_transect@1.0", "observation", data,
                                 program_id=self.program.id, walk_id=walk_id, photos=rec.get("photos"))

    def walk(self, store):
        return store.start_walk("line_transect@1.0", {"transect_id": "T1", "observers": ["Lan"], "weather": "clear"},
                                program_id=self.program.id)
