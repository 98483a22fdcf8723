"""``saola storage``: where the media live, and moving them between a folder and S3."""
from __future__ import annotations

import click

from .cli.common import ProgressBar, fail, get_app, read_session


def register(main: click.Group) -> None:
    """Add ``saola storage`` to ``saola``."""
    main.add_command(storage)


@click.group("storage")
def storage():
    """The media store: local folder or S3-compatible object storage (SAOLA_MEDIA_URL)."""


@storage.command("info")
def info():
    """Print the media store and the derivatives store this configuration uses."""
    app = get_app()
    for name in ("saola.media", "saola.derivatives"):
        st = app.extensions[name]
        where = st.options.url if getattr(st, "remote", False) else str(st.root)
        click.echo(f"{name.split('.')[1]}: {where}")


@storage.command("migrate")
@click.option("--to", "target", required=True, metavar="s3://BUCKET/PREFIX | local",
              help="Where to move the media: an S3 URL (S3_* settings for the endpoint and keys), or 'local' "
                   "followed by a folder.")
@click.argument("path", required=False)
@click.option("--derivatives", "deriv_path", default=None,
              help="With --to local: the folder for thumbnails and review copies (default DATA_DIR/derivatives).")
@click.option("--skip-derivatives", is_flag=True,
              help="Move only the originals (thumbnails can be made again with a derivatives job).")
@click.option("--delete-source", is_flag=True,
              help="Remove each source object once its copy is verified (default: keep the source).")
@click.option("--workers", default=8, show_default=True, help="Objects copied at once.")
def migrate(target, path, deriv_path, skip_derivatives, delete_source, workers):
    """Copy the configured media store to TARGET, verifying the SHA-256 of every object read back.

    \b
    saola storage migrate --to s3://bucket/saola          # local folder -> S3
    saola storage migrate --to local /srv/saola/media     # S3 -> local folder
    Safe to interrupt and run again: verified objects are journalled and skipped. Then set
    SAOLA_MEDIA_URL (or clear it and set SAOLA_MEDIA_DIR) and restart the server and workers.
    """
    from pathlib import Path

    from .storage import LocalMediaStore, open_store
    from .storage_migrate import MigrateReport, check_database, journal_for, migrate_store

    app = get_app()
    cfg = app.config
    src_media, src_deriv = app.extensions["saola.media"], app.extensions["saola.derivatives"]
    if target == "local":
        if not path:
            fail("--to local needs a folder: saola storage migrate --to local PATH")
        dst_media = LocalMediaStore(Path(path).expanduser())
        dst_deriv = LocalMediaStore(Path(deriv_path).expanduser() if deriv_path
                                    else Path(cfg["DATA_DIR"]) / "derivatives")
    elif target.startswith("s3://"):
        if path:
            fail(f"unexpected argument {path!r}: an S3 target is one URL")
        try:
            base = target.rstrip("/")
            dst_media = open_store(base + "/originals", cfg, "originals")
            dst_deriv = open_store(base + "/derivatives", cfg, "derivatives")
            dst_media.ensure_bucket()
        except ValueError as e:
            fail(str(e))
        except Exception as e:  # an unreachable endpoint or refused keys: say which, before copying anything
            fail(f"cannot reach {target}: {type(e).__name__}: {e}")
    else:
        fail(f"--to must be s3://BUCKET/PREFIX or 'local PATH', not {target!r}")
    pairs = [("originals", src_media, dst_media)]
    if not skip_derivatives:
        pairs.append(("derivatives", src_deriv, dst_deriv))
    report = MigrateReport()
    for what, src, dst in pairs:
        if _same(src, dst):
            fail(f"the {what} target is the configured {what} store itself")
        keys = sorted(src.iter_keys())
        bar, done, total = ProgressBar(what, unit="object"), [0], len(keys)

        def step(n: int, bar=bar, done=done, total=total) -> None:
            done[0] += n
            bar(done[0], total)

        try:
            migrate_store(src, dst, journal_for(cfg["DATA_DIR"], src, dst), delete_source=delete_source,
                          workers=workers, keys=keys, progress=step, report=report)
        finally:
            bar.close()
    with read_session(app) as s:
        check_database(s, dst_media, report)
    click.echo(f"copied and verified {report.copied} object(s) ({report.bytes / 1e6:.1f} MB), "
               f"{report.already} already verified, {report.replaced} bad copies replaced, "
               f"{report.deleted} source object(s) removed")
    for err in report.errors:
        click.echo(f"  error: {err}", err=True)
    if report.missing_in_target:
        click.echo(f"  {len(report.missing_in_target)} media of the database are not in the target, e.g. "
                   f"{report.missing_in_target[0]}", err=True)
    if not report.ok:
        fail("the migration is not complete (see above); fix the cause and run the same command again")
    setting = f"SAOLA_MEDIA_URL={target.rstrip('/')}" if target != "local" else \
        f"SAOLA_MEDIA_URL= (empty) and SAOLA_MEDIA_DIR={Path(path).expanduser()}"
    click.echo(f"done: every object verified. Now set {setting} and restart the server and the workers.")


def _same(a, b) -> bool:
    ra, rb = getattr(a, "remote", False), getattr(b, "remote", False)
    if ra != rb:
        return False
    if ra:
        return a.options.url.rstrip("/") == b.options.url.rstrip("/") and \
            a.options.endpoint_url == b.options.endpoint_url
    return a.root.resolve() == b.root.resolve()
