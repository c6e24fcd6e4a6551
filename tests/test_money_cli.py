"""The operators' money commands use the same rules as the staff pages."""

from conftest import load_order
from shops_support import make_location
from sqlalchemy import select

from extensions import db
from models import Order
from rules.staff import exports
from rules.travellers import iccid


def run(app, *args):
    return app.test_cli_runner().invoke(args=["money", *args])


def test_a_counter_payment_then_its_refund_and_the_export_from_the_command_line(app, plans):
    card = iccid.with_check_digit("898520099999999999")
    make_location(app, "airport-t1", "Airport counter T1")
    done = run(app, "counter-payment", "--card", "6123 4567", "--plan", "hk-1d", "--method", "card",
               "--location", "airport-t1", "--iccid", card, "--staff", "kit")  # fmt: skip
    assert done.exit_code == 0, done.output
    with app.app_context():
        number = db.session.scalars(select(Order.number)).one()
    assert load_order(app, number).state == "fulfilled" and '"staff": "cli:kit"' in done.output

    refused = run(app, "refund", number, "1.234", "--reason", "Wrong plan", "--staff", "mei")
    assert refused.exit_code != 0 and "at most two decimals" in refused.output
    refunded = run(app, "refund", number, "18", "--reason", "Wrong plan", "--staff", "mei")
    assert refunded.exit_code == 0, refunded.output
    assert load_order(app, number).state == "refunded"

    with app.app_context():
        day = exports.hk_text(db.session.scalars(select(Order)).one().created_at)[:10]  # the Hong Kong day
    exported = run(app, "export", "orders", "--from", day, "--to", day, "--lang", "zh_Hant")
    assert exported.exit_code == 0 and exported.stdout_bytes.startswith(b"\xef\xbb\xbf")
    assert (
        number in exported.output and "香港1日通" in exported.output and "刷卡機" in exported.output
    )  # the method in words
    assert run(app, "sales", "--days", "3").exit_code == 0
