"""The orders CSV adds up to the gateway's bill: a payment that came after the order was cancelled shows
what came in, its trade number and what went back; an order never paid carries no total as if sold.
Paid at the sandbox cashier over real HTTP, refunded through the sandbox gateway, against its own bill."""

import csv
import io
from datetime import date

from conftest import csrf_token, make_order
from test_late_payments import cancel, kept_cashier_url, pay_kept_url, refunds_of, run_jobs, wait_for
from test_reconciliation import pay, shop  # noqa: F401  (shop is a fixture)
from test_staff_refunds import staff_refund

from rules.payments import reconciliation
from rules.staff import exports

COLUMNS = ("number", "created", "state", "card", "plan", "currency", "total", "discount", "paid_in", "refunded")


def orders_rows(app, day: date) -> dict[str, dict[str, str]]:
    with app.app_context():
        text = "".join(exports.orders_csv(day, day, "en"))
    header, *rows = csv.reader(io.StringIO(text.removeprefix(exports.BOM), newline=""))
    assert header[8:10] == ["Paid in", "Refunded"] and header[11] == "Trade numbers"
    return {row[0]: {**dict(zip(COLUMNS, row, strict=False)), "method": row[10], "trades": row[11]} for row in rows}


def cents(text: str) -> int:
    return round(float(text or "0") * 100)


def test_the_orders_csv_adds_up_to_the_gateways_bill(shop, client):  # noqa: F811
    sold = pay(shop, client)  # HK$58.00
    partly_back = pay(shop, client, "hk-1d")
    staff_refund(shop, partly_back, "10.00")
    late = make_order(shop, plan_code="gba-30d")
    kept = kept_cashier_url(client, late)
    assert cancel(client, late).status_code == 303
    assert pay_kept_url(client, kept).status_code == 303  # paid after it was cancelled
    assert wait_for(lambda: run_jobs(shop) and [r.status for r in refunds_of(shop, late)] == ["done"])
    never_paid = make_order(shop, plan_code="gba-90d")
    page = client.get(f"/orders/{never_paid}")
    assert client.post(f"/orders/{never_paid}/cancel", data={"csrf_token": csrf_token(page.text)}).status_code == 303

    day = reconciliation.hk_today()
    rows = orders_rows(shop, day)
    (late_refund,) = refunds_of(shop, late)
    assert rows[late]["state"] == "Cancelled" and rows[late]["total"] == ""  # not sold
    assert (rows[late]["paid_in"], rows[late]["refunded"]) == ("168.00", "168.00")
    assert rows[late]["trades"] == late_refund.trade_no
    assert (rows[never_paid]["total"], rows[never_paid]["paid_in"], rows[never_paid]["refunded"]) == (
        "",
        "0.00",
        "0.00",
    )
    assert (rows[sold]["total"], rows[sold]["paid_in"], rows[sold]["method"]) == ("58.00", "58.00", "Alipay")
    assert rows[partly_back]["refunded"] == "10.00"

    with shop.app_context():
        bill = reconciliation.gateway_lines(day)
    bill_in = sum(line.cents for line in bill if line.kind == "payment")
    bill_out = sum(line.cents for line in bill if line.kind == "refund")
    assert sum(cents(row["paid_in"]) for row in rows.values()) == bill_in
    assert sum(cents(row["refunded"]) for row in rows.values()) == bill_out
    trades = {trade for row in rows.values() for trade in row["trades"].split()}
    assert trades == {line.trade_no for line in bill if line.kind == "payment"}
