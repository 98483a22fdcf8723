"""UI scenario (issue 14: D2, D8, bad input): records made in offline mode, one walk already refused by the
server ("unknown program None", what the app did before this fix), then the program is chosen, a
Wi-Fi sign-in page answers instead of the server, and the real server at last.

test_ui_sync.py prepares the tablet's store (the walk recorded offline, sent by the old app and
refused by the real server) and checks the server afterwards. Prints one RESULT line.

Arguments: work folder (its data/ is the app's store), screenshot folder, server URL, walk id.
"""
from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mobile_harness import REPO, Driver, emit  # noqa: E402

sys.path.insert(0, str(REPO))


def captive_portal():
    """What a hotel or station Wi-Fi answers before its sign-in: 200 and an HTML page, for any address."""
    class Portal(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _page(self):
            body = b"<html><body><h1>Wi-Fi login</h1><form>...</form></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self._page()

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._page()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def main(work: str, shots: str, server: str, walk_id: str) -> None:
    drv = Driver(str(Path(work) / "data"))
    app, result = drv.app, {"screens": [drv.screen.name]}
    store = app.store

    def shot(name):
        result.setdefault("shots", []).append(drv.screenshot(Path(shots) / f"{name}.png"))

    def texts(home):
        return {k: home.ids[k].text for k in ("where", "pending", "last_sync", "sync_status")}

    # The automatic sync (signed in) runs first; offline-mode records are held, nothing is refused again.
    home = drv.screen
    assert drv.until(lambda: store.get_setting("sync.last") is not None and not home.ids.sync.disabled, 90)
    drv.frames(3)
    result["home_start"] = texts(home)
    shot("31_home_refused_walk_vi")

    # A threat made now, still without a program.
    drv.tap(home.ids.threat)
    f = drv.screen.form.widgets
    drv.tap(f["threat_type"].tiles["snare"])  # a picture choice
    f["action_taken"].spinner.text = "Đã tháo gỡ"
    f["count"].input.text = "4"
    f["location"].set_value({"lat": 16.21, "lon": 107.86, "accuracy_m": 6.0})
    # Bad input: the tablet's storage is full when the ranger taps Save (the store's own refusal, as
    # test_store.py provokes it in SQLite): told so, the form stays open with what was entered.
    from mobile.store import StorageFull

    def full(*a, **kw):
        raise StorageFull("the tablet's storage is full (database or disk is full); nothing was written")

    store.save_record, real_save = full, store.save_record
    form_screen = drv.screen
    drv.tap(form_screen.ids.save)
    result["full_disk"] = {"screen": drv.screen.name, "message": form_screen.ids.message.text,
                           "kept": {k: form_screen.form.widgets[k].get_value() for k in ("threat_type", "count")},
                           "threats": store.count_records("threat")}
    shot("30_threat_disk_full_vi")
    store.save_record = real_save
    drv.tap(form_screen.ids.save)
    drv.frames(3)
    result["home_after_threat"] = texts(drv.screen)

    # The refused walk opens from the records list, says why, and cannot go before a program is chosen.
    drv.tap(drv.screen.ids.records)
    records = drv.screen
    drv.frames(2)
    result["records_rows"] = [r["text"] for r in records.ids.list.data]
    row = next(w for w in records.ids.list.children[0].children if "T-11" in w.text)
    drv.tap(row)
    rec = drv.screen
    result["walk_screen"] = {"name": rec.name, "state": rec.ids.state.text, "owner": rec.ids.owner.text,
                             "editable": not rec.form.disabled}
    drv.tap(rec.ids.resend)
    result["resend_without_program"] = rec.ids.message.text
    shot("32_refused_walk_opened_vi")

    # Choosing the program: it is the default now (D2), and the records made offline take it.
    app.show("home")
    drv.frames(3)
    drv.tap(drv.screen.ids.change_area)
    area = drv.screen
    drv.frames(2)
    result["program_default"] = area.ids.program.text
    drv.tap(area.ids.proceed)
    drv.frames(3)
    home = drv.screen
    result["home_assigned"] = texts(home)
    shot("33_home_program_chosen_vi")

    # Bad input: a Wi-Fi sign-in page answers instead of the server. The ranger is told; nothing is lost.
    portal = captive_portal()
    store.set_setting("server", f"http://127.0.0.1:{portal.server_address[1]}")
    last_before = store.get_setting("sync.last")
    drv.tap(home.ids.sync)
    assert drv.until(lambda: not home.ids.sync.disabled and store.get_setting("sync.last") != last_before, 60)
    drv.frames(3)
    result["home_portal"] = texts(home)
    result["outbox_after_portal"] = store.outbox_count()
    shot("34_home_captive_portal_vi")
    drv.tap_language()
    drv.frames(2)
    result["home_portal_en"] = texts(home)
    drv.tap_language()
    portal.shutdown()
    portal.server_close()

    # The real server: everything goes; the home screen says when and that nothing waits.
    store.set_setting("server", server)
    drv.tap(home.ids.sync)
    assert drv.until(lambda: not home.ids.sync.disabled and (store.get_setting("sync.last") or {}).get("ok"), 90)
    drv.frames(3)
    result["home_synced"] = texts(home)
    shot("35_home_synced_vi")

    # The walk, now accepted, is corrected from the records list and sent again.
    drv.tap(home.ids.records)
    records = drv.screen
    drv.frames(2)
    row = next(w for w in records.ids.list.children[0].children if "T-11" in w.text)
    result["walk_row_synced"] = row.text
    drv.tap(row)
    rec = drv.screen
    rec.form.widgets["weather"].spinner.text = "Sương mù"
    drv.tap(rec.ids.save)
    result["walk_saved"] = {"message": rec.ids.message.text, "state": rec.ids.state.text}
    shot("36_walk_corrected_vi")
    app.show("home")
    drv.frames(3)
    home = drv.screen
    drv.tap(home.ids.sync)
    assert drv.until(lambda: not home.ids.sync.disabled and store.outbox_count() == 0, 90)
    drv.frames(3)
    result["home_final"] = texts(home)
    result["pending_final"] = store.pending_counts()
    result["refused_final"] = [(e, r["id"], r["sync_error"]) for e in ("walk", "threat") for r in store.records(e)
                               if r["sync_state"] == "rejected"]
    result["walk_final"] = {k: store.get_walk(walk_id)[k] for k in ("sync_state", "program_id")}
    drv.stop()
    emit(result)


if __name__ == "__main__":
    main(*sys.argv[1:5])
