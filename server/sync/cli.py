"""`saola sync`: the change log's housekeeping."""
from __future__ import annotations

from datetime import timedelta

import click

from ..cli.common import get_app, session_for


def register(main: click.Group) -> None:
    """Add ``saola sync`` to the ``saola`` command."""
    main.add_command(sync_group)


@click.group("sync")
def sync_group():
    """Offline sync with field tablets: change log housekeeping."""


@sync_group.command("status")
def status():
    """Print the change log size, the newest sequence number, the tombstone horizon and open conflicts."""
    from sqlalchemy import func
    from sqlmodel import select

    from ..models import SyncChange, SyncConflict
    from .service import horizon

    with session_for(get_app()) as s:
        n = s.exec(select(func.count()).select_from(SyncChange)).one()
        top = s.exec(select(func.max(SyncChange.seq))).one() or 0
        open_ = s.exec(select(func.count()).select_from(SyncConflict).where(SyncConflict.status == "open")).one()
        click.echo(f"changes {n}, newest seq {top}, tombstone horizon {horizon(s)}, open conflicts {open_}")


@sync_group.command("compact")
@click.option("--days", type=click.IntRange(1), default=90, show_default=True,
              help="Keep the full history of the last DAYS days; older superseded changes and tombstones go.")
def compact_cmd(days):
    """Drop superseded changes and old tombstones. Tablets whose cursor is older resync from zero (410)."""
    from sqlalchemy import func
    from sqlmodel import select

    from ..models import SyncChange, utcnow
    from .service import compact

    with session_for(get_app()) as s:
        cutoff = utcnow() - timedelta(days=days)
        keep = s.exec(select(func.max(SyncChange.seq)).where(SyncChange.at < cutoff)).one()
        if not keep:
            click.echo("nothing older than the cutoff")
            return
        res = compact(s, keep)
    click.echo(f"removed {res['removed']} changes; horizon now seq {res['horizon']}")
