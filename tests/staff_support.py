"""Helpers for the staff area's tests: make staff, sign them in the way a person does, move the clock."""

import pyotp
from conftest import csrf_token

from extensions import db

PASSWORD = "correct horse battery staple"


def make_staff(app, username: str = "alice", role: str = "agent", totp: bool | None = None) -> str | None:
    """A member of staff with PASSWORD; with TOTP enabled (default: for supervisors and admins), returns the secret."""
    from models import StaffUser
    from rules.staff import staff_accounts

    totp = role != "agent" if totp is None else totp
    with app.app_context():
        staff = staff_accounts.create(username, PASSWORD, role)
        secret = pyotp.random_base32() if totp else None
        staff.totp_secret, staff.totp_enabled = secret, bool(totp)
        db.session.commit()
        assert db.session.get(StaffUser, staff.id) is not None
    return secret


def code_now(secret: str) -> str:
    from rules.staff import staff_accounts

    return pyotp.TOTP(secret).at(int(staff_accounts.now()))


def post(client, url: str, page: str, **data):
    """POST `data` to `url` with the CSRF token of `page`, as that page's form would."""
    return client.post(url, data={"csrf_token": csrf_token(client.get(page).text), **data})


def staff_sign_in(client, username: str = "alice", secret: str | None = None, password: str = PASSWORD):
    """The real two steps; returns the last response (303 to the staff area when it worked)."""
    response = post(client, "/staff/login", "/staff/login", username=username, password=password)
    if secret is None or response.status_code != 303 or "/staff/login/code" not in response.headers["Location"]:
        return response
    return post(client, "/staff/login/code", "/staff/login/code", code=code_now(secret))


def audit_rows(app, action: str | None = None):
    """The audit rows of `action`, or else of every action on an order (not signing in and out)."""
    from models import AuditEntry

    with app.app_context():
        query = db.select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        else:
            query = query.where(AuditEntry.order_id.is_not(None))
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def paid_order_number(app, state: str = "paid", **make) -> str:
    """An order made by the real checkout, paid as a notification does; optionally moved on to `state`."""
    from conftest import make_order

    from models import Order
    from rules.ordering import fulfilment, orders
    from rules.payments import payment_events

    number = make_order(app, **make)
    with app.test_request_context():
        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        # An Alipay trade number: 28 digits, the day then a serial (here from the order's random part).
        trade_no = "2026112822001" + str(int.from_bytes(number[-6:].encode(), "big"))[-15:].zfill(15)
        assert payment_events.apply_paid(order, trade_no, "notification", {}) == "paid"
        fulfilment.queue_confirmation(order)  # as the worker's first claim does, the order left paid
        if state != "paid":
            orders.transition(order, state, "job", {"reason": "test"})
        db.session.commit()
    return number


def to_sign_in(response) -> bool:
    """The answer sends to the staff sign-in page (and so shows nothing else)."""
    return response.status_code in (302, 303) and response.headers["Location"].startswith("/staff/login")
