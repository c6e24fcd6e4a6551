"""The WeChat Pay sandbox's trade bills (sandbox mode only), built from its own trades and refunds.

tradebill answers, for a past China day whose bill is ready, a download_url (valid for 30 seconds)
and the file's SHA1, as WeChat Pay does; before that NO_STATEMENT_EXIST. The file is the CSV
WeChat Pay's merchants download (gateways.wechat_bill.HEADER): a payment is a SUCCESS row on the
day it was paid, each refund a REFUND row on the day it was made, then the summary.
"""

import csv
import hashlib
import io
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from extensions import db
from gateways.alipay_gateway import cents_to_amount
from gateways.wechat_bill import CHINA, HEADER, SUMMARY_MARK, TIME_FORMAT
from sandbox.models import SandboxWechatRefund, SandboxWechatTrade

BILL_URL_SECONDS = 30
BILL_PATH = "/sandbox/wechat/bills/"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="sandbox-wechat-bill")


def ready(day: date) -> bool:
    """A day's bill exists from the next day (China time) plus ALIPAY_SANDBOX_BILL_DELAY_HOURS (both sandboxes)."""
    ready_at = datetime.combine(day + timedelta(days=1), time(0), CHINA) + timedelta(
        hours=float(current_app.config["ALIPAY_SANDBOX_BILL_DELAY_HOURS"])
    )
    return datetime.now(CHINA) >= ready_at


def download(day: date) -> dict:
    """tradebill's answer for a ready day: the URL and the hash of what it serves."""
    token = _serializer().dumps({"day": day.isoformat()})
    url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + BILL_PATH + token
    return {"download_url": url, "hash_type": "SHA1", "hash_value": hashlib.sha1(bill_csv(day)).hexdigest()}


def day_for_token(token: str) -> date | None:
    try:
        return date.fromisoformat(_serializer().loads(token, max_age=BILL_URL_SECONDS)["day"])
    except (SignatureExpired, BadSignature, KeyError, ValueError):
        return None


def _china(naive_utc: datetime) -> str:
    return naive_utc.replace(tzinfo=UTC).astimezone(CHINA).strftime(TIME_FORMAT)


def _row(trade: SandboxWechatTrade, when: datetime, refund: SandboxWechatRefund | None) -> list[str]:
    values = dict.fromkeys(HEADER, "0.00")
    blank = ("特约商户号", "设备号", "微信退款单号", "商户退款单号", "退款类型", "退款状态", "商户数据包", "费率备注")
    values.update(dict.fromkeys(blank, ""))
    values.update(
        {
            "交易时间": _china(when),
            "公众账号ID": trade.appid,
            "商户号": trade.mchid,
            "微信订单号": trade.transaction_id,
            "商户订单号": trade.out_trade_no,
            "用户标识": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "交易类型": "MWEB",
            "交易状态": "REFUND" if refund else "SUCCESS",
            "付款银行": "OTHERS",
            "货币种类": trade.currency,
            "商品名称": trade.description,
            "费率": "0.60%",
            "订单金额": cents_to_amount(trade.total_cents),
            "应结订单金额": cents_to_amount(trade.total_cents),
        }
    )
    if refund is not None:
        values.update(
            {
                "微信退款单号": refund.refund_id,
                "商户退款单号": refund.out_refund_no,
                "退款金额": cents_to_amount(refund.amount_cents),
                "申请退款金额": cents_to_amount(refund.amount_cents),
                "退款类型": "ORIGINAL",
                "退款状态": "SUCCESS",
            }
        )
    return ["`" + values[name] for name in HEADER]


def bill_csv(day: date) -> bytes:
    """The day's trade bill file."""
    start = datetime.combine(day, time(0)) - timedelta(hours=8)  # the China day in naive UTC
    end = start + timedelta(days=1)
    paid = select(SandboxWechatTrade).where(SandboxWechatTrade.paid_at >= start, SandboxWechatTrade.paid_at < end)
    rows = [
        _row(trade, trade.paid_at or start, None) for trade in db.session.scalars(paid.order_by(SandboxWechatTrade.id))
    ]
    refunds = select(SandboxWechatRefund, SandboxWechatTrade).join(
        SandboxWechatTrade, SandboxWechatTrade.out_trade_no == SandboxWechatRefund.out_trade_no
    )
    refunds = refunds.where(SandboxWechatRefund.created_at >= start, SandboxWechatRefund.created_at < end)
    rows += [_row(trade, refund.created_at, refund) for refund, trade in db.session.execute(refunds)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    writer.writerow(
        [
            SUMMARY_MARK,
            "应结订单总金额",
            "退款总金额",
            "充值券退款总金额",
            "手续费总金额",
            "订单总金额",
            "申请退款总金额",
        ]
    )
    writer.writerow(["`" + str(len(rows)), "`0.00", "`0.00", "`0.00", "`0.00", "`0.00", "`0.00"])
    return out.getvalue().encode("utf-8")
