"""Daily reconciliation against the sandbox gateway's trade bill, over real HTTP with the real SDK.

Payments are made at the sandbox cashier and refunds through the gateway; differences are planted
by editing a SandboxTrade (the gateway's side) or an Order / Refund (ours).
"""

import io
import threading
import zipfile
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from conftest import make_order
from sqlalchemy import select, update
from test_payment_recovery import pay_at_cashier

from extensions import db
from gateways import alipay_bill, alipay_gateway
from models import Order, Reconciliation, Refund, utcnow
from rules.payments import reconciliation, refunds
from sandbox import alipay_bills
from sandbox.models import SandboxTrade

HOUR = timedelta(hours=1)


@pytest.fixture
def shop(app, client, live_server, sign_in):
    """A signed-in traveller and a sandbox gateway whose bill for today is ready at once."""
    app.config["ALIPAY_SANDBOX_BILL_DELAY_HOURS"] = -24
    sign_in()
    return app


def pay(app, client, plan_code="gba-3d") -> str:
    """An order paid at the sandbox cashier (its return page asks the gateway); its number."""
    number = make_order(app, plan_code=plan_code)
    back = urlsplit(pay_at_cashier(client, number, "drop"))
    client.get(f"{back.path}?{back.query}")
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        assert order.trade_no and order.paid_at, order.state
    return number


def refund(app, number: str, cents: int, request_no: str) -> None:
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        row = Refund(order_id=order.id, out_request_no=request_no, amount_cents=cents, reason="staff")
        db.session.add(row)
        db.session.commit()  # as the rules do: recorded first, then asked of the gateway (SQLite has one writer)
        assert refunds.attempt(refunds.claim_next(row.id))
        db.session.commit()


def today() -> datetime:
    return reconciliation.hk_today()


def run(app, day=None):
    with app.app_context():
        row = reconciliation.run(day or today())
        differences = sorted(
            (d.kind, d.order_number, d.trade_no, d.refund_no, d.our_cents, d.their_cents) for d in row.differences
        )
        return row.status, row.matched_count, differences, row.last_error


def trade_of(number: str) -> SandboxTrade:
    return db.session.scalars(select(SandboxTrade).where(SandboxTrade.out_trade_no == number)).one()


def back_a_day(app) -> None:
    """Everything both sides recorded moves to yesterday (Hong Kong)."""
    day = timedelta(days=1)
    with app.app_context():
        # Row by row: SQLite does no date arithmetic in SQL.
        for order in db.session.scalars(select(Order)):
            order.created_at, order.paid_at = order.created_at - day, order.paid_at and order.paid_at - day
        for row in db.session.scalars(select(Refund)):
            row.created_at, row.done_at = row.created_at - day, row.done_at and row.done_at - day
        for trade in db.session.scalars(select(SandboxTrade)):
            trade.created_at -= day
            trade.paid_at = trade.paid_at and trade.paid_at - day
            lines = []
            for line in trade.refund_log.splitlines():
                request_no, cents, at = line.split(" ")
                lines.append(f"{request_no} {cents} {(datetime.fromisoformat(at) - day).isoformat()}\n")
            trade.refund_log = "".join(lines)
        db.session.commit()


def test_a_day_whose_payments_and_refunds_all_agree_matches(shop, client):
    first, second = pay(shop, client), pay(shop, client, "hk-1d")
    refund(shop, first, 1000, "RF-PART-1")
    status, matched, differences, _ = run(shop)
    assert (status, matched, differences) == ("matched", 3, [])
    with shop.app_context():
        row = reconciliation.for_day(today())
        assert (row.gateway_count, row.ours_count) == (3, 3) and second


def test_each_kind_of_difference_is_listed(shop, client):
    changed, lost, kept = pay(shop, client), pay(shop, client, "hk-1d"), pay(shop, client, "gba-1d")
    refund(shop, kept, 500, "RF-GONE")
    with shop.app_context():
        trade_of(changed).total_amount = "1.00"  # the gateway took another amount
        lost_trade = trade_of(lost).trade_no
        db.session.execute(update(Order).where(Order.number == lost).values(paid_at=None, trade_no=None))
        trade = trade_of(kept)
        trade.refund_log = ""  # the gateway never made this refund
        kept_trade = trade.trade_no
        changed_order = db.session.scalars(select(Order).where(Order.number == changed)).one()
        changed_trade, changed_cents = changed_order.trade_no, changed_order.total_cents
        db.session.commit()
    lost_cents = 1800  # hk-1d
    status, matched, differences, _ = run(shop)
    assert status == "differences" and matched == 1  # kept's payment
    assert differences == sorted(
        [
            ("amount_differs", changed, changed_trade, None, changed_cents, 100),
            ("missing_in_ours", lost, lost_trade, None, None, lost_cents),
            ("missing_at_gateway", kept, kept_trade, "RF-GONE", 500, None),
        ]
    )


def test_a_payment_we_recorded_that_the_gateway_never_saw(shop, client):
    pay(shop, client)
    number = make_order(shop, plan_code="hk-1d")
    with shop.app_context():
        ghost = "2026112822009999999999999999"
        db.session.execute(
            update(Order).where(Order.number == number).values(state="paid", trade_no=ghost, paid_at=utcnow())
        )
        db.session.commit()
    status, matched, differences, _ = run(shop)
    assert (status, matched) == ("differences", 1)
    assert differences == [("missing_at_gateway", number, ghost, None, 1800, None)]


def test_a_second_run_for_the_same_day_replaces_the_result(shop, client):
    number = pay(shop, client)
    with shop.app_context():
        trade_of(number).total_amount = "1.00"
        db.session.commit()
    first = run(shop)
    again = run(shop)
    assert first[:3] == again[:3] and len(again[2]) == 1
    with shop.app_context():
        trade_of(number).total_amount = (
            db.session.scalars(select(Order).where(Order.number == number)).one().total_cents
        )
        trade_of(number).total_amount = alipay_gateway.cents_to_amount(int(trade_of(number).total_amount))
        db.session.commit()
    assert run(shop)[:3] == ("matched", 1, [])
    with shop.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Reconciliation)) == 1
        assert reconciliation.for_day(today()).differences == []


def test_a_bill_not_ready_is_asked_for_again_later_by_the_job(shop, client):
    pay(shop, client)
    back_a_day(shop)
    shop.config["ALIPAY_SANDBOX_BILL_DELAY_HOURS"] = 1000  # the gateway is late with its bill
    ten_am = datetime.combine(today(), datetime.min.time()) + timedelta(hours=2)  # 10:00 in Hong Kong, in UTC
    with shop.app_context():
        assert reconciliation.run_due(now=ten_am - 2 * HOUR) is None  # before 09:00: not yet
        row = reconciliation.run_due(now=ten_am)
        assert row.status == "not_ready" and row.day == today() - timedelta(days=1)
        assert reconciliation.run_due(now=ten_am) is None  # not asked again at once
        shop.config["ALIPAY_SANDBOX_BILL_DELAY_HOURS"] = 0
        row.ran_at -= reconciliation.RETRY_AFTER
        db.session.commit()
        row = reconciliation.run_due(now=ten_am)
        assert (row.status, row.matched_count, row.attempts) == ("matched", 1, 2)
        assert reconciliation.run_due(now=ten_am) is None  # done: never run twice


def test_a_download_url_works_once_and_not_after_it_expires(shop, client, monkeypatch):
    pay(shop, client)
    with shop.app_context():
        url = alipay_gateway.bill_download_url(today().isoformat())
        assert alipay_bill.parse(alipay_bill.download(url))
        with pytest.raises(alipay_bill.BillUnreadable, match="HTTP 404"):
            alipay_bill.download(url)  # used
        monkeypatch.setattr(alipay_bills, "BILL_URL_SECONDS", -1)  # every URL expired on arrival
        status, _, _, error = run(shop)
    assert status == "failed" and "HTTP 404" in error
    monkeypatch.setattr(alipay_bills, "BILL_URL_SECONDS", 30)
    assert run(shop)[:3] == ("matched", 1, [])


def test_the_gateway_refuses_a_bill_for_today(app, live_server):
    with app.app_context():
        with pytest.raises(alipay_gateway.BillNotReady):
            alipay_gateway.bill_download_url(today().isoformat())
        with pytest.raises(ValueError):
            alipay_gateway.bill_download_url("28/11/2026")


def test_the_command_reconciles_a_day_and_prints_each_difference(shop, client):
    number = pay(shop, client)
    with shop.app_context():
        trade_of(number).total_amount = "1.00"
        db.session.commit()
    back_a_day(shop)
    yesterday = (today() - timedelta(days=1)).isoformat()
    result = shop.test_cli_runner().invoke(args=["reconcile", yesterday])
    assert result.exit_code == 0, result.output
    assert f"{yesterday}: 0 matched, 1 differences" in result.output
    assert f"amount_differs: order {number}" in result.output and "gateway 1.00" in result.output
    refused = shop.test_cli_runner().invoke(args=["reconcile", today().isoformat()])
    assert refused.exit_code != 0 and "not over" in refused.output
    assert shop.test_cli_runner().invoke(args=["reconcile", "yesterday"]).exit_code == 2


@pytest.mark.postgresql_only
def test_two_workers_reconcile_a_day_once(shop, client):
    pay(shop, client)
    back_a_day(shop)
    ten_am = datetime.combine(today(), datetime.min.time()) + timedelta(hours=2)
    barrier, results = threading.Barrier(2), []

    def worker():
        with shop.app_context():
            barrier.wait()
            row = reconciliation.run_due(now=ten_am)
            results.append(row and row.status)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results, key=str) == sorted(["matched", None], key=str)
    with shop.app_context():
        row = reconciliation.for_day(today() - timedelta(days=1))
        assert (row.status, row.attempts) == ("matched", 1)


# --- reading the bill file ---------------------------------------------------------------------


def bill_zip(detail: str, summary: str = "#汇总\n门店编号,合计\n,1\n", encoding: str = "gbk") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("2088000000000000_20261127_业务明细.csv", detail.encode(encoding))
        archive.writestr("2088000000000000_20261127_业务明细(汇总).csv", summary.encode(encoding))
    return out.getvalue()


DETAIL = """#支付宝业务明细查询
#账号：[2088000000000000]
#-----------------------------------------业务明细列表----------------------------------------
备注,订单金额（元）,业务类型,支付宝交易号,商户订单号,完成时间,退款批次号/请求号,商品名称
,88.00,交易,2026112722001000000000000001,RR261127-AAAAAA,2026-11-27 08:30:00,,流量包
,-10.5,退款,2026112722001000000000000001,RR261127-AAAAAA,2026-11-27 23:59:59,RF-1,流量包
,1.00,服务费,2026112722001000000000000002,,2026-11-27 09:00:00,,
#-----------------------------------------业务明细列表结束------------------------------------
#交易合计：1笔，退款合计：1笔
#导出时间：[2026年11月28日 08:00:00]
"""


def test_a_bill_is_read_by_column_name_from_gbk_between_comment_lines():
    lines = alipay_bill.parse(bill_zip(DETAIL))
    assert [(line.kind, line.trade_no, line.out_trade_no, line.refund_no, line.amount_cents) for line in lines] == [
        ("payment", "2026112722001000000000000001", "RR261127-AAAAAA", None, 8800),
        ("refund", "2026112722001000000000000001", "RR261127-AAAAAA", "RF-1", 1050),
    ]
    assert lines[0].finished_at == datetime(2026, 11, 27, 0, 30)  # UTC+8 read as UTC
    assert lines[1].finished_at == datetime(2026, 11, 27, 15, 59, 59)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"not a zip", "not a zip"),
        (bill_zip(DETAIL.replace("订单金额（元）", "金额")), "no column"),
        (bill_zip(DETAIL.replace("88.00", "88.001")), "not an amount"),
        (bill_zip(DETAIL.replace("88.00", "eighty")), "not an amount"),
        (bill_zip(DETAIL.replace("08:30:00", "8h30")), "not a time"),
        (bill_zip(DETAIL, encoding="utf-16"), "GBK"),
    ],
)
def test_a_bill_that_cannot_be_read_says_why(data, message):
    with pytest.raises(alipay_bill.BillUnreadable, match=message):
        alipay_bill.parse(data)


def test_the_sandbox_bill_is_gbk_with_comment_lines_and_alipays_columns(shop, client):
    number = pay(shop, client)
    refund(shop, number, 700, "RF-7")
    with shop.app_context():
        data = alipay_bill.download(alipay_gateway.bill_download_url(today().isoformat()))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert len(archive.namelist()) == 2
    detail = next(name for name in archive.namelist() if "汇总" not in name)
    text = archive.read(detail).decode("gbk")
    lines = text.splitlines()
    assert lines[0].startswith("#") and lines[-1].startswith("#")
    assert "支付宝交易号,商户订单号,业务类型" in text and "退款批次号/请求号" in text
    assert f",{number},退款," in text and ",-7.00," in text
