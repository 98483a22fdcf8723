"""What an ingest run did, file by file, and its closing summary."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

MAX_LISTED = 1000  # paths kept per list, so a 50,000-file card does not grow memory

# How each flag reads in the summary.
FLAG_TEXT = {
    "outside_window": "outside the deployment window (kept, flagged)",
    "no_deployment": "no deployment matches (no --deployment, and no camera serial + time match; kept, flagged)",
    "no_timestamp": "no capture time in the file (kept without a time)",
    "clock_reset": "camera clock was reset (date before 2005; set a clock offset on the deployment)",
    "future_time": "capture time in the future (check the camera clock)",
    "corrupt": "damaged file kept without thumbnails (cannot be decoded)",
}


@dataclass
class IngestReport:
    """Counts and reasons of one ingest run. ``fatal`` is set when the run stopped early."""

    source: str = ""
    total: int = 0
    ingested: int = 0
    duplicates: int = 0
    completed: int = 0  # duplicates whose missing derivatives were made this time
    assigned: int = 0  # duplicates stored earlier without a deployment, assigned to one now
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    flag_counts: Counter = field(default_factory=Counter)
    flagged: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # examples, capped
    duplicate_paths: list[str] = field(default_factory=list)  # capped
    fatal: Optional[str] = None
    deployments: set[str] = field(default_factory=set)
    sequences: int = 0
    media_ids: dict[str, str] = field(default_factory=dict)  # path -> media id (when asked for)
    by_kind: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    health: list[dict] = field(default_factory=list)  # camera health findings of the deployments touched
    elapsed_s: float = 0.0
    sync_s: float = 0.0  # waiting for the disk to make originals durable
    db_s: float = 0.0  # writing rows
    derivative_jobs: list[str] = field(default_factory=list)  # background jobs making thumbnails
    derivatives_pending: int = 0  # photos whose thumbnail those jobs make

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append((path, reason))

    def flag(self, path: str, flags: list[str]) -> None:
        for f in flags:
            self.flag_counts[f] += 1
            if len(self.flagged[f]) < MAX_LISTED:
                self.flagged[f].append(path)

    def duplicate(self, path: str) -> None:
        self.duplicates += 1
        if len(self.duplicate_paths) < MAX_LISTED:
            self.duplicate_paths.append(path)

    @property
    def outside_window(self) -> int:
        return self.flag_counts.get("outside_window", 0)

    def summary_lines(self, max_items: int = 50) -> list[str]:
        """The closing summary: one line per count, then one line per skipped file."""
        kinds = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(self.by_kind.items()))
        lines = [f"ingested: {self.ingested}" + (f" ({kinds})" if kinds else ""),
                 f"duplicates: {self.duplicates} (already stored, not stored again"
                 + (f"; {self.completed} completed" if self.completed else "")
                 + (f"; {self.assigned} assigned to a deployment now" if self.assigned else "") + ")",
                 f"skipped: {len(self.skipped)}",
                 f"outside the deployment window: {self.outside_window}"]
        for path, reason in self.skipped[:max_items]:
            lines.append(f"  skipped {path}: {reason}")
        if len(self.skipped) > max_items:
            lines.append(f"  ... and {len(self.skipped) - max_items} more skipped (see --report)")
        for flag, n in sorted(self.flag_counts.items()):
            paths = self.flagged[flag]
            text = FLAG_TEXT.get(flag, flag)
            example = ", ".join(paths[:3]) + (", ..." if n > 3 else "")
            lines.append(f"flagged {flag}: {n} file(s) {text}: {example}")
        if self.sequences:
            lines.append(f"sequences: {self.sequences} in {len(self.deployments)} deployment(s)")
        if self.derivatives_pending:
            lines.append(f"thumbnails: {self.derivatives_pending} to be made in the background "
                         f"({len(self.derivative_jobs)} job(s); the photos are stored and indexed now)")
        lines.extend(self.notes)
        for f in self.health[:max_items]:
            lines.append(f"health {f['station']} {f['category']}/{f['check']}: {f['message']}")
        if self.elapsed_s > 0 and self.total:
            lines.append(f"time: {self.elapsed_s:.1f} s ({self.total / self.elapsed_s:.0f} files/s; of which "
                         f"waiting for the disk {self.sync_s:.1f} s, database {self.db_s:.1f} s)")
        if self.fatal:
            lines.append(f"STOPPED: {self.fatal}")
        return lines

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "IngestReport":
        """The report :meth:`to_dict` wrote (an ingest that goes on in several runs: browser card uploads)."""
        rep = cls(source=d.get("source", ""), total=int(d.get("total", 0)), ingested=int(d.get("ingested", 0)),
                  duplicates=int(d.get("duplicates", 0)), completed=int(d.get("completed", 0)),
                  assigned=int(d.get("assigned", 0)), fatal=d.get("fatal"), sequences=int(d.get("sequences", 0)),
                  elapsed_s=float(d.get("elapsed_s", 0.0)))
        rep.skipped = [(x["path"], x["reason"]) for x in d.get("skipped", [])]
        rep.flag_counts = Counter(d.get("flag_counts", {}))
        for k, v in d.get("flagged", {}).items():
            rep.flagged[k] = list(v)
        rep.deployments = set(d.get("deployments", []))
        rep.by_kind = Counter(d.get("by_kind", {}))
        rep.notes = list(d.get("notes", []))
        rep.health = list(d.get("health", []))
        rep.duplicate_paths = list(d.get("duplicate_paths", []))
        return rep

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (API answers, --report files)."""
        return {"source": self.source, "total": self.total, "ingested": self.ingested,
                "duplicates": self.duplicates, "completed": self.completed, "assigned": self.assigned,
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
                "outside_window": self.outside_window,
                "flag_counts": dict(sorted(self.flag_counts.items())),
                "flagged": {k: list(v) for k, v in sorted(self.flagged.items())},
                "deployments": sorted(self.deployments), "sequences": self.sequences,
                "by_kind": dict(self.by_kind), "notes": list(self.notes), "health": list(self.health),
                "fatal": self.fatal,
                "duplicate_paths": list(self.duplicate_paths),
                "derivative_jobs": list(self.derivative_jobs), "derivatives_pending": self.derivatives_pending,
                "elapsed_s": round(self.elapsed_s, 3),
                "summary": self.summary_lines()}
