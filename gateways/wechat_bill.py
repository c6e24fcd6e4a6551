"""WeChat Pay's trade bill (tradebill, bill_type=ALL), read into the interface's BillLine.

The file is CSV in UTF-8: a header row, one row per payment or refund with every field behind a
backtick (so that spreadsheets keep long numbers whole), then a summary (总交易单数 …) and its row.
A refund is a row of trade state REFUND naming its out_refund_no and amount. Times are China time.
"""

import csv
import io
from datetime import UTC, datetime

from gateways.alipay_gateway import amount_to_cents
from gateways.alipay_sdk_fixes import UTC8 as CHINA
from gateways.payment_methods import BillLine, GatewayError

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
HEADER = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
]
SUMMARY_MARK = "总交易单数"


def _time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CHINA).astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        return None


def _line(row: dict[str, str]) -> BillLine:
    refund = row["交易状态"] == "REFUND"
    amount = row["申请退款金额"] or row["退款金额"] if refund else row["订单金额"]
    return BillLine(
        kind="refund" if refund else "payment",
        trade_no=row["微信订单号"],
        out_trade_no=row["商户订单号"],
        refund_no=row["商户退款单号"] if refund else None,
        amount_cents=amount_to_cents(amount),
        finished_at=_time(row["交易时间"]),
    )


def parse(content: bytes) -> list[BillLine]:
    """Every payment and refund line of the bill; GatewayError when it cannot be read."""
    try:
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as error:
        raise GatewayError(f"WeChat Pay's bill cannot be read: {error}") from None
    if not rows or [name.strip() for name in rows[0]] != HEADER:
        raise GatewayError("WeChat Pay's bill has not the trade bill's columns")
    lines = []
    for row in rows[1:]:
        if row and row[0].startswith(SUMMARY_MARK):
            break
        values = dict(zip(HEADER, (value.lstrip("`") for value in row), strict=False))
        try:
            lines.append(_line(values))
        except (KeyError, ValueError) as error:
            raise GatewayError(f"WeChat Pay's bill has a line it cannot read: {error}") from None
    return lines
