"""An agent cannot refund; they ask a supervisor. The supervisor sees the request on the staff home and on
the order, approves it (refunded once, however often approved) or rejects it with a reason (nothing changes).
Too much is refused when asked and again when approved (someone may have refunded meanwhile). Each step is
audited; agents cannot decide, travellers and anonymous visitors never reach any of it."""

from conftest import csrf_token
from staff_support import audit_rows, make_staff, paid_order_number, staff_sign_in

from extensions import db


def signed_in(app, username, role):
    client = app.test_client()
    secret = make_staff(app, username, role)
    assert staff_sign_in(client, username, secret).status_code == 303
    return client


def post(client, number, path, **data):
    token = csrf_token(client.get(f"/staff/orders/{number}").text)
    return client.post(f"/staff/orders/{number}/{path}", data={"csrf_token": token, **data})


def state_of(app, number):
    from models import Order, Refund, RefundRequest

    with app.app_context():
        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        refunds = [r.amount_cents for r in db.session.scalars(db.select(Refund).where(Refund.order_id == order.id))]
        asks = [
            (r.id, r.amount_cents, r.status)
            for r in db.session.scalars(db.select(RefundRequest).where(RefundRequest.order_id == order.id))
        ]
        return {"refunds": refunds, "refunded": order.refunded_cents, "state": str(order.state), "asks": asks}


def test_an_agent_asks_a_supervisor_approves_and_twice_approved_refunds_once(app):
    number = paid_order_number(app)
    agent = signed_in(app, "ann", "agent")
    page = agent.get(f"/staff/orders/{number}").text
    assert "Ask a supervisor to refund" in page and f'/staff/orders/{number}/refund"' not in page
    asked = post(agent, number, "refund-requests", amount="10", reason="Card never worked")
    assert asked.status_code == 303
    [(ask_id, cents, status)] = state_of(app, number)["asks"]
    assert (cents, status) == (1000, "pending") and state_of(app, number)["refunds"] == []

    boss = signed_in(app, "mei", "supervisor")
    home = boss.get("/staff").text
    assert "Refunds asked for by agents" in home and number in home.split("Refunds asked for by agents", 1)[1]
    assert "Approve and refund HK$10.00" in boss.get(f"/staff/orders/{number}").text
    first = post(boss, number, "refund-requests/approve", refund_request=str(ask_id))
    second = post(boss, number, "refund-requests/approve", refund_request=str(ask_id))
    assert first.status_code == second.status_code == 303
    after = state_of(app, number)
    assert after["refunds"] == [1000] and after["refunded"] == 1000 and after["asks"] == [(ask_id, 1000, "approved")]
    assert number not in boss.get("/staff").text.split("Refunds asked for by agents", 1)[1]
    [ask_row] = audit_rows(app, "refund_request.ask")
    [approve_row] = audit_rows(app, "refund_request.approve")
    assert ask_row.username == "ann" and '"status": "pending"' in ask_row.after
    assert approve_row.username == "mei" and '"status": "pending"' in approve_row.before
    assert '"status": "approved"' in approve_row.after and '"refunded_cents": 1000' in approve_row.after


def test_a_rejected_request_leaves_the_order_unchanged(app):
    number = paid_order_number(app)
    agent = signed_in(app, "ann", "agent")
    assert post(agent, number, "refund-requests", amount="5", reason="Asked twice").status_code == 303
    [(ask_id, _, _)] = state_of(app, number)["asks"]
    boss = signed_in(app, "mei", "supervisor")
    no_reason = post(boss, number, "refund-requests/reject", refund_request=str(ask_id), reason=" ")
    assert no_reason.status_code == 303 and state_of(app, number)["asks"][0][2] == "pending"
    assert post(boss, number, "refund-requests/reject", refund_request=str(ask_id), reason="Used").status_code == 303
    after = state_of(app, number)
    assert after["asks"] == [(ask_id, 500, "rejected")] and after["refunds"] == [] and after["refunded"] == 0
    assert after["state"] == "paid"
    # A rejected request cannot be approved afterwards.
    assert post(boss, number, "refund-requests/approve", refund_request=str(ask_id)).status_code == 303
    assert state_of(app, number)["refunds"] == []
    [row] = audit_rows(app, "refund_request.reject")
    assert row.reason == "Used" and '"status": "rejected"' in row.after and '"status": "pending"' in row.before


def test_an_agent_cannot_decide_and_travellers_or_anonymous_never_reach_requests(app, client, sign_in):
    number = paid_order_number(app)
    agent = signed_in(app, "ann", "agent")
    assert post(agent, number, "refund-requests", amount="5", reason="Please").status_code == 303
    [(ask_id, _, _)] = state_of(app, number)["asks"]
    assert "Approve and refund" not in agent.get(f"/staff/orders/{number}").text
    assert post(agent, number, "refund-requests/approve", refund_request=str(ask_id)).status_code == 403
    assert post(agent, number, "refund-requests/reject", refund_request=str(ask_id), reason="x").status_code == 403
    sign_in()
    token = csrf_token(client.get("/cards").text)
    for path in ("refund-requests", "refund-requests/approve", "refund-requests/reject"):
        data = {"csrf_token": token, "refund_request": str(ask_id), "amount": "1", "reason": "x"}
        answer = client.post(f"/staff/orders/{number}/{path}", data=data)
        assert answer.status_code in (302, 303) and answer.headers["Location"].startswith("/staff/login")
        anonymous = app.test_client().post(f"/staff/orders/{number}/{path}", data=data)
        assert anonymous.status_code in (302, 303, 400)
    assert state_of(app, number)["asks"] == [(ask_id, 500, "pending")] and state_of(app, number)["refunds"] == []


def test_too_much_is_refused_when_asked_and_when_approved_after_a_refund_meanwhile(app):
    number = paid_order_number(app)
    total = state_of(app, number)
    agent = signed_in(app, "ann", "agent")
    from models import Order

    with app.app_context():
        order_total = db.session.scalars(db.select(Order).where(Order.number == number)).one().total_cents
    too_much = post(agent, number, "refund-requests", amount=f"{order_total / 100 + 1:.2f}", reason="All of it")
    assert too_much.status_code == 422 and "left to refund" in too_much.text
    assert state_of(app, number)["asks"] == [] and total["refunds"] == []
    assert audit_rows(app, "refund_request.ask") == []
    asked = post(agent, number, "refund-requests", amount=f"{order_total / 100:.2f}", reason="All of it")
    assert asked.status_code == 303
    [(ask_id, _, _)] = state_of(app, number)["asks"]

    boss = signed_in(app, "mei", "supervisor")
    with app.test_request_context():
        from models import StaffUser
        from rules.staff import staff_refunds

        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        mei = db.session.scalars(db.select(StaffUser).where(StaffUser.username == "mei")).one()
        staff_refunds.refund(order, "1", staff_refunds.new_request_id(), "Meanwhile", mei)
        db.session.commit()
    refused = post(boss, number, "refund-requests/approve", refund_request=str(ask_id))
    assert refused.status_code == 303
    after = state_of(app, number)
    assert after["refunds"] == [100] and after["refunded"] == 100 and after["asks"][0][2] == "pending"
    assert audit_rows(app, "refund_request.approve") == []
    assert "left to refund" in boss.get(f"/staff/orders/{number}").text


def test_a_request_of_another_order_or_an_unknown_one_is_not_found(app):
    number, other = paid_order_number(app), paid_order_number(app, phone="+85291234568", msisdn="+85261234568")
    agent = signed_in(app, "ann", "agent")
    assert post(agent, number, "refund-requests", amount="5", reason="Please").status_code == 303
    [(ask_id, _, _)] = state_of(app, number)["asks"]
    boss = signed_in(app, "mei", "supervisor")
    assert post(boss, other, "refund-requests/approve", refund_request=str(ask_id)).status_code == 404
    assert post(boss, number, "refund-requests/approve", refund_request="abc").status_code == 404
    assert state_of(app, number)["refunds"] == []
