"""``saola stats ...``: statistics over CSV files brought from elsewhere (and for checking against R).

Each command lives in its own module (``cli_<name>.py``) and is added here; heavy imports
(numpy, scipy, formulaic) happen inside the commands so ``saola --help`` stays fast.
"""
from __future__ import annotations

import click


@click.group("stats")
def stats_group():
    """Occupancy models, activity overlap and other statistics over CSV files (R-comparable)."""


def _commands() -> None:
    from .cli_occupancy import occupancy_cmd

    stats_group.add_command(occupancy_cmd)


_commands()


def register(main: click.Group) -> None:
    """Add ``saola stats`` to the ``saola`` command."""
    main.add_command(stats_group)


def _add_commands() -> None:
    from .cli_overlap import overlap_cmd

    stats_group.add_command(overlap_cmd)


_add_commands()
