"""Saola's features, declared once: what each one adds to the command line, the API, the web
UI, the job queue and ingest.

Every subsystem reads this list instead of keeping its own:

- ``saola`` (:mod:`server.cli`) calls ``register(main)`` of each ``cli`` module;
- the API (:mod:`server.api`) imports each ``api`` module (its routes register on import);
- the web UI (:mod:`server.web`) registers the ``bp`` blueprint of each ``pages`` module;
- workers (:mod:`server.jobs.handlers`) import each ``jobs`` module (``@handler`` functions);
- ingest (:mod:`server.ingest.registry`) imports each ``readers`` module in every process,
  and (:mod:`server.ingest.pipeline`) queues each ``after_ingest`` hook for new media.

Every feature ships with Saola, so there is no "feature not installed" case: a module named
here that fails to import is an error, and ``tests/server/test_features.py`` checks that each
one is wired. Entries are module paths (strings), so reading this list imports nothing;
``saola --help`` stays fast and workers load only what they use.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable


@dataclass(frozen=True)
class IngestHook:
    """A follow-up job queued for newly ingested media of one kind.

    ``target`` is ``"module:function"`` with the signature of
    :func:`server.detect.queue_after_ingest`; ``what`` names the job in ingest notes.
    """

    media_kind: str  # image | video | audio
    target: str
    what: str

    def load(self) -> Callable[..., Any]:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Feature:
    """One feature of Saola and the modules through which it plugs into each subsystem."""

    name: str
    summary: str
    cli: tuple[str, ...] = ()  # modules with ``register(main: click.Group)``
    api: tuple[str, ...] = ()  # server.api resource modules (routes on the ``api`` blueprint)
    pages: tuple[str, ...] = ()  # modules with a ``bp`` blueprint of web pages
    jobs: tuple[str, ...] = ()  # modules with ``@handler`` job kinds
    readers: tuple[str, ...] = ()  # modules that call ``register_reader`` for ingest
    after_ingest: tuple[IngestHook, ...] = ()


FEATURES: tuple[Feature, ...] = (
    Feature("core", "Protected areas, programs, locations, deployments, users, tokens, taxa, jobs, audit, serving",
            cli=("server.cli.admin", "server.cli.records", "server.cli.service", "server.storage_cli"),
            api=("server.api.areas", "server.api.audit_api", "server.api.auth_api", "server.api.deployments",
                 "server.api.jobs_api", "server.api.meta", "server.api.preferences", "server.api.taxa",
                 "server.api.users"),
            pages=("server.web.admin_pages", "server.web.admin_people", "server.web.admin_audit",
                   "server.web.jobs_pages", "server.web.species_pages")),
    Feature("ingest", "Camera and recorder cards (folders, zips, uploads) into the media store",
            cli=("server.ingest.cli",), api=("server.api.media", "server.api.cards"),
            jobs=("server.ingest.jobs", "server.ingest.card_job"), pages=("server.web.deploy_pages",)),
    Feature("detect", "MegaDetector and species classifiers over images and video frames; models; person blurring",
            cli=("server.detect.cli",), api=("server.api.detections",), pages=("server.web.admin_models",),
            jobs=("server.detect.jobs",),
            after_ingest=(IngestHook("image", "server.detect:queue_after_ingest", "detection"),
                          IngestHook("video", "server.detect.video:queue_after_ingest", "video frames"))),
    Feature("audio", "Sound traps: recordings, acoustic indices, sound detections, poaching alerts",
            cli=("server.audio.cli",), api=("server.api.audio",), pages=("server.web.sound_pages",),
            jobs=("server.audio.jobs",), readers=("server.audio.readers",),
            after_ingest=(IngestHook("audio", "server.audio:queue_after_ingest", "sound analysis"),)),
    Feature("review", "Biologists' review of detections and sync conflicts",
            api=("server.api.grid", "server.api.review"),
            pages=("server.web.review_pages", "server.web.grid_pages", "server.web.conflict_pages")),
    Feature("sync", "Offline sync with field tablets, their offline basemaps; the field records page",
            cli=("server.sync.cli",), api=("server.api.basemaps", "server.api.sync"),
            pages=("server.web.field_pages",)),
    Feature("cellular", "Cellular (4G) camera traps: the FTP/FTPS upload endpoint, camera logins, ingest as files arrive",
            cli=("server.cellular.cli",), api=("server.api.cameras",), pages=("server.web.camera_pages",)),
    Feature("exports", "Camtrap DP and Darwin Core Archive exports and imports; the exports and reports pages",
            cli=("server.exports.cli",), api=("server.api.exports",), jobs=("server.exports.jobs",),
            pages=("server.web.export_pages",)),
    Feature("analytics", "camtrapR-grade analyses, line-transect and acoustic summaries, camera health checks",
            cli=("server.analytics.cli",), api=("server.api.camera_health",)),
    Feature("stats", "Occupancy models, activity overlap, richness and other statistics over CSV files",
            cli=("server.stats.cli",)),
    Feature("reports", "The annual monitoring report (HTML and PDF)", cli=("server.reports.cli",)),
    Feature("hub", "National hub: area servers publish records and files to the hub (saola publish, saola hub)",
            cli=("server.hub.cli",), api=("server.api.hub",), jobs=("server.hub.jobs",)),
    Feature("manager", "Managers' overview, map and deployment calendar", pages=("server.web.manager_pages",)),
    Feature("national", "A hub's national views across every area: dashboard, inventory, synthesis report, "
            "network exports; the public portal",
            pages=("server.web.national_pages", "server.web.portal_pages")),
)

_KINDS = ("cli", "api", "pages", "jobs", "readers")


def modules(kind: str) -> list[str]:
    """The module paths every feature declares for ``kind`` (cli, api, pages, jobs or readers), in order."""
    if kind not in _KINDS:
        raise ValueError(f"unknown feature part {kind!r} (one of {', '.join(_KINDS)})")
    return [m for f in FEATURES for m in getattr(f, kind)]


def load(kind: str) -> list[ModuleType]:
    """Import the modules of ``kind`` (see :func:`modules`); an import error is raised, not skipped."""
    return [importlib.import_module(m) for m in modules(kind)]


def ingest_hooks() -> list[IngestHook]:
    """The follow-up jobs queued after ingest, in feature order."""
    return [h for f in FEATURES for h in f.after_ingest]
