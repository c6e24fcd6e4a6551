"""Operators' commands for money and the catalogue: `flask --app app money …` (refund, cancel,
counter-payment, export, sales). The same rules as the staff pages; whoever runs a command on the
server acts with the admin role, under the name given with --staff.
"""

import json
import sys
from types import SimpleNamespace

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from extensions import db
from models import Order
from rules.ordering import orders
from rules.staff import counter_payments, exports, sales, staff_orders, staff_refunds
from rules.staff.actors import NotAllowed

money_cli = AppGroup("money", help="Refund, cancel, record counter payments, export orders and refunds, sales.")
STAFF = click.option("--staff", required=True, help="Your staff user name (recorded with the change).")


def _actor(username: str) -> SimpleNamespace:
    return SimpleNamespace(id=None, username=f"cli:{username}", role="admin")


def _order(number: str) -> Order:
    order = db.session.scalars(select(Order).where(Order.number == orders.normalise_number(number))).first()
    if order is None:
        raise click.ClickException(f"no order {number}")
    return order


def _show(before: dict, after: dict) -> None:
    click.echo(json.dumps({"before": before, "after": after}, ensure_ascii=False, default=str))


@money_cli.command("refund")
@click.argument("number")
@click.argument("amount")
@click.option("--reason", required=True)
@click.option("--request-id", default=None, help="Repeat a refund that may not have gone through: the same id.")
@STAFF
def refund_command(number: str, amount: str, reason: str, request_id: str | None, staff: str):
    """Refund AMOUNT (e.g. 12.50) of order NUMBER by the way it was paid (or record it, for a counter payment)."""
    request_id = request_id or staff_refunds.new_request_id()
    try:
        result = staff_refunds.refund(_order(number), amount, request_id, reason, _actor(staff))
    except (staff_refunds.RefundRefused, NotAllowed) as refused:
        raise click.ClickException(str(refused)) from None
    db.session.commit()
    result.after_commit()
    _show(result.before, result.after)
    click.echo(f"request id {request_id}: refund {result.refund.out_request_no} is {result.refund.status}")


@money_cli.command("cancel")
@click.argument("number")
@click.option("--reason", required=True)
@STAFF
def cancel_command(number: str, reason: str, staff: str):
    """Cancel unpaid order NUMBER (its trade is closed first, where it was started)."""
    try:
        result = staff_orders.cancel_unpaid(_order(number), reason, _actor(staff))
    except (staff_orders.CancelRefused, NotAllowed) as refused:
        raise click.ClickException(str(refused)) from None
    db.session.commit()
    result.after_commit()
    _show(result.before, result.after)
    click.echo(str(result.outcome))


@money_cli.command("counter-payment")
@click.option("--card", "card_number", required=True)
@click.option("--plan", "plan_code", required=True)
@click.option("--method", type=click.Choice(sorted(counter_payments.METHODS)), required=True)
@click.option("--location", required=True, help="The location's code (the staff page Locations lists them).")
@click.option("--reference", default="")
@click.option("--iccid", default="", help="Registers the card if its number is new.")
@click.option("--lang", default="en", help="The traveller's language for the SMS: en, zh_Hans, zh_Hant.")
@click.option("--request-id", default=None)
@STAFF
def counter_payment_command(card_number, plan_code, method, location, reference, iccid, lang, request_id, staff):
    """Record money taken at a counter: a paid order, fulfilled, with the receipt link by SMS."""
    request_id = request_id or counter_payments.new_request_id()
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):  # for the receipt link
        try:
            result = counter_payments.record(
                card_number, plan_code, method, location, reference, request_id, _actor(staff), iccid, lang
            )
        except (counter_payments.CounterRefused, NotAllowed) as refused:
            raise click.ClickException(str(refused)) from None
        db.session.commit()
        result.after_commit()
        _show(result.before, result.after)
        click.echo(f"request id {request_id}: order {result.order.number} is {result.order.state}")


@money_cli.command("export")
@click.argument("kind", type=click.Choice(["orders", "refunds"]))
@click.option("--from", "first", required=True, help="First Hong Kong day, YYYY-MM-DD.")
@click.option("--to", "last", required=True, help="Last Hong Kong day, YYYY-MM-DD.")
@click.option("--lang", default="en")
def export_command(kind: str, first: str, last: str, lang: str):
    """Write the orders or refunds of those days as CSV (for Excel) to standard output."""
    try:
        start, end = exports.parse_range(first, last)
    except exports.ExportRefused as refused:
        raise click.ClickException(str(refused)) from None
    rows = exports.orders_csv(start, end, lang) if kind == "orders" else exports.refunds_csv(start, end, lang)
    for row in rows:
        sys.stdout.buffer.write(row.encode("utf-8"))


@money_cli.command("sales")
@click.option("--days", default=30, type=click.IntRange(1, 366))
def sales_command(days: int):
    """Sales and refunds per Hong Kong day, and the day's sales per payment method."""
    click.echo("day         orders        sales     refunds  by method")
    rows = sales.per_day(days)
    series = sales.series_present(rows)
    for row in rows:
        sold, refunded = exports.amount(row.amount_cents), exports.amount(row.refunded_cents)
        split = ", ".join(f"{name} {exports.amount(row.by_method[name])}" for name in series if row.by_method.get(name))
        click.echo(f"{row.day} {row.orders:6d} {sold:>12} {refunded:>11}  {split}".rstrip())
