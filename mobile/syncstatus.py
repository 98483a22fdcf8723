"""What the home screen says about sync, in the ranger's language (stdlib only, tested without Kivy).

The sync client stores the outcome of every sync (``sync.last``, see
mobile/sync.py) and the store counts what still waits; this module turns them
into short sentences: when the tablet last synced, what waits and why, and a
failure in words a ranger can act on (no network, a Wi-Fi sign-in page, the
server's fault, a full tablet) instead of ``HTTPConnectionPool(...)``.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone, tzinfo

from .i18n import tr

MB = 1024 * 1024


def error_text(kind: str | None, lang: str, status: int | None = None) -> str:
    """The ranger's sentence for a sync failure of ``kind`` (mobile.sync.ERROR_KINDS)."""
    if kind == "offline":
        return tr("No connection to the server. Nothing was lost: the app syncs by itself when the network is back.",
                  lang)
    if kind == "portal":
        return tr("The network answered with a web page, not the Saola server: sign in to the Wi-Fi first "
                  "(captive portal) or check the server address. Nothing was lost.", lang)
    if kind == "server":
        return tr("The server had a problem (error {status}). Nothing was lost: try again later.", lang,
                  status=status or "?")
    if kind == "auth":
        return tr("The server no longer accepts this tablet's sign-in: sign in again. Nothing was lost.", lang)
    if kind == "refused":
        return tr("The server refused the sync (error {status}): update the app or ask the administrator. "
                  "Nothing was lost.", lang, status=status or "?")
    if kind == "protocol":
        return tr("The server's answer was not understood: update the app. Nothing was lost.", lang)
    if kind == "disk_full":
        return tr("The tablet's storage is full: free some space, then sync again. Nothing was lost.", lang)
    if kind == "busy":
        return tr("A sync is already running.", lang)
    return tr("The tablet could not finish the sync. Nothing was lost: try again.", lang)


def record_error(sync_error: str | None, lang: str) -> str:
    """Why the server refused a record, in ``lang`` when the server said it in both languages."""
    if not sync_error:
        return ""
    if sync_error.startswith("{"):
        try:
            both = json.loads(sync_error)
        except ValueError:
            return sync_error
        if isinstance(both, dict):
            return str(both.get(lang) or both.get("en") or "")
    return sync_error


def when_text(iso: str | None, lang: str, now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """A sync time as the tablet's local clock shows it: "14:32" today, else "02/03 14:32"."""
    if not iso:
        return ""
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    at = at.astimezone(tz)
    now = (now or datetime.now(timezone.utc)).astimezone(tz)
    if at.date() == now.date():
        return tr("today {time}", lang, time=at.strftime("%H:%M"))
    return at.strftime("%d/%m/%Y %H:%M")


def last_sync_text(last: dict | None, lang: str, now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """"Last sync: today 14:32" (the last one that worked), or that there was none yet."""
    ok_at = (last or {}).get("ok_at")
    if not ok_at:
        return tr("Never synced with the server yet", lang)
    return tr("Last sync: {when}", lang, when=when_text(ok_at, lang, now, tz))


def outcome_text(last: dict | None, lang: str) -> str:
    """The result of the last sync attempt: what went and came, or why it stopped."""
    if not last:
        return ""
    if not last.get("ok"):
        return error_text(last.get("error_kind"), lang, last.get("error_status"))
    pushed = last.get("pushed") or {}
    lines = [tr("Synced: {pushed} sent, {photos} photo(s), {pulled} received", lang,
                pushed=sum(pushed.values()), photos=last.get("photos", 0), pulled=last.get("pulled", 0))]
    if pushed.get("rejected"):
        lines.append(tr("{n} record(s) refused by the server: open Records to correct them.", lang,
                        n=pushed["rejected"]))
    if pushed.get("conflict"):
        lines.append(tr("{n} record(s) changed elsewhere too: kept on the server for a biologist to decide.", lang,
                        n=pushed["conflict"]))
    return "\n".join(lines)


def pending_text(counts: dict, lang: str) -> str:
    """What still waits, from Store.pending_counts(): one line per kind, or that everything is sent."""
    lines = []
    if counts.get("waiting"):
        lines.append(tr("{n} record(s) waiting to be sent", lang, n=counts["waiting"]))
    if counts.get("unassigned"):
        lines.append(tr("{n} record(s) made offline wait for a program: choose the area and program", lang,
                        n=counts["unassigned"]))
    if counts.get("rejected"):
        lines.append(tr("{n} record(s) refused by the server: open Records to correct them.", lang,
                        n=counts["rejected"]))
    if counts.get("conflict"):
        lines.append(tr("{n} record(s) changed elsewhere too: kept on the server for a biologist to decide.", lang,
                        n=counts["conflict"]))
    return "\n".join(lines) or tr("Nothing waits to be sent", lang)


def progress_text(progress, lang: str) -> str:
    """One line while a sync runs (mobile.sync.Progress)."""
    if progress.phase == "push":
        return tr("Syncing: sending {done}/{total} records…", lang, done=progress.records_done,
                  total=progress.records_total)
    if progress.phase == "upload":
        return tr("Syncing: photos {mb_done:.1f}/{mb_total:.1f} MB…", lang, mb_done=progress.bytes_done / MB,
                  mb_total=progress.bytes_total / MB)
    if progress.phase == "pull":
        return tr("Syncing: {n} change(s) received…", lang, n=progress.pulled)
    return ""


def storage_text(info: dict, lang: str) -> str:
    """A warning when photos near their budget or the tablet runs out of space (Store.photo_storage())."""
    level = info.get("level")
    if level == "full":
        if info["waiting"] >= info["budget"]:
            return tr("Photo storage full: {mb} MB of photos wait to be sent. Sync soon.", lang,
                      mb=round(info["waiting"] / MB))
        return tr("The tablet's storage is almost full: {mb} MB free. Sync, then free some space.", lang,
                  mb=round(info["free"] / MB))
    if level == "warn":
        if info["used"] >= 0.8 * info["budget"]:
            return tr("Photos use {used} of {budget} MB: photos already sent are removed from the tablet first.",
                      lang, used=round(info["used"] / MB), budget=round(info["budget"] / MB))
        return tr("The tablet's storage is almost full: {mb} MB free. Sync, then free some space.", lang,
                  mb=round(info["free"] / MB))
    return ""
