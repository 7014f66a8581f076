"""Command-line tools: flask create-admin, flask regions import, flask beds, flask ratings."""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from eldercare.extensions import db

regions_cli = AppGroup("regions", help="Administrative regions.")
beds_cli = AppGroup("beds", help="Bed inventory.")

BAOJI_CSV = os.path.join(os.path.dirname(__file__), "regions", "data", "baoji.csv")


@regions_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False), default=BAOJI_CSV)
def import_regions(path: str) -> None:
    """Import regions from a CSV file (code,name,level,parent_code,abolished_on,successor_code)."""
    from eldercare.regions.operations import RegionImportError, import_regions_csv

    with open(path, encoding="utf-8-sig") as handle:
        text = handle.read()
    try:
        created, updated = import_regions_csv(text)
    except RegionImportError as err:
        db.session.rollback()
        for e in err.errors:
            click.echo(f"row {e.row}, {e.column}: {e.reason}", err=True)
        raise click.ClickException(f"{len(err.errors)} errors; nothing imported") from None
    db.session.commit()
    click.echo(f"regions: {created} created, {updated} updated")


@click.command("create-admin")
@click.argument("username")
@click.option("--name", "display_name", default="管理员", help="Display name.")
@click.password_option(help="Password (asked twice if not given).")
@with_appcontext
def create_admin(username: str, display_name: str, password: str) -> None:
    """Create an administrator account."""
    from marshmallow import ValidationError

    from eldercare.auth.operations import create_user
    from eldercare.auth.schemas import UserCreateSchema
    from eldercare.core.errors import AppError

    try:
        data = UserCreateSchema().load(
            {
                "username": username,
                "display_name": display_name,
                "password": password,
                "role": "admin",
            }
        )
        create_user(data, by=None)
    except ValidationError as err:
        raise click.ClickException(
            str({k: [str(m) for m in v] for k, v in err.messages.items()})
        ) from None
    except AppError as err:
        raise click.ClickException(
            str({k: [str(m) for m in v] for k, v in err.errors.items()})
        ) from None
    db.session.commit()
    click.echo(f"administrator {username} created")


@beds_cli.command("expire-reservations")
def expire_reservations() -> None:
    """End the reservations that have run out and free their beds (the scheduler's
    beds-expire job does it every 5 minutes)."""
    from eldercare.beds.operations import expire_reservations as expire

    count = expire()
    db.session.commit()
    click.echo(f"{count} reservations expired")


ratings_cli = AppGroup("ratings", help="Star ratings of facilities.")


@ratings_cli.command("load-schemes")
def load_schemes() -> None:
    """Add the rating schemes shipped with the application (those not there yet)."""
    from eldercare.ratings.operations import SchemeFileError, load_shipped_schemes

    try:
        added = load_shipped_schemes()
    except SchemeFileError as err:
        db.session.rollback()
        raise click.ClickException(str(err)) from None
    db.session.commit()
    click.echo(f"{added} rating schemes added")


def register(app: Flask) -> None:
    """The production commands; the developer tools' (flask demo, flask bench) come from the
    ``flask.commands`` entry points of eldercare.devtools, never imported here."""
    app.cli.add_command(ratings_cli)
    from eldercare.scheduler import scheduler_cli, sweeps

    app.cli.add_command(scheduler_cli)
    from eldercare.notifications.cli import outbox_cli

    app.cli.add_command(outbox_cli)
    app.cli.add_command(sweeps)
    app.cli.add_command(regions_cli)
    app.cli.add_command(beds_cli)
    app.cli.add_command(create_admin)
