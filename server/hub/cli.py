"""``saola hub`` (at the hub: register and revoke area servers) and ``saola publish`` (at an area
server: send the area's records and files to the hub)."""
from __future__ import annotations

import click

from ..cli.common import fail, get_app, session_for


def register(main: click.Group) -> None:
    """Add ``saola hub`` and ``saola publish`` to ``saola``."""
    main.add_command(hub_group)
    main.add_command(publish_cmd)


@click.group("hub")
def hub_group():
    """National hub: the area servers allowed to publish here (the hub runs with SAOLA_ROLE=hub)."""


@hub_group.command("add-peer")
@click.argument("name")
@click.option("--area", "area_code", required=True, help="Code of the protected area this server publishes "
              "(made at the hub when missing).")
@click.option("--area-name", default=None, help="Name of the protected area when it is made here.")
def add_peer_cmd(name, area_code, area_name):
    """Register the area server NAME and print its token (shown once: give it to the area server's
    administrator for SAOLA_HUB_TOKEN)."""
    from ..errors import SaolaError
    from .peers import add_peer

    app = get_app(web=False)
    if app.config.get("ROLE") != "hub":
        fail("this server is not a hub: set SAOLA_ROLE=hub first")
    try:
        with session_for(app) as s:
            peer, token = add_peer(s, name, area_code, area_name)
            pname = peer.name
    except SaolaError as e:
        fail(e.message)
    click.echo(f"Peer {pname} registered for area {area_code}. Its token (shown once):", err=True)
    click.echo(token)


@hub_group.command("revoke")
@click.argument("name")
def revoke_cmd(name):
    """Revoke the token of area server NAME: its publishing is refused (401) from now on; what it
    published stays."""
    from ..errors import SaolaError
    from .peers import revoke_peer

    app = get_app(web=False)
    try:
        with session_for(app) as s:
            revoke_peer(s, name)
    except SaolaError as e:
        fail(e.message)
    click.echo(f"Peer {name} revoked.")


@hub_group.command("want-originals")
@click.argument("name")
@click.argument("media_ids", nargs=-1, required=True)
def want_originals_cmd(name, media_ids):
    """Ask area server NAME for the original files of MEDIA_IDS (media it published): its next
    publishing run sends them, in resumable chunks, whatever its originals setting."""
    from sqlmodel import select

    from ..errors import SaolaError
    from ..models import HubPeer
    from .peers import want_originals

    app = get_app(web=False)
    try:
        with session_for(app) as s:
            peer = s.exec(select(HubPeer).where(HubPeer.name == name)).first()
            if peer is None:
                fail(f"no peer named {name!r}")
            n = want_originals(s, peer, list(media_ids))
    except SaolaError as e:
        fail(e.message)
    click.echo(f"{n} original(s) asked of {name}; sent by its next publishing run.")


@hub_group.command("peers")
def peers_cmd():
    """List the registered area servers: area, last revision received, last seen, revoked."""
    from sqlmodel import select

    from ..models import HubPeer, ProtectedArea

    app = get_app(web=False)
    with session_for(app) as s:
        for peer, code in s.exec(select(HubPeer, ProtectedArea.code)
                                 .join(ProtectedArea, ProtectedArea.id == HubPeer.area_id).order_by(HubPeer.name)):
            state = f"revoked {peer.revoked_at:%Y-%m-%d %H:%M}" if peer.revoked_at else "active"
            seen = f"{peer.last_seen_at:%Y-%m-%d %H:%M} UTC" if peer.last_seen_at else "never"
            click.echo(f"{peer.name}\t{code}\trev {peer.last_rev}\tlast seen {seen}\t{state}")


@click.command("publish")
@click.option("--hub", "hub_url", default=None, help="URL of the hub (default SAOLA_HUB_URL).")
@click.option("--token", default=None, help="This server's hub token (default SAOLA_HUB_TOKEN).")
@click.option("--area", "area_code", default=None, help="Code of the area to publish (default SAOLA_HUB_AREA, "
              "or the only area).")
@click.option("--max-kbps", type=click.IntRange(min=0), default=None,
              help="Bandwidth cap in kilobits per second (default SAOLA_HUB_MAX_KBPS; 0: none).")
@click.option("--originals/--no-originals", default=None,
              help="Also send original files, after records and thumbnails (default SAOLA_HUB_ORIGINALS).")
@click.option("--no-thumbnails", is_flag=True, help="Records only, no thumbnails.")
@click.option("--report", "report_years", type=int, multiple=True,
              help="Also send the area's annual report (PDF and HTML, Vietnamese and English) for this year; repeatable.")
@click.option("--full", is_flag=True, help="Forget what the hub acknowledged and compare everything again "
              "(after the hub was restored from a backup; records it holds unchanged are not written twice).")
def publish_cmd(hub_url, token, area_code, max_kbps, originals, no_thumbnails, report_years, full):
    """Publish this area server's records and files to the national hub: what changed since the last
    run, deletions included. Safe to stop and run again at any time."""
    from .publish import PublishError, options_from_config, publish

    app = get_app(web=False)
    try:
        opts = options_from_config(dict(app.config), hub_url=hub_url, token=token, area_code=area_code,
                                   max_kbps=max_kbps, originals=originals, thumbnails=not no_thumbnails,
                                   report_years=tuple(report_years), full=full)
        report = publish(dict(app.config), opts, progress=lambda m: click.echo(m, err=True))
    except PublishError as e:
        fail(str(e))
    click.echo(report.summary())
    if report.conflicts:
        for c in report.conflicts[:20]:
            click.echo(f"conflict: {c}", err=True)
        raise SystemExit(2)
