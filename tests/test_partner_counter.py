"""A partner works one location: it finds a card only by its number and the ICCID's last 4 digits, takes a
payment there and nowhere else, records the ID shown as its kind and last 4 characters, prints or texts
the receipt, and sees its own location's takings. Through the staff pages, as a partner signs in."""

import pytest
from conftest import csrf_token, make_order
from shops_support import make_location, make_partner
from sqlalchemy import func, select
from staff_support import audit_rows, staff_sign_in
from test_staff_money_pages import hidden_inputs

from extensions import db
from models import AuditEntry, CounterPayment, LocationDay, Order, SmsMessage
from rules.travellers import iccid

CARD_ICCID = iccid.with_check_digit("898520085261234567")  # make_order's card +852 6123 4567
LAST4 = CARD_ICCID[-4:]


@pytest.fixture
def counters(app):
    """Two locations with a partner each; the demo plans and the card +852 6123 4567; partner A signed in."""
    make_order(app)
    a, b = make_location(app, "desk-a", "Desk A"), make_location(app, "desk-b", "Desk B")
    make_partner(app, "pa", a)
    make_partner(app, "pb", b)
    return a, b


def signed_in(client, username="pa"):
    response = staff_sign_in(client, username)
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/counter")
    return csrf_token(client.get("/staff/counter").text)


def form(token, **changes) -> dict:
    data = {
        "csrf_token": token,
        "card_number": "6123 4567",
        "iccid_last4": LAST4,
        "id_kind": "passport",
        "id_last4": "123a",
        "plan": "gba-3d",
        "method": "cash",
        "location": "desk-a",
        "locale": "en",
    }
    return {**data, **changes}


def pay(client, data):
    """Step one, then step two as the confirm form sends it; returns (step one, step two or None)."""
    shown = client.post("/staff/counter", data=data)
    if shown.status_code != 200:
        return shown, None
    return shown, client.post("/staff/counter", data={**data, **hidden_inputs(shown.text)})


def counts(app) -> tuple[int, int]:
    with app.app_context():
        orders = db.session.scalar(
            select(func.count()).select_from(Order).where(Order.payment_method.like("counter:%"))
        )
        return orders, db.session.scalar(select(func.count()).select_from(CounterPayment))


def test_a_partner_takes_a_payment_at_its_own_location_and_keeps_only_the_ids_last_4(app, client, counters):
    token = signed_in(client)
    page = client.get("/staff/counter").text
    assert "Desk A" in page and "Desk B" not in page and "ICCID (optional)" not in page
    shown, done = pay(client, form(token, id_last4="E1234567"))
    assert shown.status_code == 422 and "last 4" in shown.text  # the whole number: refused, nothing kept
    assert "E1234567" not in "".join(e.after or "" for e in audit_rows(app, None))
    shown, done = pay(client, form(token))
    assert "Record HK$58.00 paid by Cash" in shown.text and 'Passport <span class="nowrap">…123A</span>' in shown.text
    assert done.status_code == 303 and "/staff/counter/receipt/" in done.headers["Location"]
    number = done.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        payment = db.session.scalars(select(CounterPayment)).one()
        assert (payment.location_id, payment.location, payment.id_kind, payment.id_last4) == (
            counters[0],
            "Desk A",
            "passport",
            "123A",
        )
        day = db.session.scalars(select(LocationDay)).one()
        assert (day.location_id, day.cash_cents, day.payments, day.closed_at) == (counters[0], 5800, 1, None)
    (entry,) = audit_rows(app, "order.counter_payment")
    assert entry.role == "partner" and '"id_shown": "passport …123A"' in entry.after
    receipt = client.get(done.headers["Location"])
    assert receipt.status_code == 200 and number in receipt.text and "HK$58.00" in receipt.text
    assert "Print the receipt" in receipt.text and "Open the order" not in receipt.text


def test_a_partner_finds_a_card_only_by_its_number_and_the_iccids_last_4(app, client, counters):
    token = signed_in(client)
    for changes in (
        {"iccid_last4": "0000"},
        {"iccid_last4": ""},
        {"iccid_last4": CARD_ICCID[-5:]},  # five digits are not the last 4
        {"card_number": "6123 4568"},
        {"iccid": CARD_ICCID, "iccid_last4": ""},  # a partner cannot register a card
    ):
        shown, _ = pay(client, form(token, **changes))
        assert shown.status_code == 422 and "No card matches this number" in shown.text, changes
    assert counts(app) == (0, 0)
    assert client.get("/staff").status_code == 403  # no search over all orders
    assert client.get("/staff/orders?q=6123").status_code in (403, 404)


def test_a_partner_posting_a_payment_for_another_location_is_refused_and_nothing_is_recorded(app, client, counters):
    token = signed_in(client)
    shown, _ = pay(client, form(token, location="desk-b"))
    assert shown.status_code == 403 and "only at your own location" in shown.text
    good = client.post("/staff/counter", data=form(token))  # step one only
    forged = {**form(token), **hidden_inputs(good.text), "location": "desk-b"}  # step two, location changed
    response = client.post("/staff/counter", data=forged)
    assert response.status_code == 403
    assert counts(app) == (0, 0)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LocationDay)) == 0


def test_a_partner_sees_only_its_own_receipts_and_texts_one_again_once(app, client, counters):
    token = signed_in(client)
    _, done = pay(client, form(token))
    receipt_url = done.headers["Location"]
    number = receipt_url.rsplit("/", 1)[1]
    again = client.post(receipt_url + "/sms", data={"csrf_token": token})
    assert again.status_code == 303
    assert "on its way" in client.get(receipt_url).text
    client.post(receipt_url + "/sms", data={"csrf_token": token})
    with app.app_context():
        bodies = list(db.session.scalars(select(SmsMessage.body).where(SmsMessage.purpose == "receipt")))
    assert len(bodies) == 2 and all(number in body and "Desk A" in body for body in bodies)
    assert client.post(receipt_url + "/sms", data={}).status_code == 400  # no CSRF token, nothing sent

    other = app.test_client()
    signed_in(other, "pb")
    assert other.get(receipt_url).status_code == 404
    assert (
        other.post(receipt_url + "/sms", data={"csrf_token": csrf_token(other.get("/staff/counter").text)}).status_code
        == 404
    )


def test_a_partner_sees_its_own_locations_takings_and_not_another(app, client, counters):
    token = signed_in(client)
    pay(client, form(token))
    pay(client, form(token, method="wechat_qr", plan="hk-1d"))
    page = client.get("/staff/day")
    assert page.status_code == 200 and "Desk A" in page.text
    assert "HK$58.00" in page.text and "HK$18.00" in page.text and "HK$76.00" in page.text
    assert client.get("/staff/day?location=desk-b").status_code == 403
    assert client.get("/staff/settlement").status_code == 403
    assert client.get("/staff/locations").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.role == "partner")) >= 2


def test_a_partner_is_created_on_the_command_line_with_its_one_location(app):
    make_location(app, "desk-a", "Desk A")
    run = app.test_cli_runner().invoke
    password = "a long enough password\n"
    alone = run(args=["staff", "create", "pc", "--role", "partner", "--password-stdin"], input=password)
    assert alone.exit_code != 0 and "needs its location" in alone.output
    unknown = run(
        args=["staff", "create", "pc", "--role", "partner", "--location", "nowhere", "--password-stdin"], input=password
    )
    assert unknown.exit_code != 0 and "no open location" in unknown.output
    made = run(
        args=["staff", "create", "pc", "--role", "partner", "--location", "desk-a", "--password-stdin"], input=password
    )
    assert made.exit_code == 0, made.output
    agent = run(
        args=["staff", "create", "ag", "--role", "agent", "--location", "desk-a", "--password-stdin"], input=password
    )
    assert agent.exit_code != 0  # only a partner has a location
    from models import StaffUser

    with app.app_context():
        staff = db.session.scalars(select(StaffUser).where(StaffUser.username == "pc")).one()
        assert (staff.role, staff.location_id is not None) == ("partner", True)
