"""The ``saola`` command: the root group, assembled from every feature's command modules.

Every command has ``--help``. Commands that create a record print its id on the last line
of output, so scripts can capture it. Which modules add commands is declared once in
:data:`server.features.FEATURES` (``cli``); each has ``register(main)``, which adds its groups
to ``main`` or its subcommands to the shared ``export`` and ``import`` groups.
"""
from __future__ import annotations

import click

from .. import features


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="saola", prog_name="saola")
def main():
    """Saola: biodiversity field surveys, camera traps and sound traps for protected areas."""


@main.group("export")
def export_group():
    """Export data in interchange formats (feature commands add subcommands)."""


@main.group("import")
def import_group():
    """Import data from interchange formats (feature commands add subcommands)."""


for _module in features.load("cli"):
    _module.register(main)

if __name__ == "__main__":  # pragma: no cover
    main()
