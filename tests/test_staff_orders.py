"""Staff search, the order detail page, and the agents' actions: each audited, refused in the wrong state."""

import re
import uuid

import pytest
from conftest import csrf_token, make_order
from staff_support import audit_rows, make_staff, paid_order_number, staff_sign_in

from extensions import db
from models import AuditEntry, Order, SmsMessage, StaffNote


@pytest.fixture
def agent(app, client):
    make_staff(app, "alice", "agent")
    assert staff_sign_in(client, "alice").status_code == 303
    return client


def order_row(app, number):
    with app.app_context():
        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        _ = order.transitions, order.card
        db.session.expunge_all()
        return order


def act(client, number, action, **data):
    page = client.get(f"/staff/orders/{number}")
    return client.post(f"/staff/orders/{number}/{action}", data={"csrf_token": csrf_token(page.text), **data})


def counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (AuditEntry, SmsMessage, StaffNote)
        )


# --- search ----------------------------------------------------------------------------------


def test_search_finds_an_order_by_number_phone_and_trade_number_and_masks_numbers_in_the_list(app, agent):
    number = paid_order_number(app, msisdn="+85261234567")
    other = make_order(app, plan_code="gba-3d", phone="+85291234568", msisdn="+85261239999")
    trade_no = order_row(app, number).trade_no
    for text in (number, number.lower().replace("-", ""), "6123 4567", "+85261234567", trade_no):
        page = agent.get("/staff", query_string={"q": text})
        assert page.status_code == 200
        results = page.text.split('id="results"')[1]  # the box above echoes what was typed
        assert number in results and other not in results, text
        assert "+852 ****4567" in results and "61234567" not in results.replace(" ", "")
        iccid = order_row(app, number).card.iccid
        assert iccid not in page.text and "•••• " + iccid[-4:] in results


def test_search_as_you_type_answers_the_results_fragment_only(app, agent):
    number = paid_order_number(app)
    fragment = agent.get("/staff", query_string={"q": number}, headers={"HX-Request": "true", "HX-Target": "results"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="results"') and number in fragment.text
    assert "<html" not in fragment.text
    page = agent.get("/staff", query_string={"q": number})  # the URL in the address bar reloads the same
    assert "<html" in page.text and f'value="{number}"' in page.text and number in page.text


def test_search_filters_by_state_and_hong_kong_day_newest_first_with_pages(app, agent):
    numbers = [make_order(app, plan_code=code) for code in ("gba-3d", "hk-1d", "gba-7d")]
    with app.app_context():
        rows = db.session.scalars(db.select(Order).where(Order.number.in_(numbers))).all()
        for i, row in enumerate(sorted(rows, key=lambda r: numbers.index(r.number))):
            # 16:30 UTC on 1 March is 00:30 on 2 March in Hong Kong
            row.created_at = row.created_at.replace(year=2026, month=3, day=1, hour=16, minute=30 + i)
        db.session.commit()
    page = agent.get("/staff", query_string={"from": "2026-03-02", "to": "2026-03-02", "state": "pending_payment"})
    assert listed(page) == list(reversed(numbers))
    assert listed(agent.get("/staff", query_string={"from": "2026-03-01", "to": "2026-03-01"})) == []
    assert listed(agent.get("/staff", query_string={"from": "2026-03-02", "state": "paid"})) == []
    first = agent.get("/staff", query_string={"from": "2026-03-02", "page": "1"})
    assert listed(first) == list(reversed(numbers))


def listed(page) -> list[str]:
    return re.findall(r">(RR\d{6}-\w{6})</a>", page.text)


@pytest.mark.parametrize(
    "text",
    [
        "' OR 1=1 --",
        "RR'; DROP TABLE orders; --",
        "<script>alert(1)</script>",
        "x" * 10_000,
        "１２３",
        "%",
        "_",
        "RR261128-\x00ABCDE",
        "9123\x004567",
        "T\x00",
    ],
)
def test_bad_search_text_is_answered_plainly_and_changes_nothing(app, agent, text):
    number = paid_order_number(app)
    before = counts(app)
    page = agent.get("/staff", query_string={"q": text, "page": "²", "from": "not a date", "state": "x"})
    # A NUL byte anywhere in a request is refused before any view runs (web/request_guard.py).
    assert page.status_code == (400 if "\x00" in text else 200)
    assert "<script>alert" not in page.text and number not in page.text
    assert counts(app) == before
    assert order_row(app, number).state == "paid"


# --- the order page ----------------------------------------------------------------------------


def test_order_page_shows_money_gateway_notifications_timeline_and_sms_with_masked_numbers(app, agent):
    number = paid_order_number(app)
    order = order_row(app, number)
    with app.app_context():
        from models import PaymentNotification

        db.session.add(PaymentNotification(out_trade_no=number, body="trade_status=TRADE_SUCCESS&x=1", outcome="paid"))
        db.session.commit()
    page = agent.get(f"/staff/orders/{number}")
    assert page.status_code == 200
    assert order.trade_no in page.text and "trade_status=TRADE_SUCCESS" in page.text
    assert "Waiting for payment" in page.text and "Paid" in page.text  # the timeline
    assert "+852 ****4567" in page.text and order.card.msisdn not in page.text and order.card.iccid not in page.text
    assert f"order {number} paid" in page.text  # the SMS sent
    assert agent.get("/staff/orders/RR000000-NOPE00").status_code == 404
    assert agent.get("/staff/orders/" + "x" * 5000).status_code == 404
    assert agent.get("/staff/orders/RR%00").status_code == 400  # a NUL byte: refused before any view


def test_reveal_needs_a_reason_and_is_audited(app, agent):
    number = paid_order_number(app)
    order = order_row(app, number)
    refused = act(agent, number, "reveal", reason="")
    assert refused.status_code == 422 and order.card.msisdn not in refused.text
    assert audit_rows(app) == []
    shown = act(agent, number, "reveal", reason="caller confirmed ID at the counter")
    assert shown.status_code == 200 and order.card.msisdn in shown.text and order.card.iccid in shown.text
    (entry,) = audit_rows(app, "reveal")
    assert entry.username == "alice" and entry.role == "agent" and entry.order_id == order.id
    assert entry.reason == "caller confirmed ID at the counter"
    assert order.card.msisdn not in (entry.after or "")  # the log says what was shown, not the number


def test_resend_sends_once_per_click_however_often_the_click_arrives(app, agent):
    number = paid_order_number(app)
    request_id = uuid.uuid4().hex
    before = counts(app)
    for _ in range(3):
        response = act(agent, number, "resend", kind="confirmation", request_id=request_id, reason="lost the SMS")
        assert response.status_code == 303
    assert counts(app)[:2] == (before[0] + 1, before[1] + 1)
    receipt = act(agent, number, "resend", kind="receipt", request_id=request_id)
    assert receipt.status_code == 303
    with app.app_context():
        bodies = [m.body for m in db.session.scalars(db.select(SmsMessage).order_by(SmsMessage.id))]
    assert f"/receipts/{number}/" in bodies[-1] and f"order {number} paid" in bodies[-2]
    entries = audit_rows(app)
    assert [e.action for e in entries] == ["resend_confirmation", "resend_receipt"]
    assert entries[0].reason == "lost the SMS"


def test_resend_of_an_unpaid_order_is_refused_and_sends_nothing(app, agent):
    number = make_order(app)
    before = counts(app)
    response = act(agent, number, "resend", kind="confirmation", request_id=uuid.uuid4().hex)
    assert response.status_code == 303
    assert "nothing to resend" in agent.get(response.headers["Location"]).text
    assert counts(app) == before
    paid = paid_order_number(app, msisdn="+85261230000", phone="+85291230000")
    before = counts(app)
    forged = act(agent, paid, "resend", kind="x", request_id="1")
    assert forged.status_code == 303 and counts(app) == before


def test_retry_adds_the_data_and_the_timeline_names_the_agent(app, agent):
    number = paid_order_number(app, state="needs_attention")
    response = act(agent, number, "retry", reason="carrier back up")
    assert response.status_code == 303
    order = order_row(app, number)
    assert order.state == "fulfilled"
    last = order.transitions[-1]
    assert last.cause == "staff" and last.staff_id is not None
    (entry,) = audit_rows(app, "retry_fulfilment")
    assert '"needs_attention"' in entry.before and '"fulfilled"' in entry.after and entry.reason == "carrier back up"
    assert "alice" in agent.get(f"/staff/orders/{number}").text


def test_retry_of_an_order_in_the_wrong_state_changes_nothing(app, agent):
    number = paid_order_number(app, state="fulfilled")
    before = counts(app)
    response = act(agent, number, "retry")
    assert response.status_code == 303
    assert "Only a paid order" in agent.get(response.headers["Location"]).text
    assert order_row(app, number).state == "fulfilled" and counts(app) == before


def test_mark_added_needs_the_carrier_reference_and_only_for_orders_to_add_by_hand(app, agent):
    number = paid_order_number(app, state="to_add_by_hand")
    assert act(agent, number, "added", reference="").status_code == 303
    assert order_row(app, number).state == "to_add_by_hand" and audit_rows(app) == []
    assert act(agent, number, "added", reference="CMHK-42-XY", reason="added on the carrier portal").status_code == 303
    order = order_row(app, number)
    assert order.state == "fulfilled" and "CMHK-42-XY" in order.transitions[-1].details
    (entry,) = audit_rows(app, "mark_added")
    assert "CMHK-42-XY" in entry.after and '"to_add_by_hand"' in entry.before
    again = act(agent, number, "added", reference="CMHK-42-XY")
    assert again.status_code == 303 and len(audit_rows(app)) == 1


def test_a_note_is_kept_escaped_and_audited_and_a_10kb_note_is_refused(app, agent):
    number = paid_order_number(app)
    assert act(agent, number, "notes", body="Traveller says <b>no data</b> since Tuesday").status_code == 303
    page = agent.get(f"/staff/orders/{number}")
    assert "&lt;b&gt;no data&lt;/b&gt;" in page.text
    (entry,) = audit_rows(app, "add_note")
    assert "no data" in entry.after
    too_long = act(agent, number, "notes", body="x" * 10_000)
    assert too_long.status_code == 422 and "2000" in too_long.text
    assert len(audit_rows(app)) == 1


def test_control_characters_in_a_note_reason_or_reference_are_dropped_not_a_server_error(app, agent):
    number = paid_order_number(app, state="to_add_by_hand")
    assert act(agent, number, "notes", body="line \x00 zero").status_code == 400  # NUL: refused before any view
    assert act(agent, number, "notes", body="line one\r\nline\x07 two").status_code == 303
    assert act(agent, number, "added", reference="REF\x1b-1", reason="why\x07").status_code == 303
    assert act(agent, number, "reveal", reason="\x07\x1b").status_code == 422
    with app.app_context():
        assert db.session.scalars(db.select(StaffNote.body)).one() == "line one\nline two"
    assert "REF-1" in audit_rows(app, "mark_added")[0].after
    assert staff_sign_in(app.test_client(), "ali\x07ce", password="x\x07").status_code == 422


def test_an_action_without_the_csrf_token_is_refused(app, agent):
    number = paid_order_number(app)
    response = agent.post(f"/staff/orders/{number}/notes", data={"body": "no token"})
    assert response.status_code == 400 and audit_rows(app) == []


# --- the audit log -----------------------------------------------------------------------------


def test_audit_rows_cannot_be_updated_or_deleted(app, agent):
    from sqlalchemy import delete, update

    number = paid_order_number(app)
    act(agent, number, "notes", body="kept forever")
    with app.app_context():
        entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "add_note")).one()
        entry.reason = "rewritten"
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
        entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "add_note")).one()
        db.session.delete(entry)
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
        with pytest.raises(PermissionError):
            db.session.execute(update(AuditEntry).values(reason="bulk"))
        with pytest.raises(PermissionError):
            db.session.execute(delete(AuditEntry))
        db.session.rollback()
    (kept,) = audit_rows(app)
    assert kept.reason is None and kept.action == "add_note"


def test_supervisors_see_the_audit_log(app, client):
    secret = make_staff(app, "sam", "supervisor")
    staff_sign_in(client, "sam", secret)
    number = paid_order_number(app)
    act(client, number, "notes", body="seen in the log")
    page = client.get("/staff/audit")
    assert page.status_code == 200 and "add_note" in page.text and number in page.text


def test_every_query_to_the_gateway_is_logged_and_shown_on_the_order_page(app, agent, monkeypatch):
    from gateways import alipay_gateway
    from models import GatewayCall
    from rules.payments import payment_events

    number = make_order(app)
    monkeypatch.setattr(alipay_gateway, "query", lambda out_trade_no: None)
    with app.test_request_context():
        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        assert payment_events.apply_query(order, "query_job") == "not_at_gateway"
        db.session.commit()
        (call,) = db.session.scalars(db.select(GatewayCall)).all()
        assert (call.api, call.cause, call.outcome, call.order_id) == (
            "trade.query",
            "query_job",
            "not_at_gateway",
            order.id,
        )
    page = agent.get(f"/staff/orders/{number}")
    assert "trade.query" in page.text and "not_at_gateway" in page.text
