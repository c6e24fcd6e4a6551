"""Alipay's daily trade bill: download the zip a bill URL points to, and read its detail lines.

The file is a zip of CSV files in GBK: the detail lines (业务明细) and a summary (业务明细(汇总)).
Each has `#` comment lines above and below the table. Columns are read by their name, never their
position (Alipay adds columns over the years); amounts stay decimal strings until they become
integer cents here. Payments are 业务类型 交易, refunds 退款 with their own line against the
original trade (amounts shown negative) and the refund's 退款批次号/请求号 (our out_request_no).
"""

import csv
import io
import urllib.error
import urllib.request
import zipfile
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from gateways.alipay_gateway import UTC8, GatewayError
from gateways.payment_methods import BillLine

DOWNLOAD_TIMEOUT = 30  # seconds
MAX_BILL_BYTES = 50 * 1024 * 1024
DETAIL_MARK = "业务明细"
SUMMARY_MARK = "汇总"
COLUMNS = {
    "trade_no": "支付宝交易号",
    "out_trade_no": "商户订单号",
    "business": "业务类型",
    "amount": "订单金额（元）",
    "refund_no": "退款批次号/请求号",
    "finished": "完成时间",
}
PAYMENT, REFUND = "交易", "退款"


class BillUnreadable(GatewayError):
    """The bill could not be downloaded (the URL expired, say) or read; the message says which."""


def download(url: str, timeout: float = DOWNLOAD_TIMEOUT) -> bytes:
    """The bill file's bytes, fetched at once (the URL lives about 30 seconds)."""
    if not url.startswith(("https://", "http://")):
        raise BillUnreadable(f"not an http(s) bill URL: {url[:80]!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # the scheme is checked above
            body = answer.read(MAX_BILL_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise BillUnreadable(f"the bill URL answered HTTP {error.code} (expired or used?)") from error
    except (OSError, ValueError) as error:
        raise BillUnreadable(f"the bill could not be downloaded: {error}") from error
    if len(body) > MAX_BILL_BYTES:
        raise BillUnreadable("the bill is larger than expected")
    return body


def cents(text: str) -> int:
    """ "88.00", "-88.00", "88" or "88.5" -> 8800 / 8800 / 8800 / 8850: the size of the amount, in cents."""
    try:
        amount = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise BillUnreadable(f"not an amount: {text!r}") from None
    scaled = abs(amount) * 100
    if not amount.is_finite() or scaled != scaled.to_integral_value():
        raise BillUnreadable(f"not an amount in cents: {text!r}")
    return int(scaled)


def _time(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC8).astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        raise BillUnreadable(f"not a time: {text!r}") from None


def _table(text: str) -> list[dict[str, str]]:
    """The rows of one CSV file, comment lines (`#`) and blank lines dropped, keyed by column name."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.reader(lines)
    header = [name.strip() for name in next(reader, [])]
    return [dict(zip(header, (value.strip().lstrip("\t") for value in row), strict=False)) for row in reader]


def parse(data: bytes) -> list[BillLine]:
    """The payment and refund lines of a trade bill zip (its detail file, not the summary)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = [name for name in archive.namelist() if name.lower().endswith(".csv")]
        details = [name for name in names if SUMMARY_MARK not in _name(name)]
        if len(details) != 1:
            raise BillUnreadable(f"expected one detail CSV in the bill, found {len(details)}")
        text = archive.read(details[0]).decode("gb18030")  # a superset of GBK
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError) as error:
        raise BillUnreadable(f"the bill is not a zip of GBK CSV files: {error}") from error
    rows = _table(text)
    if rows and not set(COLUMNS.values()) - {COLUMNS["refund_no"]} <= set(rows[0]):
        missing = sorted(set(COLUMNS.values()) - set(rows[0]))
        raise BillUnreadable(f"the bill has no column {', '.join(missing)}")
    lines = []
    for row in rows:
        business = row.get(COLUMNS["business"], "")
        if business not in (PAYMENT, REFUND):
            continue  # other business (e.g. fees) is not ours to reconcile
        refund = business == REFUND
        lines.append(
            BillLine(
                kind="refund" if refund else "payment",
                trade_no=row[COLUMNS["trade_no"]],
                out_trade_no=row[COLUMNS["out_trade_no"]],
                refund_no=(row.get(COLUMNS["refund_no"]) or None) if refund else None,
                amount_cents=cents(row[COLUMNS["amount"]]),
                finished_at=_time(row.get(COLUMNS["finished"], "")),
            )
        )
    return lines


def _name(name: str) -> str:
    """A zip member's name: zips from Windows tools store GBK names without the UTF-8 flag."""
    try:
        return name.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name
