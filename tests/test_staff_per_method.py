"""Staff work per payment method: money goes back the way it came, the order file names each provider's
notifications and calls, reconciliation compares each provider's bill with our ledger of that method,
and the CSV and the sales split by method. WeChat Pay and cards are small fakes registered under their
real names (the real ones are built elsewhere); Alipay is the sandbox gateway over real HTTP."""

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
from conftest import csrf_token, last_sms, load_order, make_order, run_jobs
from sqlalchemy import select
from staff_support import make_staff, staff_sign_in
from test_exports_and_sales import order_at
from test_payment_methods import MemoryPay, order_of_method
from test_reconciliation import back_a_day, pay, shop, today  # noqa: F401  (shop is a fixture)
from test_staff_money_pages import ask_refund, confirm_data

import jobs
from extensions import db
from gateways import providers
from gateways.payment_methods import BillLine, BillNotReady, GatewayError
from models import GatewayCall, Order, Refund, utcnow
from rules.payments import reconciliation
from rules.staff import exports
from sandbox.models import SandboxTrade

TRAVELLER = "+85291234567"


class FakeMethod(MemoryPay):
    """A payment method under a real method's name, with a bill of the day staff can set (or make late)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.bill: list[BillLine] = []
        self.bill_error: Exception | None = None

    def day_bill(self, day: date) -> list[BillLine]:
        if self.bill_error is not None:
            raise self.bill_error
        return list(self.bill)


@pytest.fixture
def wechat(monkeypatch):
    method = FakeMethod("wechat")
    monkeypatch.setitem(providers.PROVIDERS, "wechat", method)
    return method


@pytest.fixture
def stripe(monkeypatch):
    method = FakeMethod("stripe")
    monkeypatch.setitem(providers.PROVIDERS, "stripe", method)
    return method


def notify(client, method: str, number: str, trade: str, cents: int):
    """A signed notification of `method`, posted to its notify URL as the provider does."""
    data = {"order": number, "trade": trade, "cents": str(cents), "signed": "yes"}
    return client.post(f"/payments/{method}/notify", data=data)


def paid_by(app, client, method: str, trade: str, **make) -> str:
    number = make_order(app, **make)
    assert notify(client, method, number, trade, load_order(app, number).total_cents).status_code == 200
    assert load_order(app, number).payment_method == method
    return number


def staff(app, client, role: str) -> None:
    secret = make_staff(app, "mei", role)
    assert staff_sign_in(client, "mei", secret).status_code == 303


def refunds_of(app, number: str) -> list[Refund]:
    with app.app_context():
        rows = list(db.session.scalars(select(Refund).join(Order).where(Order.number == number)))
        db.session.expunge_all()
        return rows


def csv_rows(text: str) -> list[dict[str, str]]:
    header, *rows = csv.reader(io.StringIO(text.removeprefix(exports.BOM), newline=""))
    return [dict(zip(header, row, strict=True)) for row in rows]


def gateway_section(html: str) -> str:
    return html.split('id="h-gateway"', 1)[1].split("</section>", 1)[0]


def test_a_late_payment_by_wechat_on_an_order_that_says_alipay_is_refunded_at_wechat(
    app, client, live_server, sign_in, wechat
):
    sign_in()
    number = make_order(app)
    order_of_method(app, number, "alipay")  # the traveller chose Alipay, then cancelled
    page = client.get(f"/orders/{number}")
    assert client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(page.text)}).status_code == 303
    total = load_order(app, number).total_cents

    answer = notify(client, "wechat", number, "WX-LATE-1", total)  # paid all the same, by WeChat Pay
    assert (answer.status_code, answer.text) == (200, '{"ok": true}')
    run_jobs(app)

    (refund,) = refunds_of(app, number)
    assert (refund.method, refund.status, refund.amount_cents) == ("wechat", "done", total)
    assert wechat.refunded == {"WX-LATE-1-late": total} and ("refund", number) in wechat.calls
    with app.app_context():  # Alipay never saw a trade of it, so was never asked to refund one
        assert db.session.scalars(select(SandboxTrade).where(SandboxTrade.out_trade_no == number)).first() is None
    sms = last_sms(app, TRAVELLER)
    assert "refunded it in full, back to what you paid with: WeChat Pay." in sms and "Alipay" not in sms

    staff(app, client, "supervisor")
    day = reconciliation.hk_today().isoformat()
    orders = csv_rows(client.get(f"/staff/export/orders.csv?from={day}&to={day}").text)
    (row,) = [row for row in orders if row["Order number"] == number]
    amount = f"{total // 100}.{total % 100:02d}"
    assert (row["Paid in"], row["Paid in: WeChat Pay"], row["Paid in: Alipay"]) == (amount, amount, "")
    (back,) = csv_rows(client.get(f"/staff/export/refunds.csv?from={day}&to={day}").text)
    assert (back["Method"], back["Trade number"]) == ("WeChat Pay", "WX-LATE-1")
    file = gateway_section(client.get(f"/staff/orders/{number}").text)
    assert re.search(r'<span class="method">WeChat Pay</span> <span class="tag">[^<]*paid after', file), file
    assert '<span class="method">WeChat Pay</span> paid after it was cancelled' in file  # the refund's way back


def test_a_staff_refund_of_a_card_order_goes_back_to_the_card(app, client, stripe):
    number = paid_by(app, client, "stripe", "pi_card_1")
    staff(app, client, "supervisor")
    token, shown = ask_refund(client, number, "10")
    assert client.post(f"/staff/orders/{number}/refund", data=confirm_data(token, shown)).status_code == 303

    (refund,) = refunds_of(app, number)
    assert (refund.method, refund.status, refund.trade_no) == ("stripe", "done", "pi_card_1")
    assert stripe.refunded == {refund.out_request_no: 1000}
    sms = last_sms(app, TRAVELLER)
    assert "HK$10.00" in sms and sms.endswith("back to what you paid with: Credit or debit card.")
    file = gateway_section(client.get(f"/staff/orders/{number}").text)
    assert '<span class="method">Credit or debit card</span>' in file


def test_a_refund_whose_method_is_not_here_waits_and_is_never_sent_to_another(app, client, stripe, monkeypatch):
    number = paid_by(app, client, "stripe", "pi_card_2")
    monkeypatch.delitem(providers.PROVIDERS, "stripe")  # switched off in this deployment meanwhile
    staff(app, client, "supervisor")
    token, shown = ask_refund(client, number, "10")
    assert client.post(f"/staff/orders/{number}/refund", data=confirm_data(token, shown)).status_code == 303
    (refund,) = refunds_of(app, number)
    assert (refund.method, refund.status) == ("stripe", "requested") and "not available" in refund.last_error
    assert stripe.refunded == {}


def test_a_cancel_while_wechat_pay_is_down_names_wechat_pay_and_changes_nothing(app, client, wechat, monkeypatch):
    number = make_order(app)
    order_of_method(app, number, "wechat")

    def down(out_trade_no):
        raise GatewayError("WeChat Pay timed out")

    monkeypatch.setattr(wechat, "close", down)
    staff(app, client, "supervisor")
    page = client.get(f"/staff/orders/{number}")
    answer = client.post(
        f"/staff/orders/{number}/cancel", data={"csrf_token": csrf_token(page.text), "reason": "Asked by phone"}
    )
    assert answer.status_code == 303 and load_order(app, number).state == "pending_payment"
    shown = client.get(answer.headers["Location"]).text
    assert "WeChat Pay could not be reached. Nothing changed; try again." in shown and "Alipay" not in shown


def test_the_order_file_names_the_provider_of_each_notification_and_query(app, client, wechat):
    number = make_order(app)
    order_of_method(app, number, "wechat")
    with app.app_context():
        db.session.execute(db.update(Order).values(created_at=utcnow() - jobs.QUERY_AFTER - jobs.QUERY_AFTER))
        db.session.commit()
    assert run_jobs(app)["queried"] == 1  # WeChat Pay has no such trade yet
    assert notify(client, "wechat", number, "WX-2", load_order(app, number).total_cents).status_code == 200
    with app.app_context():
        assert db.session.scalars(select(GatewayCall.provider)).all() == ["wechat"]

    staff(app, client, "agent")
    file = gateway_section(client.get(f"/staff/orders/{number}").text)
    assert '<span class="method">WeChat Pay</span> trade.query' in file
    assert re.search(r'<span class="method">WeChat Pay</span> <span class="tag">paid</span>', file)
    assert "Alipay" not in file


def test_each_providers_bill_is_compared_with_its_own_orders_and_a_late_bill_is_said_apart(
    shop,  # noqa: F811  (the fixture imported above)
    client,
    wechat,
    stripe,
):
    pay(shop, client)  # by Alipay, at the sandbox cashier
    by_wechat = paid_by(shop, client, "wechat", "WX-3", plan_code="hk-1d")
    by_card = paid_by(shop, client, "stripe", "pi_card_3", plan_code="gba-30d")
    wechat_cents = load_order(shop, by_wechat).total_cents
    wechat.bill = [BillLine("payment", "WX-3", by_wechat, None, wechat_cents - 100, utcnow())]  # 1.00 short
    stripe.bill_error = BillNotReady("Stripe's balance report is not ready")

    with shop.app_context():
        row = reconciliation.run(today())
        bills = {bill.provider: (bill.status, bill.matched_count, bill.last_error) for bill in row.bills}
        differences = [(d.provider, d.kind, d.order_number, d.our_cents, d.their_cents) for d in row.differences]
        assert row.status == "not_ready"  # asked again later, for Stripe's sake
    assert bills == {
        "alipay": ("matched", 1, None),  # the WeChat Pay and card orders are not missing from Alipay's bill
        "wechat": ("differences", 0, None),
        "stripe": ("not_ready", 0, "Stripe's balance report is not ready"),
    }
    assert differences == [("wechat", "amount_differs", by_wechat, wechat_cents, wechat_cents - 100)]

    staff(shop, client, "supervisor")
    page = client.get(f"/staff/reconciliation?day={today().isoformat()}").text
    sections = re.split(r'<h3 class="recon-provider">', page)[1:]
    assert [section.split(" <span", 1)[0] for section in sections] == ["Alipay", "WeChat Pay", "Credit or debit card"]
    assert "matched" in sections[0] and "Everything matched." in sections[0]
    assert by_wechat in sections[1] and "Amounts differ" in sections[1]
    assert "bill not ready" in sections[2] and "Stripe&#39;s balance report is not ready" in sections[2]

    stripe.bill_error = None
    stripe.bill = [BillLine("payment", "pi_card_3", by_card, None, load_order(shop, by_card).total_cents, utcnow())]
    wechat.bill = [BillLine("payment", "WX-3", by_wechat, None, wechat_cents, utcnow())]
    with shop.app_context():
        row = reconciliation.run(today())
        assert (row.status, row.matched_count, row.differences) == ("matched", 3, [])
        assert {bill.provider: bill.status for bill in row.bills} == dict.fromkeys(
            ("alipay", "wechat", "stripe"), "matched"
        )


def test_the_command_says_each_bill_and_fails_while_one_is_not_ready(shop, client, wechat):  # noqa: F811
    number = pay(shop, client)
    back_a_day(shop)
    wechat.bill_error = BillNotReady("WeChat Pay's bill of that day is not ready")
    yesterday = (today() - timedelta(days=1)).isoformat()
    result = shop.test_cli_runner().invoke(args=["reconcile", yesterday])
    assert result.exit_code == 1
    assert "  alipay: matched\n" in result.output and f"order {number}" not in result.output
    assert "  wechat: not_ready: WeChat Pay's bill of that day is not ready\n" in result.output
    wechat.bill_error = None
    again = shop.test_cli_runner().invoke(args=["reconcile", yesterday])
    assert again.exit_code == 0 and "1 matched, 0 differences" in again.output and "wechat: matched" in again.output


def test_the_sales_page_splits_each_day_by_method_in_its_table_and_chart(app, client):
    paid = datetime(2026, 11, 20, 4, 0)  # moved to today below: the page shows the last 30 days
    order_at(app, 1, paid, paid=paid, payment_method="alipay", trade_no="A1")  # HK$58.00
    by_wechat = order_at(app, 2, paid, paid=paid, plan="hk-1d", payment_method="wechat", trade_no="W1")
    order_at(app, 3, paid, paid=paid, payment_method="counter:cash")
    order_at(app, 4, paid, paid=paid, payment_method="counter:card")
    wechat_cents = load_order(app, by_wechat).total_cents
    with app.app_context():
        db.session.execute(db.update(Order).where(Order.paid_at.is_not(None)).values(paid_at=utcnow()))
        db.session.commit()

    printed = app.test_cli_runner().invoke(args=["money", "sales", "--days", "1"]).output
    assert printed.rstrip().endswith(f"alipay 58.00, wechat {wechat_cents / 100:.2f}, counter 116.00")

    staff(app, client, "supervisor")
    page = client.get("/staff/sales").text
    wechat = f"HK${wechat_cents // 100}.{wechat_cents % 100:02d}"
    split = page.split("<caption>Sold by payment method</caption>", 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', split) == [
        ("Alipay", "HK$58.00"),
        ("WeChat Pay", wechat),
        ("At the counter", "HK$116.00"),  # cash and the card terminal together
    ]
    chart = page.split('class="chart">', 1)[1].split("</svg>", 1)[0]
    assert f"(Alipay HK$58.00, WeChat Pay {wechat}, At the counter HK$116.00)</title>" in chart
    assert "By payment method: Alipay HK$58.00" in chart
    legend = page.split('<ul class="chart-legend">', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r"</svg>([^<]+)</li>", legend) == ["Alipay", "WeChat Pay", "At the counter", "Refunds"]
