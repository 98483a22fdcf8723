"""UI scenario: sign in against a stub server, pick area and program, see a too-new protocol refused.

The stub answers with the server's shapes (device token 201, paged lists,
{"protocols": [...]}, species). Prints one RESULT line.
"""
from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mobile_harness import REPO, Driver, emit  # noqa: E402

sys.path.insert(0, str(REPO))


def stub_server():
    import protocols

    newer = protocols.load("threat_incident").to_dict()
    newer["version"] = "2.0"
    minor = protocols.load("line_transect").to_dict()
    minor["version"] = "1.1"
    routes = {
        "/api/v1/areas": {"items": [{"id": "a1", "name": "VQG Bạch Mã"}, {"id": "a2", "name": "KBT Sao La"}],
                          "total": 2, "limit": 500, "offset": 0, "next_offset": None},
        "/api/v1/programs": {"items": [{"id": "p1", "name": "Giám sát thú 2026"}], "total": 1, "limit": 500,
                             "offset": 0, "next_offset": None},
        "/api/v1/protocols": {"protocol_version": "1", "protocols": [minor, newer]},
        "/api/v1/programs/p1/species": [
            {"id": "t1", "scientific_name": "Pseudoryx nghetinhensis", "vietnamese_name": "Sao la",
             "english_name": "Saola", "iucn_category": "CR", "decree84_group": "IB", "sensitive": True}],
    }
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _send(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(("POST", self.path, body))
            if self.path == "/api/v1/sync/push":  # the sync protocol's envelope, every mutation applied
                return self._send(200, {"protocol_version": "1", "results": [
                    {"mutation_id": m["mutation_id"], "status": "applied", "revision": 1, "seq": i + 1}
                    for i, m in enumerate(body["mutations"])]})
            if body.get("password") != "mật-khẩu":
                return self._send(401, {"error": {"code": "unauthorized", "message": "wrong user name or password"}})
            self._send(201, {"token": "dev-token", "token_id": "k1", "user": {"username": body["username"]}})

        def do_GET(self):
            url = urlparse(self.path)
            seen.append(("GET", url.path, parse_qs(url.query), self.headers.get("Authorization")))
            if url.path in routes:
                return self._send(200, routes[url.path])
            if url.path == "/api/v1/sync/pull":
                return self._send(200, {"protocol_version": "1", "changes": [], "next_since": 0, "has_more": False})
            self._send(404, {"error": {"code": "not_found", "message": "not found"}})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, seen


def wait_for(drv, predicate, seconds=20):
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        drv.frames(1)
        if predicate():
            return True
        time.sleep(0.02)
    return False


def main(work: str, shots: str) -> None:
    httpd, seen = stub_server()
    server = f"http://127.0.0.1:{httpd.server_address[1]}"
    drv = Driver(str(Path(work) / "data"))
    app, result = drv.app, {}
    scr = drv.screen
    scr.ids.server.text = server
    scr.ids.username.text = "kiemlam.an"
    scr.ids.password.text = "sai"
    drv.tap(scr.ids.sign_in)
    wait_for(drv, lambda: "không thành công" in scr.ids.message.text)
    result["wrong_password_message"] = scr.ids.message.text
    result["screen_after_wrong"] = drv.screen.name
    scr.ids.password.text = "mật-khẩu"
    drv.tap(scr.ids.sign_in)
    wait_for(drv, lambda: drv.screen.name == "area")
    area = drv.screen
    result["screen_after_sign_in"] = area.name
    result["area_message"] = area.ids.message.text
    result["areas"] = area.ids.area.values
    area.ids.area.text = "VQG Bạch Mã"
    drv.frames(2)
    result["programs"] = area.ids.program.values
    area.ids.program.text = "Giám sát thú 2026"
    drv.screenshot(Path(shots) / "11_area_vi.png")
    drv.tap(area.ids.refresh)  # downloads species lists too
    wait_for(drv, lambda: app.store.get_setting("species:p1") is not None)
    drv.tap(area.ids.proceed)
    result["home_where"] = drv.screen.ids.where.text
    result["token"] = app.store.get_setting("token")
    result["device_id_sent"] = next(s[2]["device_id"] for s in seen if s[0] == "POST")
    result["device_id"] = app.store.device_id
    result["auth_headers"] = sorted({s[3] for s in seen if s[0] == "GET" and s[1] != "/api/v1/health"})
    # Auto-sync started at sign-in and probes the server (this stub has no /health: it stays "offline").
    wait_for(drv, lambda: any(s[1] == "/api/v1/health" for s in seen), seconds=10)
    result["health_probed"] = any(s[1] == "/api/v1/health" for s in seen)
    result["line_transect_version"] = app.reference.protocol("line_transect").version
    result["threat_version"] = app.reference.protocol("threat_incident").version
    result["species_p1"] = [s.scientific_name for s in app.reference.species("p1")]
    # A threat, then "Sync now": the outbox empties and the record turns synced.
    drv.tap(drv.screen.ids.threat)
    f = drv.screen.form.widgets
    drv.tap(f["threat_type"].tiles["camp"])  # threats are pictures (issue 14)
    f["action_taken"].spinner.text = "Đã báo cáo"
    f["location"].set_value({"lat": 16.2, "lon": 107.8, "accuracy_m": 5.0})
    drv.tap(drv.screen.ids.save)
    home = drv.screen
    result["outbox_before_sync"] = app.store.outbox_count()
    drv.tap(home.ids.sync)
    wait_for(drv, lambda: home.ids.sync_status.text.startswith("Đã đồng bộ") or "dừng" in home.ids.sync_status.text)
    result["sync_status"] = home.ids.sync_status.text
    result["outbox_after_sync"] = app.store.outbox_count()
    result["sync_counts"] = app.store.sync_counts()
    result["pushed"] = [m["entity"] for s in seen if s[1] == "/api/v1/sync/push" for m in s[2]["mutations"]]
    drv.screenshot(Path(shots) / "12_home_signed_in_vi.png")
    drv.stop()
    httpd.shutdown()
    httpd.server_close()
    emit(result)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
