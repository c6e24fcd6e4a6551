"""The sandbox gateway's daily trade bills (sandbox mode only), built from its own SandboxTrade rows.

alipay.data.dataservice.bill.downloadurl.query answers, for a past China day (UTC+8) whose bill is
ready, a one-time download URL that expires BILL_URL_SECONDS after it is issued, as Alipay's does.
The file is what Alipay's merchants download: a zip of two GBK CSV files (the detail lines and a
summary), each with `#` comment lines above and below the table, columns as in Alipay's trade bill.
A payment is a 交易 line on the day it was paid; each refund a 退款 line on the day it was made.

The URL carries a token signed with the app's secret (its day, its issue time, a nonce); a used
nonce is remembered by this process, so a URL downloads once per app server and never after 30 s.
"""

import csv
import io
import secrets
import zipfile
from datetime import date, datetime, time, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from extensions import db
from gateways.alipay_gateway import UTC8, amount_to_cents, cents_to_amount, to_alipay_time
from models import utcnow
from sandbox.models import SandboxTrade

BILL_URL_SECONDS = 30
BILL_PATH = "/sandbox/alipay/bills/"
HEADER = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
]
_used_nonces: set[str] = set()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="sandbox-alipay-bill")


def _ready(day: date) -> bool:
    """A day's bill exists from the next day (UTC+8) plus ALIPAY_SANDBOX_BILL_DELAY_HOURS."""
    ready_at = datetime.combine(day + timedelta(days=1), time(0), UTC8) + timedelta(
        hours=float(current_app.config["ALIPAY_SANDBOX_BILL_DELAY_HOURS"])
    )
    return datetime.now(UTC8) >= ready_at


def answer_download_url(biz: dict) -> dict:
    """The content of the bill.downloadurl.query answer."""
    if biz.get("bill_type") != "trade":
        return _error("isv.invalid-parameter", "bill_type: only trade in the sandbox")
    try:
        day = date.fromisoformat(str(biz.get("bill_date", "")))
    except ValueError:
        return _error("isv.invalid-parameter", "bill_date must be yyyy-MM-dd")
    if not _ready(day):
        return _error("isp.bill_not_exist", "账单不存在")
    token = _serializer().dumps({"day": day.isoformat(), "nonce": secrets.token_hex(8)})
    url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + BILL_PATH + token
    return {"code": "10000", "msg": "Success", "bill_download_url": url}


def _error(sub_code: str, sub_msg: str) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


def day_for_token(token: str) -> date | None:
    """The day a download token is for, or None if it is forged, expired or used (then spent)."""
    try:
        data = _serializer().loads(token, max_age=BILL_URL_SECONDS)
    except (SignatureExpired, BadSignature):
        return None
    if data["nonce"] in _used_nonces:
        return None
    _used_nonces.add(data["nonce"])
    return date.fromisoformat(data["day"])


def _utc_bounds(day: date) -> tuple[datetime, datetime]:
    """The China day as naive UTC bounds (the ledger stores naive UTC)."""
    start = datetime.combine(day, time(0)) - timedelta(hours=8)
    return start, start + timedelta(days=1)


def _lines(day: date) -> list[list[str]]:
    start, end = _utc_bounds(day)
    rows = []
    paid = select(SandboxTrade).where(SandboxTrade.paid_at >= start, SandboxTrade.paid_at < end)
    for trade in db.session.scalars(paid.order_by(SandboxTrade.paid_at, SandboxTrade.id)):
        assert trade.paid_at is not None
        rows.append(_line(trade, "交易", trade.total_amount, trade.paid_at, ""))
    refunded = select(SandboxTrade).where(SandboxTrade.refund_log != "")
    for trade in db.session.scalars(refunded.order_by(SandboxTrade.id)):
        for entry in trade.refund_log.splitlines():
            request_no, cents, at = entry.split(" ")
            refunded_at = datetime.fromisoformat(at)
            if start <= refunded_at < end:
                rows.append(_line(trade, "退款", "-" + cents_to_amount(int(cents)), refunded_at, request_no))
    return rows


def _line(trade: SandboxTrade, business: str, amount: str, finished: datetime, request_no: str) -> list[str]:
    values = dict.fromkeys(HEADER, "")
    values.update(
        {
            "支付宝交易号": trade.trade_no,
            "商户订单号": trade.out_trade_no,
            "业务类型": business,
            "商品名称": trade.subject,
            "创建时间": to_alipay_time(trade.created_at),
            "完成时间": to_alipay_time(finished),
            "对方账户": "tra***@sandbox.example",
            "订单金额（元）": amount,
            "商家实收（元）": amount,
            "退款批次号/请求号": request_no,
            "服务费（元）": "0.00",
            "分润（元）": "0.00",
        }
    )
    return [values[name] for name in HEADER]


def _csv(comments_above: list[str], header: list[str], rows: list[list[str]], comments_below: list[str]) -> bytes:
    out = io.StringIO()
    for comment in comments_above:
        out.write(comment + "\r\n")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    for comment in comments_below:
        out.write(comment + "\r\n")
    return out.getvalue().encode("gbk")


def bill_zip(day: date) -> bytes:
    """The day's bill file, as Alipay's merchants download it."""
    rows = _lines(day)
    pid = current_app.config["ALIPAY_SELLER_ID"]
    span = f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day + timedelta(days=1):%Y年%m月%d日} 00:00:00]"
    exported = f"#导出时间：[{datetime.now(UTC8):%Y年%m月%d日 %H:%M:%S}]"
    payments = [row for row in rows if row[2] == "交易"]
    refunds = [row for row in rows if row[2] == "退款"]
    detail = _csv(
        [
            "#支付宝业务明细查询",
            f"#账号：[{pid}]",
            span,
            "#-----------------------------------------业务明细列表----------------------------------------",
        ],
        HEADER,
        rows,
        [
            "#-----------------------------------------业务明细列表结束------------------------------------",
            f"#交易合计：{len(payments)}笔，退款合计：{len(refunds)}笔",
            exported,
        ],
    )
    total = sum(amount_to_cents(row[11]) for row in payments)
    refunded = sum(amount_to_cents(row[11].lstrip("-")) for row in refunds)
    summary = _csv(
        [
            "#支付宝业务汇总查询",
            f"#账号：[{pid}]",
            span,
            "#-----------------------------------------业务汇总列表----------------------------------------",
        ],
        ["门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）", "商家实收（元）"],
        [
            [
                "",
                "合计",
                str(len(payments)),
                str(len(refunds)),
                cents_to_amount(total - refunded) if total >= refunded else "-" + cents_to_amount(refunded - total),
                "",
            ]
        ],
        ["#-----------------------------------------业务汇总列表结束------------------------------------", exported],
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{pid}_{day:%Y%m%d}_业务明细.csv", detail)
        archive.writestr(f"{pid}_{day:%Y%m%d}_业务明细(汇总).csv", summary)
    return out.getvalue()


def log_refund(trade: SandboxTrade, request_no: str, cents: int) -> None:
    """Remember one refund for the bill of the day it was made (the caller commits)."""
    trade.refund_log = (trade.refund_log or "") + f"{request_no} {cents} {utcnow().isoformat()}\n"
