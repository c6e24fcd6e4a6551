"""The money actions through the staff pages: a refund is shown before it is made and made once however
often its form arrives; too much is refused beside the field with nothing changed; unpaid orders are
cancelled with a reason; a counter payment makes a paid order that is then fulfilled. Each is audited."""

import re
from html import unescape

from conftest import csrf_token, load_order, make_order
from shops_support import make_location
from staff_support import audit_rows, make_staff, paid_order_number, staff_sign_in

from extensions import db


def supervisor(app, client):
    secret = make_staff(app, "mei", "supervisor")
    assert staff_sign_in(client, "mei", secret).status_code == 303


def refund_rows(app, number):
    from models import Order, Refund

    with app.app_context():
        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        rows = [
            (r.amount_cents, r.reason) for r in db.session.scalars(db.select(Refund).where(Refund.order_id == order.id))
        ]
        return rows, order.refunded_cents, order.state


def ask_refund(client, number, amount, reason="Customer asked"):
    """Step one: the confirmation, with its hidden request id."""
    page = client.get(f"/staff/orders/{number}")
    token = csrf_token(page.text)
    response = client.post(
        f"/staff/orders/{number}/refund", data={"csrf_token": token, "amount": amount, "reason": reason}
    )
    return token, response


def hidden_inputs(html: str) -> dict:
    """The hidden inputs of a page, name -> value, whatever the order of their attributes."""
    found = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
            if name:
                found[name[1]] = unescape(value[1]) if value else ""
    return found


def confirm_data(token, response):
    data = hidden_inputs(response.text.split('id="refund"', 1)[1])
    assert {"amount", "reason", "request_id", "confirm"} <= set(data), data
    return {**data, "csrf_token": token}


def test_a_refund_is_confirmed_first_and_a_double_submit_refunds_once(app, client):
    number = paid_order_number(app)
    supervisor(app, client)
    token, shown = ask_refund(client, number, "10")
    assert shown.status_code == 200
    assert f"Refund HK$10.00 of order {number}?" in shown.text
    assert refund_rows(app, number)[0] == []  # nothing yet: only shown
    data = confirm_data(token, shown)
    first = client.post(f"/staff/orders/{number}/refund", data=data)
    second = client.post(f"/staff/orders/{number}/refund", data=data)
    assert first.status_code == second.status_code == 303
    rows, refunded, state = refund_rows(app, number)
    assert rows == [(1000, "Customer asked")] and refunded == 1000 and state == "paid"
    assert len(audit_rows(app, "order.refund")) == 1
    page = client.get(f"/staff/orders/{number}").text
    assert "order.refund" in page and "already made" in page


def test_a_partial_then_a_full_refund(app, client):
    number = paid_order_number(app)
    supervisor(app, client)
    total = load_order(app, number).total_cents
    for amount in ("5.50", f"{(total - 550) / 100:.2f}"):
        token, shown = ask_refund(client, number, amount)
        assert client.post(f"/staff/orders/{number}/refund", data=confirm_data(token, shown)).status_code == 303
    rows, refunded, state = refund_rows(app, number)
    assert [cents for cents, _ in rows] == [550, total - 550] and refunded == total and state == "refunded"
    assert len(audit_rows(app, "order.refund")) == 2


def test_too_much_is_refused_beside_the_field_and_nothing_changes(app, client):
    number = paid_order_number(app)
    supervisor(app, client)
    total = load_order(app, number).total_cents
    token, shown = ask_refund(client, number, f"{total / 100 + 1:.2f}")
    assert shown.status_code == 422
    assert 'id="refund-amount-error"' in shown.text and "left to refund" in shown.text
    # A confirmation forged past step one is refused by the rule the same way.
    forged = {"csrf_token": token, "amount": "9999", "reason": "x", "request_id": "abcdefgh1234", "confirm": "1"}
    again = client.post(f"/staff/orders/{number}/refund", data=forged)
    assert again.status_code == 422 and 'id="refund-amount-error"' in again.text
    assert refund_rows(app, number) == ([], 0, "paid")
    assert audit_rows(app, "order.refund") == []


def test_an_agent_sees_no_refund_form(app, client):
    number = paid_order_number(app)
    make_staff(app, "kit", "agent")
    assert staff_sign_in(client, "kit").status_code == 303
    assert 'id="refund"' not in client.get(f"/staff/orders/{number}").text


def test_an_unpaid_order_is_cancelled_with_a_reason_and_audited(app, client, live_server):
    number = make_order(app)
    supervisor(app, client)
    page = client.get(f"/staff/orders/{number}").text
    token = csrf_token(page)
    empty = client.post(f"/staff/orders/{number}/cancel", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and load_order(app, number).state == "pending_payment"
    done = client.post(f"/staff/orders/{number}/cancel", data={"csrf_token": token, "reason": "Asked by phone"})
    assert done.status_code == 303
    assert load_order(app, number).state == "cancelled"
    [entry] = audit_rows(app, "order.cancel")
    assert entry.reason == "Asked by phone"


def test_a_counter_payment_is_confirmed_then_paid_and_fulfilled(app, client):
    make_order(app)  # seeds the plans and the card +85261234567
    make_location(app, "desk-3", "Airport desk 3")
    make_staff(app, "kit", "agent")
    assert staff_sign_in(client, "kit").status_code == 303
    token = csrf_token(client.get("/staff/counter").text)
    form = {
        "csrf_token": token,
        "card_number": "61234567",
        "plan": "gba-3d",
        "method": "cash",
        "location": "desk-3",
        "reference": "T-77",
        "locale": "en",
    }
    shown = client.post("/staff/counter", data=form)
    assert shown.status_code == 200 and "Record HK$" in shown.text and "Cash" in shown.text
    assert audit_rows(app, "order.counter_payment") == []
    data = {**form, **hidden_inputs(shown.text)}  # as the confirm step's form sends it
    assert data["confirm"] == "1" and data["request_id"] and data["quoted"] == "5800"
    first = client.post("/staff/counter", data=data)
    second = client.post("/staff/counter", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    number = first.headers["Location"].rsplit("/", 1)[1]
    order = load_order(app, number)
    assert order.payment_method == "counter:cash"
    assert order.state == "fulfilled"
    assert [t.to_state for t in order.transitions][-2:] == ["paid", "fulfilled"]
    assert len(audit_rows(app, "order.counter_payment")) == 1


def test_a_counter_payment_for_an_unknown_plan_is_refused_beside_the_field(app, client):
    make_order(app)
    make_location(app, "desk-3", "Airport desk 3")
    make_staff(app, "kit", "agent")
    assert staff_sign_in(client, "kit").status_code == 303
    token = csrf_token(client.get("/staff/counter").text)
    form = {"csrf_token": token, "card_number": "61234567", "plan": "nope", "method": "cash", "location": "desk-3"}
    response = client.post("/staff/counter", data=form)
    assert response.status_code == 422 and 'id="plan-error"' in response.text
    assert audit_rows(app, "order.counter_payment") == []
