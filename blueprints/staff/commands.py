"""`flask staff create USERNAME --role admin` (or `--role partner --location CODE`), `flask staff disable USERNAME`."""

import sys

import click

from blueprints.staff import bp
from extensions import db
from rules.shops import places
from rules.staff import staff_accounts


@bp.cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(staff_accounts.ALL_ROLES), default="agent", show_default=True)
@click.option("--location", "location_code", default=None, help="A partner's one location (its code).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (scripts).")
def create(username: str, role: str, location_code: str | None, password_stdin: bool) -> None:
    """Create a member of staff (the first admin, for instance, or a partner at one location)."""
    location = places.by_code(location_code) if location_code else None
    if location_code and (location is None or location.closed_at is not None):
        raise click.ClickException(f"no open location {location_code!r}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        staff = staff_accounts.create(username, password, role, location.id if location else None)
    except staff_accounts.StaffRefused as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    needs = " (sets up a TOTP code at first sign-in)" if staff_accounts.totp_required(staff) else ""
    click.echo(f"created {staff.username}, {staff.role}{needs}")


@bp.cli.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """End this person's access and every open session of theirs at once."""
    staff = staff_accounts.find(username)
    if staff is None:
        raise click.ClickException(f"no staff account {username!r}")
    staff_accounts.disable(staff)
    db.session.commit()
    click.echo(f"disabled {staff.username}; their sessions are over")
