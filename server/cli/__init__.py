"""The ``saola`` command line.

- :mod:`server.cli.root` assembles ``saola``: the root group, the shared ``export`` and
  ``import`` groups, and every feature's commands from :data:`server.features.FEATURES`;
- :mod:`server.cli.common` holds what command modules share (app, sessions, failures,
  area lookup, progress bars); feature command modules import it, never the root;
- :mod:`server.cli.admin`, :mod:`server.cli.records` and :mod:`server.cli.service` are the
  core commands (settings, schema, users, tokens; taxa, areas, programs, deployments;
  serve, worker, jobs, demo).

``main`` is loaded on first use, so importing :mod:`server.cli.common` (as every feature's
``cli.py`` does) does not assemble the whole command, which would import those modules back.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "main":
        from .root import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
