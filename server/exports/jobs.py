"""The ``export`` job: a Camtrap DP package, a Darwin Core Archive, MegaDetector batch-output JSON or
detections CSV (one file per deployment) written to a zip under DATA_DIR/exports/.

The package is written into a work folder and zipped under a temporary name renamed only when
complete, so a download never sees a half-written zip and a failed export leaves nothing.
Safe to run twice: the job's folder is rebuilt from scratch. Exports older than
``KEEP_DAYS`` are deleted when a new export starts. The export reads
in a read-only session (no write lock on SQLite while it streams rows).
"""
from __future__ import annotations

import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

from ..db import session_scope
from .common import complete_file
from ..jobs.core import handler
from ..storage import stores_from_config

FORMATS = ("camtrap-dp", "dwca", "megadetector", "detections-csv")
KEEP_DAYS = 7  # finished exports are deleted this long after they were written


def export_dir(config: dict, job_id: str) -> Path:
    """Folder holding the files of export job ``job_id``."""
    return Path(config["DATA_DIR"]) / "exports" / job_id


def prune_exports(config: dict, keep_days: float = KEEP_DAYS) -> int:
    """Delete export folders older than ``keep_days`` (they can be large); returns how many."""
    root = Path(config["DATA_DIR"]) / "exports"
    if not root.is_dir():
        return 0
    cutoff = time.time() - keep_days * 86400
    n = 0
    for d in root.iterdir():
        if d.is_dir() and d.stat().st_mtime < cutoff:
            shutil.rmtree(d, ignore_errors=True)
            n += 1
    return n


def _zip_folder(folder: Path, zip_path: Path) -> None:
    with complete_file(zip_path) as part, zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                # JPEGs are compressed already; storing them saves time.
                kind = zipfile.ZIP_STORED if f.suffix.lower() in (".jpg", ".jpeg", ".png", ".mp4") else None
                z.write(f, f.relative_to(folder).as_posix(), compress_type=kind)


@handler("export")
def run_export(ctx) -> dict:
    """params: format, program_id | area_id | network, public, media (copy|link), base_url, sensitive, grid."""
    fmt = ctx.params.get("format")
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    prune_exports(ctx.config)
    root = export_dir(ctx.config, ctx.job_id)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    try:
        name, rep = _write_export(ctx, fmt, root)
    except BaseException:
        # A failed export leaves nothing behind: partial CSVs, copied media and a
        # half-written zip can be gigabytes, and nobody can download them.
        shutil.rmtree(root, ignore_errors=True)
        raise
    ctx.progress(3, 3)
    # The report's out_dir/out_path name the work folder (deleted) on the server: not for the job's
    # readers, who download the zip by job id.
    counts = {k: v for k, v in rep.as_dict().items() if k not in ("out_dir", "out_path")}
    return {"file": name, "size_bytes": (root / name).stat().st_size, **counts}


def _write_export(ctx, fmt: str, root: Path) -> tuple[str, Any]:
    """Write the package into ``root/files``, zip it beside, drop the folder; (zip name, report)."""
    from .camtrap_dp import export_camtrap_dp
    from .dwca import export_dwca
    from .sensitive import SensitivePolicy

    p = ctx.params
    work = root / "files"
    ctx.progress(0, 3)
    with session_scope(ctx.config["DATABASE_URL"], read_only=True) as s:
        if fmt == "camtrap-dp":
            rep = export_camtrap_dp(s, work, program_id=p.get("program_id"), area_id=p.get("area_id"),
                                    public=bool(p.get("public")), media_mode=p.get("media", "copy"),
                                    store=stores_from_config(ctx.config)[0], base_url=p.get("base_url"),
                                    grid_deg=float(p.get("grid", 0.1)), network=bool(p.get("network")))
        elif fmt in ("megadetector", "detections-csv"):
            rep = _per_deployment(s, work, fmt, p, ctx)
        else:
            rep = export_dwca(s, work, program_id=p.get("program_id"), area_id=p.get("area_id"),
                              public=bool(p.get("public")),
                              policy=SensitivePolicy(p.get("sensitive", "generalise"), float(p.get("grid", 0.1))),
                              network=bool(p.get("network")))
    ctx.progress(2, 3)
    name = f"{fmt}-{ctx.job_id[:8]}{'-public' if p.get('public') else ''}.zip"
    _zip_folder(work, root / name)
    shutil.rmtree(work)
    return name, rep


class _Files:
    """What a per-deployment export wrote (the job's result), shaped like the exporters' reports."""

    def __init__(self) -> None:
        self.counts: dict[str, Any] = {"deployments": 0, "files": 0, "detections": 0, "skipped": []}

    def as_dict(self) -> dict[str, Any]:
        return dict(self.counts, skipped=self.counts["skipped"][:50])


def _per_deployment(s, work: Path, fmt: str, p: dict, ctx) -> _Files:
    """MegaDetector JSON (``megadetector/<deployment>.json``, the model with most detections unless
    ``model`` names one) or detections CSV (``detections/<deployment>.csv``) of each deployment."""
    from sqlmodel import select

    from ..models import Deployment, Location
    from .common import resolve_scope

    scope = resolve_scope(s, p.get("program_id"), p.get("area_id"))
    deps = list(s.exec(select(Deployment, Location).join(Location, Location.id == Deployment.location_id)
                       .where(Deployment.program_id.in_(scope.program_ids))
                       .order_by(Location.name, Deployment.deployment_start, Deployment.id)))
    rep = _Files()
    folder = work / ("megadetector" if fmt == "megadetector" else "detections")
    folder.mkdir(parents=True)
    for i, (dep, loc) in enumerate(deps):
        stem = f"{_safe_name(loc.name)}-{dep.deployment_start:%Y%m%d}-{dep.id[:8]}"
        if fmt == "megadetector":
            from ..detect.mdjson import ExportError as MdNothing, export_deployment

            if dep.kind != "camera":
                continue
            try:
                summary = export_deployment(s, dep.id, folder / f"{stem}.json", model=p.get("model"))
            except MdNothing as e:  # no image detections (not run yet): said in the result, not an error
                rep.counts["skipped"].append(f"{loc.name}: {e}")
                continue
            rep.counts["detections"] += int(summary.get("detections", 0))
        else:
            from ..audio.export import write_csv

            with open(folder / f"{stem}.csv", "w", newline="", encoding="utf-8") as fh:
                rep.counts["detections"] += write_csv(s, dep.id, fh)
        rep.counts["deployments"] += 1
        rep.counts["files"] += 1
        ctx.progress(i + 1, 3 * len(deps))  # this part is the first third of the job
    return rep


def _safe_name(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "station"
