"""Staff exports and figures: orders and refunds as CSV that Excel opens intact (BOM, Chinese plan names,
CRLF, formulas defused), streamed in batches; sales per Hong Kong day on SQLite and PostgreSQL alike; the
sales chart as SVG a screen reader can read."""

import csv
import inspect
import io
import re
from datetime import date, datetime

import pytest
from conftest import make_order
from sqlalchemy import event, select, update

from extensions import db
from models import Order, Refund
from rules.staff import exports, sales
from web import charts


def order_at(app, n, created, paid=None, state="fulfilled", plan="gba-3d", **values) -> str:
    """An order made by the checkout rule, then placed at `created` (naive UTC) and paid at `paid`."""
    number = make_order(app, plan_code=plan, msisdn=f"+8526123{n:04d}")
    with app.app_context():
        db.session.execute(
            update(Order)
            .where(Order.number == number)
            .values(created_at=created, paid_at=paid, state=state, pending_key=None, **values)
        )
        db.session.commit()
    return number


def add_refund(app, number, cents, created, reason="Customer asked", status="done", method="alipay"):
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        db.session.add(
            Refund(
                order_id=order.id,
                out_request_no=f"{number}-{cents}-{reason[:6]}",
                amount_cents=cents,
                reason=reason,
                status=status,
                method=method,
                created_at=created,
                done_at=created if status == "done" else None,
            )
        )
        db.session.commit()


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix(exports.BOM), newline="")))


def export(app, generator_function, *args) -> str:
    with app.app_context():
        return "".join(generator_function(*args))


def test_the_orders_csv_opens_in_excel_with_chinese_names_hong_kong_days_and_no_formulas(app):
    late_on_the_20th = order_at(app, 1, datetime(2026, 11, 20, 15, 30), trade_no='=HYPERLINK("http://x","y")')
    early_on_the_21st = order_at(app, 2, datetime(2026, 11, 20, 16, 30), payment_method="counter:cash")
    order_at(app, 3, datetime(2026, 11, 19, 15, 59))  # 23:59 on the 19th in Hong Kong: outside

    text = export(app, exports.orders_csv, date(2026, 11, 20), date(2026, 11, 21), "zh_Hans")
    assert text.startswith("\ufeff") and text.count("\r\n") == 3 and "\n" not in text.replace("\r\n", "")
    header, first, second = read_csv(text)
    assert (header[0], header[1], header[4]) == ("订单号", "创建时间（香港时间）", "套餐")  # the staff's language
    assert first[0] == late_on_the_20th and first[1] == "2026-11-20 23:30:00"
    assert second[0] == early_on_the_21st and second[1] == "2026-11-21 00:30:00"
    assert first[4] == "大湾区3天" and first[3] == "852 ****0001" and "61230001" not in text
    assert (first[5], first[6], first[7], first[8], first[9]) == ("HKD", "58.00", "0.00", "58.00", "0.00")
    assert first[11] == '\'=HYPERLINK("http://x","y")'  # shown as text, never run
    assert second[10] == "现金" and second[11] == ""  # words, not the stored code "counter:cash"
    english = read_csv(export(app, exports.orders_csv, date(2026, 11, 20), date(2026, 11, 20), "en"))
    assert english[0][0] == "Order number" and english[1][4] == "Greater Bay 3-Day" and len(english) == 2


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_every_cell_that_could_be_a_formula_is_made_text(cell):
    (cells,) = read_csv(exports.line([cell, "ok"]))
    assert cells == ["'" + cell, "ok"]


def test_the_refunds_csv_lists_each_refund_with_its_reason_defused(app):
    number = order_at(app, 1, datetime(2026, 11, 20, 2, 0), paid=datetime(2026, 11, 20, 2, 1), trade_no="2026T1")
    add_refund(app, number, 1250, datetime(2026, 11, 21, 3, 0), reason="+call the traveller")
    add_refund(app, number, 500, datetime(2026, 11, 21, 4, 0), reason="Goodwill", status="requested")
    rows = read_csv(export(app, exports.refunds_csv, date(2026, 11, 21), date(2026, 11, 21)))
    assert [row[1] for row in rows[1:]] == [number, number]
    first, second = rows[1], rows[2]
    assert (first[0], first[4], first[5], first[6], first[7]) == (
        "2026-11-21 11:00:00",
        "12.50",
        "refunded",
        "Alipay",
        "'+call the traveller",
    )
    assert first[9] == "2026T1" and (second[5], second[8]) == ("in progress", "")  # words, not stored codes


def test_the_export_is_a_generator_that_fetches_rows_in_batches(app, monkeypatch):
    numbers = [order_at(app, n, datetime(2026, 11, 20, 4, n)) for n in range(5)]
    monkeypatch.setattr(exports, "BATCH", 2)
    seen = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        if "FROM orders" in statement:
            seen.append(context.execution_options)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", spy)
        try:
            rows = exports.orders_csv(date(2026, 11, 20), date(2026, 11, 20))
            assert inspect.isgenerator(rows)
            assert next(rows).startswith(exports.BOM) and seen == []  # nothing fetched before it is read
            lines = list(rows)
        finally:
            event.remove(db.engine, "before_cursor_execute", spy)
    assert [line.split(",")[0] for line in lines] == numbers
    (options,) = seen
    assert options.get("yield_per") == 2 and options.get("stream_results") is True


def test_the_export_range_is_checked():
    with pytest.raises(exports.ExportRefused):
        exports.parse_range("2026-11-30", "2026-11-01")
    with pytest.raises(exports.ExportRefused):
        exports.parse_range("yesterday", "2026-11-01")
    with pytest.raises(exports.ExportRefused):
        exports.parse_range("2025-01-01", "2026-11-01")
    assert exports.parse_range(" 2026-11-01", "2026-11-30") == (date(2026, 11, 1), date(2026, 11, 30))


def test_sales_per_day_count_hong_kong_days_with_refunds_beside_them(app):
    # Paid at 23:30 and 00:30 Hong Kong time: two different days.
    a = order_at(app, 1, datetime(2026, 11, 20, 15, 0), paid=datetime(2026, 11, 20, 15, 30))
    order_at(app, 2, datetime(2026, 11, 20, 16, 0), paid=datetime(2026, 11, 20, 16, 30), state="refunded")
    order_at(app, 3, datetime(2026, 11, 20, 16, 0), paid=datetime(2026, 11, 20, 17, 0), plan="hk-1d")
    order_at(app, 4, datetime(2026, 11, 20, 16, 0), state="cancelled")  # never paid: not a sale
    order_at(app, 5, datetime(2026, 10, 1, 16, 0), paid=datetime(2026, 10, 1, 16, 0))  # before the 30 days
    add_refund(app, a, 1000, datetime(2026, 11, 22, 1, 0))
    add_refund(app, a, 5800, datetime(2026, 11, 22, 2, 0), reason="paid_after_cancel")  # automatic: not counted
    with app.app_context():
        rows = sales.per_day(30, today=date(2026, 11, 28))
    assert len(rows) == 30 and rows[0].day == date(2026, 10, 30) and rows[-1].day == date(2026, 11, 28)
    by_day = {row.day: row for row in rows}
    assert (by_day[date(2026, 11, 20)].orders, by_day[date(2026, 11, 20)].amount_cents) == (1, 5800)
    assert (by_day[date(2026, 11, 21)].orders, by_day[date(2026, 11, 21)].amount_cents) == (2, 5800 + 1800)
    assert by_day[date(2026, 11, 22)].refunded_cents == 1000 and by_day[date(2026, 11, 22)].orders == 0
    assert sum(row.amount_cents for row in rows) == 5800 + 5800 + 1800


def test_the_sales_chart_is_an_svg_a_screen_reader_can_read(app):
    rows = [
        sales.DaySales(date(2026, 11, 20), 1, 5800, 0),
        sales.DaySales(date(2026, 11, 21), 2, 7600, 1000),
        sales.DaySales(date(2026, 11, 22), 0, 0, 0),
    ]
    with app.test_request_context():
        svg = str(charts.sales_chart(rows))
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="sales-title sales-desc"' in svg
    assert re.search(r'<title id="sales-title">Sales per day, 2026-11-20 to 2026-11-22', svg)
    desc = re.search(r'<desc id="sales-desc">([^<]+)</desc>', svg).group(1)
    assert "HK$134.00 from 3 orders" in desc and "HK$10.00 refunded" in desc and "2026-11-21" in desc
    assert "<title>2026-11-21: HK$76.00 from 2 orders, HK$10.00 refunded</title>" in svg
    assert svg.count("<title>") == 3 and ">HK$76.00</text>" in svg  # the axis is labelled with amounts
    with app.test_request_context(headers={"Accept-Language": "zh-HK"}):
        assert "HK$76.00" in str(charts.sales_chart(rows))
