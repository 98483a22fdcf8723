"""The API client against a small stub server on loopback (the real endpoints are another issue's)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from mobile.api_client import ApiClient, ApiError


class Stub(BaseHTTPRequestHandler):
    seen: list = []
    portal = False

    def log_message(self, *args):
        pass

    def _send(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Stub.seen.append(("POST", self.path, body, self.headers.get("Authorization")))
        if body["password"] != "đúng":
            return self._send(401, {"error": {"code": "unauthorized", "message": "bad credentials"}})
        self._send(201, {"token": "tok-1", "token_id": "t1", "user": {"username": body["username"]}})

    def do_GET(self):
        url = urlparse(self.path)
        Stub.seen.append(("GET", url.path, parse_qs(url.query), self.headers.get("Authorization")))
        if Stub.portal:
            return self._send(200, "<html>Đăng nhập Wi-Fi</html>", "text/html")
        if url.path == "/api/v1/areas":
            return self._send(200, [{"id": "a1", "name": "Bạch Mã"}])
        if url.path == "/api/v1/programs":
            # Two pages, as the server's paginate() answers.
            offset = int(parse_qs(url.query).get("offset", ["0"])[0])
            items = [{"id": "p1", "name": "Thú lớn 2026"}, {"id": "p2", "name": "Vượn 2026"}][offset:offset + 1]
            return self._send(200, {"items": items, "total": 2, "limit": 1, "offset": offset,
                                    "next_offset": 1 if offset == 0 else None})
        if url.path == "/api/v1/protocols":
            return self._send(200, {"protocols": [{"name": "line_transect", "version": "1.1"}]})
        if url.path == "/api/v1/programs/p1/species":
            return self._send(200, [{"scientific_name": "Pseudoryx nghetinhensis", "vietnamese_name": "Sao la",
                                     "english_name": "Saola"}])
        self._send(404, {"error": {"code": "not_found", "message": "no such endpoint"}})


@pytest.fixture
def server():
    Stub.seen, Stub.portal = [], False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    t.join()


def test_sign_in_then_reference_data(server):
    with ApiClient(server + "/").session as session:
        c = ApiClient(server + "/", session=session)
        answer = c.sign_in("an", "đúng", "dev-1", "Tablet 3")
        assert answer["token"] == "tok-1" and c.token == "tok-1"
        assert Stub.seen[0][2] == {"username": "an", "password": "đúng", "device_id": "dev-1", "device_name": "Tablet 3"}
        assert c.areas() == [{"id": "a1", "name": "Bạch Mã"}]
        assert [p["id"] for p in c.programs("a1")] == ["p1", "p2"]  # both pages
        assert Stub.seen[-1][2] == {"area_id": ["a1"], "limit": ["500"], "offset": ["1"]}
        assert Stub.seen[-1][3] == "Bearer tok-1"
        assert c.protocols()[0]["version"] == "1.1"
        assert c.species("p1")[0]["vietnamese_name"] == "Sao la"


def test_errors_are_api_errors_with_status(server):
    with ApiClient(server).session as session:
        c = ApiClient(server, session=session)
        with pytest.raises(ApiError, match="HTTP 401: bad credentials") as exc:
            c.sign_in("an", "sai", "dev-1", "Tablet")
        assert exc.value.status == 401 and c.token is None
        with pytest.raises(ApiError, match="HTTP 404: no such endpoint"):
            c.species("nope")
        Stub.portal = True
        with pytest.raises(ApiError, match="expected JSON, got text/html"):
            c.areas()


def test_unreachable_server_and_bad_address():
    with pytest.raises(ApiError, match="must start with http"):
        ApiClient("bachma.local")
    c = ApiClient("http://127.0.0.1:9", timeout=2)  # discard port: nothing listens
    with pytest.raises(ApiError, match="cannot reach http://127.0.0.1:9") as exc:
        c.areas()
    assert exc.value.status is None
    c.session.close()
