"""End of day: a location's takings per Hong Kong day by method, closed once (by its partner or a
supervisor) and never changed after; a late correction is a new audited entry; supervisors settle across
locations. A payment and a close never both win: a payment after the close is refused, nothing of it kept."""

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from conftest import csrf_token, make_order
from shops_support import make_location, make_partner
from sqlalchemy import func, select
from staff_support import audit_rows, make_staff, staff_sign_in
from test_partner_counter import form, pay

from extensions import db
from models import CounterPayment, DayCorrection, Location, LocationDay, Order
from rules.shops import takings
from rules.staff import counter_payments

AGENT = SimpleNamespace(id=3, username="kit", role="agent", location_id=None)
SUPERVISOR = SimpleNamespace(id=4, username="mei", role="supervisor", location_id=None)


@pytest.fixture
def desk(app):
    make_order(app)  # the demo plans and the card +852 6123 4567
    location_id = make_location(app, "desk-a", "Desk A")
    make_partner(app, "pa", location_id)
    return location_id


def partner(client, username="pa") -> str:
    assert staff_sign_in(client, username).status_code == 303
    return csrf_token(client.get("/staff/counter").text)


def supervisor(app, client) -> str:
    secret = make_staff(app, "mei", "supervisor")
    assert staff_sign_in(client, "mei", secret).status_code == 303
    return csrf_token(client.get("/staff").text)


def today() -> str:
    return takings.hk_today().isoformat()


def day_row(app, location_id):
    with app.app_context():
        row = db.session.scalars(select(LocationDay).where(LocationDay.location_id == location_id)).one()
        db.session.expunge(row)
        return row


def test_takings_by_method_closed_once_and_a_replayed_close_changes_nothing(app, client, desk):
    token = partner(client)
    pay(client, form(token))  # cash HK$58
    pay(client, form(token, method="card", plan="hk-1d"))  # card HK$18
    pay(client, form(token, method="alipayhk_qr", plan="hk-1d"))  # QR HK$18
    closed = client.post("/staff/day/close", data={"csrf_token": token, "location": "desk-a", "day": today()})
    assert closed.status_code == 303
    row = day_row(app, desk)
    assert (row.cash_cents, row.card_cents, row.qr_cents, row.payments, row.closed_by) == (5800, 1800, 1800, 3, "pa")
    page = client.get("/staff/day").text
    assert "Closed by pa" in page and "Close this day" not in page and "HK$94.00" in page

    replay = client.post("/staff/day/close", data={"csrf_token": token, "location": "desk-a", "day": today()})
    assert replay.status_code == 409 and "already closed" in replay.text
    assert day_row(app, desk).closed_at == row.closed_at
    assert len(audit_rows(app, "day.close")) == 1


def test_a_payment_after_the_close_is_refused_and_nothing_of_it_is_recorded(app, client, desk):
    token = partner(client)
    shown = client.post("/staff/counter", data=form(token))  # confirmed on the page before the close
    client.post("/staff/day/close", data={"csrf_token": token, "location": "desk-a", "day": today()})
    from test_staff_money_pages import hidden_inputs

    late = client.post("/staff/counter", data={**form(token), **hidden_inputs(shown.text)})
    assert late.status_code == 422 and "closed" in late.text
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(Order).where(Order.payment_method.like("counter:%")))
            == 0
        )
        assert db.session.scalar(select(func.count()).select_from(CounterPayment)) == 0
    row = day_row(app, desk)
    assert (row.cash_cents, row.payments) == (0, 0)


def test_a_late_correction_is_a_new_audited_entry_and_the_settlement_counts_it(app, client, desk):
    token = partner(client)
    pay(client, form(token))
    client.post("/staff/day/close", data={"csrf_token": token, "location": "desk-a", "day": today()})
    correction = {
        "csrf_token": token,
        "location": "desk-a",
        "day": today(),
        "method": "cash",
        "amount": "-8",
        "reason": "Till short",
    }
    assert client.post("/staff/day/correct", data=correction).status_code == 403  # a partner cannot

    boss = app.test_client()
    token = supervisor(app, boss)
    assert (
        boss.post("/staff/day/correct", data={**correction, "csrf_token": token, "amount": "1.234"}).status_code == 422
    )
    assert boss.post("/staff/day/correct", data={**correction, "csrf_token": token}).status_code == 303
    row = day_row(app, desk)
    assert (row.cash_cents, row.payments) == (5800, 1)  # the closed figures are untouched
    with app.app_context():
        (entry,) = db.session.scalars(select(DayCorrection)).all()
        assert (entry.amount_cents, entry.method, entry.staff_username) == (-800, "cash", "mei")
    (audited,) = audit_rows(app, "day.correction")
    assert audited.reason == "Till short" and '"amount_cents": -800' in audited.after
    page = boss.get("/staff/day?location=desk-a").text
    assert "Till short" in page and "HK$50.00" in page
    settlement = boss.get("/staff/settlement")
    assert settlement.status_code == 200 and "Desk A" in settlement.text and "HK$50.00" in settlement.text
    assert boss.get("/staff/settlement?from=2026-01-01&to=2026-12-31").status_code == 400  # too many days
    assert boss.get("/staff/settlement?from=2026-02-30").status_code == 400


def test_a_correction_to_an_open_day_is_refused(app, desk):
    with app.test_request_context():
        location = db.session.get(Location, desk)
        with pytest.raises(takings.DayRefused):
            takings.correct(location, takings.hk_today(), "cash", "5", "why", SUPERVISOR)
        with pytest.raises(Exception, match="role"):
            takings.close(location, takings.hk_today(), AGENT)  # an agent cannot close a day


def test_a_location_edited_while_a_payment_is_in_flight_refuses_the_payment(app, client, desk):
    token = partner(client)
    shown = client.post("/staff/counter", data=form(token))
    with app.app_context():
        location = db.session.get(Location, desk)
        location.version += 1  # an admin's edit, committed between the two steps
        db.session.commit()
    from test_staff_money_pages import hidden_inputs

    late = client.post("/staff/counter", data={**form(token), **hidden_inputs(shown.text)})
    assert late.status_code == 422 and "details changed" in late.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CounterPayment)) == 0


def _record(app, request_id: str):
    with app.test_request_context():
        try:
            counter_payments.record("6123 4567", "hk-1d", "cash", "desk-a", "", request_id, AGENT)
            db.session.commit()
            return "paid"
        except counter_payments.CounterRefused:
            db.session.rollback()
            return "refused"
        finally:
            db.session.remove()


def _close(app, actor=SUPERVISOR, figures=None):
    """Close desk A's day now; `figures` (a list) receives the closed row's payments and cash as closed."""
    with app.test_request_context():
        try:
            row = takings.close(
                db.session.get(Location, db.session.scalar(select(Location.id).where(Location.code == "desk-a"))),
                takings.hk_today(),
                actor,
            )
            db.session.commit()
            if figures is not None:
                figures.extend([row.payments, row.cash_cents])
            return "closed"
        except takings.DayRefused:
            db.session.rollback()
            return "refused"
        finally:
            db.session.remove()


@pytest.mark.postgresql_only
def test_payments_in_flight_while_the_day_closes_are_in_the_figures_or_refused_never_half(app, desk):
    start, closed = threading.Barrier(9), []

    def one(index):
        start.wait(timeout=10)
        return _close(app, figures=closed) if index == 4 else _record(app, counter_payments.new_request_id())

    with ThreadPoolExecutor(max_workers=9) as pool:
        outcomes = list(pool.map(one, range(9)))
    late = [_record(app, counter_payments.new_request_id()) for _ in range(2)]  # after the close, surely
    assert outcomes[4] == "closed" and late == ["refused", "refused"]
    row = day_row(app, desk)
    with app.app_context():
        kept = db.session.scalar(select(func.count()).select_from(CounterPayment))
    # Every payment kept is in the closed figures, and the figures did not move after the close.
    assert kept == outcomes.count("paid") == row.payments and row.cash_cents == 1800 * kept
    assert closed == [row.payments, row.cash_cents]


@pytest.mark.postgresql_only
def test_two_closes_at_once_one_wins(app, desk):
    start = threading.Barrier(2)

    def one(_):
        start.wait(timeout=10)
        return _close(app)

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert sorted(pool.map(one, range(2))) == ["closed", "refused"]


def test_closing_twice_in_a_row_one_wins_on_any_database(app, desk):
    assert [_close(app), _close(app)] == ["closed", "refused"]
    assert _record(app, counter_payments.new_request_id()) == "refused"


def test_a_close_is_of_the_figures_shown_a_payment_since_refuses_it(app, client, desk):
    token = partner(client)
    pay(client, form(token))
    page = client.get("/staff/day").text
    from test_staff_money_pages import hidden_inputs

    shown = hidden_inputs(page.split('action="/staff/day/close"', 1)[1])
    assert shown["payments"] == "1"
    pay(client, form(token, plan="hk-1d"))  # another payment while the page was open
    refused = client.post("/staff/day/close", data=shown)
    assert refused.status_code == 409 and "A payment came in meanwhile" in refused.text
    assert day_row(app, desk).closed_at is None
    fresh = hidden_inputs(client.get("/staff/day").text.split('action="/staff/day/close"', 1)[1])
    assert client.post("/staff/day/close", data=fresh).status_code == 303
    row = day_row(app, desk)
    assert (row.payments, row.cash_cents) == (2, 7600) and row.closed_at is not None
