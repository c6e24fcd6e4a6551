"""Two supervisors decide the same refund request at the same moment (one approves, one rejects): exactly
one decision is recorded and audited, the money moves only if the approval won, and the other supervisor
is told plainly who decided first. Released together by a barrier, on SQLite and on PostgreSQL, five times."""

import threading
from concurrent.futures import ThreadPoolExecutor

from conftest import csrf_token
from staff_support import audit_rows, paid_order_number
from test_staff_refund_requests import post, signed_in, state_of

from extensions import db

ROUNDS = 5


def ask_for_a_refund(app, agent, number) -> str:
    assert post(agent, number, "refund-requests", amount="5", reason="Card never worked").status_code == 303
    [(ask_id, _, _status)] = state_of(app, number)["asks"]
    return str(ask_id)


def release_together(clients_and_posts):
    """Each (client, url, data) is sent at the same moment, from its own thread; returns the responses."""
    start = threading.Barrier(len(clients_and_posts))

    def send(job):
        client, url, data = job
        start.wait(timeout=10)
        return client.post(url, data=data)

    with ThreadPoolExecutor(max_workers=len(clients_and_posts)) as pool:
        return list(pool.map(send, clients_and_posts))


def test_an_approval_and_a_rejection_at_the_same_moment_make_one_decision(app):
    agent = signed_in(app, "ann", "agent")
    approver, rejecter = signed_in(app, "mei", "supervisor"), signed_in(app, "raj", "supervisor")
    for round_ in range(ROUNDS):
        number = paid_order_number(app, phone=f"+8529123456{round_}", msisdn=f"+8526123456{round_}")
        ask_id = ask_for_a_refund(app, agent, number)
        page = f"/staff/orders/{number}"
        approve = (approver, f"{page}/refund-requests/approve", {"refund_request": ask_id})
        reject = (rejecter, f"{page}/refund-requests/reject", {"refund_request": ask_id, "reason": "Data was used"})
        for client, _url, data in (approve, reject):
            data["csrf_token"] = csrf_token(client.get(page).text)
        answers = release_together([approve, reject])
        assert [a.status_code for a in answers] == [303, 303]

        after = state_of(app, number)
        [(_, _, status)] = after["asks"]
        decided = [
            row.action
            for row in audit_rows(app, "refund_request.approve") + audit_rows(app, "refund_request.reject")
            if f'"request": {ask_id},' in row.after
        ]
        assert decided == [{"approved": "refund_request.approve", "rejected": "refund_request.reject"}[status]]
        if status == "approved":
            assert after["refunds"] == [500] and after["refunded"] == 500
            loser, told = rejecter, "Another supervisor already approved this request."
        else:
            assert status == "rejected" and after["refunds"] == [] and after["refunded"] == 0
            loser, told = approver, "Another supervisor already rejected this request."
        loser_page = loser.get(page).text
        assert told in loser_page
        assert "Refunded HK$" not in loser_page and "The refund request is rejected." not in loser_page


def test_a_staff_cancel_that_a_payment_overtakes_cancels_nothing_and_says_so(app, live_server, monkeypatch):
    """The payment lands between the gateway's "not paid" and the cancel: the cancel names pending_payment,
    so it changes nothing, and the supervisor reads what the order is now."""
    from conftest import load_order, make_order

    from gateways import alipay_gateway
    from models import Order
    from rules.payments import payment_events

    number = make_order(app)
    boss = signed_in(app, "mei", "supervisor")
    token = csrf_token(boss.get(f"/staff/orders/{number}").text)
    close = alipay_gateway.close

    def paid_meanwhile(out_trade_no):
        def pay():
            with app.test_request_context():
                order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
                assert payment_events.apply_paid(order, "2026120322001000000000000001", "notification", {}) == "paid"
                db.session.commit()

        with ThreadPoolExecutor(max_workers=1) as pool:  # another connection, as a notification would be
            pool.submit(pay).result(timeout=20)
        return close(out_trade_no)

    monkeypatch.setattr(alipay_gateway, "close", paid_meanwhile)
    answer = boss.post(f"/staff/orders/{number}/cancel", data={"csrf_token": token, "reason": "Asked by phone"})
    assert answer.status_code == 303
    told = boss.get(f"/staff/orders/{number}").text
    assert "The order changed meanwhile and is Paid now: nothing was cancelled." in told
    assert "The order is cancelled." not in told
    assert load_order(app, number).state in ("paid", "fulfilled")
    assert audit_rows(app, "order.cancel") == []
