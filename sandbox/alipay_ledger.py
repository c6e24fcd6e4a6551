"""The sandbox Alipay's ledger (SandboxTrade rows) and its server-to-server API (sandbox mode only).

It checks what real Alipay checks (the app's signature, app_id, timestamp within 15 minutes of
UTC+8, one amount per out_trade_no) and answers query / close / refund with Alipay's codes, so the
adapter's error handling is exercised for real. As on Alipay, a trade exists only once its cashier
has been opened, and an unpaid trade closes at its time_expire: a cashier page opened before that
moment cannot pay after it.
"""

import json
import secrets
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urlencode, urlsplit

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from extensions import db
from gateways.alipay_gateway import UTC8, amount_to_cents, cents_to_amount, from_alipay_time, to_alipay_time
from models import utcnow
from sandbox import alipay_bills, alipay_signer
from sandbox.models import SandboxTrade

CLOCK_SKEW = timedelta(minutes=15)
BUYER_ID = "2088102177846880"  # the one sandbox buyer
BUYER_LOGON_ID = "tra***@sandbox.example"


class Refused(Exception):
    """A request the sandbox gateway will not accept (40002 Invalid Arguments); says why."""

    def __init__(self, message: str, sub_code: str = "isv.invalid-parameter"):
        super().__init__(message)
        self.sub_code = sub_code


def _check_app_request(params: dict[str, str]) -> dict:
    """The request's biz_content, once it is known to come from our app, signed, just now."""
    if not alipay_signer.app_signature_valid(params):
        raise Refused("The signature does not match the app's public key.", "isv.invalid-signature")
    if params.get("app_id") != current_app.config["ALIPAY_APP_ID"]:
        raise Refused("This app_id is not known to the sandbox.", "isv.invalid-app-id")
    try:
        skew = abs(utcnow() - from_alipay_time(params.get("timestamp", "")))
    except ValueError:
        skew = None
    if skew is None or skew > CLOCK_SKEW:
        raise Refused("The timestamp is not within 15 minutes of now in UTC+8.", "isv.invalid-timestamp")
    try:
        biz = json.loads(params.get("biz_content", ""))
    except ValueError:
        biz = None
    if not isinstance(biz, dict):
        raise Refused("biz_content is not a JSON object.")
    return biz


def _find(out_trade_no, lock: bool = False) -> SandboxTrade | None:
    query = select(SandboxTrade).where(SandboxTrade.out_trade_no == str(out_trade_no or ""))
    return db.session.scalars(query.with_for_update() if lock else query).first()


def _new_trade_no() -> str:
    return f"{datetime.now(UTC8):%Y%m%d}22001{secrets.randbelow(10**9):09d}"


def _web_url(url) -> bool:
    return isinstance(url, str) and urlsplit(url).scheme in ("http", "https")


def open_trade(params: dict[str, str]) -> tuple[SandboxTrade, str]:
    """The trade a signed cashier URL asks to pay, created or refreshed; and its currency."""
    biz = _check_app_request(params)
    if params.get("method") != "alipay.trade.wap.pay":
        raise Refused("The cashier only serves alipay.trade.wap.pay.", "isv.invalid-method")
    try:
        cents = amount_to_cents(biz.get("total_amount"))
        time_expire = from_alipay_time(biz["time_expire"]) if "time_expire" in biz else None
    except (TypeError, ValueError):
        raise Refused("total_amount or time_expire is malformed.") from None
    if time_expire is not None and time_expire <= utcnow():
        raise Refused("This payment has expired (time_expire is past).", "ACQ.TRADE_HAS_CLOSE")
    if cents <= 0 or not biz.get("out_trade_no") or not biz.get("subject"):
        raise Refused("out_trade_no, subject and a positive total_amount are required.")
    if not (_web_url(params.get("notify_url")) and _web_url(params.get("return_url"))):
        raise Refused("notify_url and return_url must be http(s) URLs.")
    trade = _find(biz["out_trade_no"])
    if trade is None:
        trade = SandboxTrade(
            out_trade_no=biz["out_trade_no"],
            trade_no=_new_trade_no(),
            total_amount=biz["total_amount"],
            status="WAIT_BUYER_PAY",
        )
        db.session.add(trade)
    elif trade.total_amount != biz["total_amount"]:
        raise Refused("This out_trade_no was opened before with another amount.", "ACQ.CONTEXT_INCONSISTENT")
    if trade.status == "WAIT_BUYER_PAY":  # the latest URLs win, as when a buyer retries
        trade.subject, trade.quit_url = biz["subject"], biz.get("quit_url")
        trade.notify_url, trade.return_url = params["notify_url"], params["return_url"]
        trade.time_expire = time_expire
    try:
        db.session.commit()
    except IntegrityError:  # the same cashier URL opened twice at once: the other one won
        db.session.rollback()
        trade = _find(biz["out_trade_no"])
        if trade is None or trade.total_amount != biz["total_amount"]:
            raise
    return trade, biz.get("trans_currency", "CNY")


def _unpaid(trade_id: int):
    return (SandboxTrade.id == trade_id, SandboxTrade.status == "WAIT_BUYER_PAY")


def pay(trade: SandboxTrade) -> bool:
    """Mark an unpaid trade paid; False if it was not unpaid (a double click pays once) or its
    time_expire has passed since the cashier opened (the trade is then closed, as Alipay does)."""
    now = utcnow()
    # One conditional UPDATE: of two concurrent clicks only one matches WAIT_BUYER_PAY.
    result = db.session.execute(
        update(SandboxTrade)
        .where(*_unpaid(trade.id), or_(SandboxTrade.time_expire.is_(None), SandboxTrade.time_expire > now))
        .values(status="TRADE_SUCCESS", paid_at=now)
    )
    if cast(CursorResult, result).rowcount != 1:
        db.session.execute(
            update(SandboxTrade)
            .where(*_unpaid(trade.id), SandboxTrade.time_expire <= now)
            .values(status="TRADE_CLOSED")
        )
    db.session.commit()
    db.session.refresh(trade)
    return cast(CursorResult, result).rowcount == 1


def notifications(trade: SandboxTrade) -> tuple[dict, dict]:
    """Signed (TRADE_SUCCESS, stale WAIT_BUYER_PAY) notifications for a paid trade."""
    assert trade.paid_at is not None, "only a paid trade is notified"
    common = {
        "notify_type": "trade_status_sync",
        "app_id": current_app.config["ALIPAY_APP_ID"],
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "seller_id": current_app.config["ALIPAY_SELLER_ID"],
        "buyer_id": BUYER_ID,
        "total_amount": trade.total_amount,
        "subject": trade.subject,
        "gmt_create": to_alipay_time(trade.created_at),
    }
    paid = {
        **common,
        "notify_time": alipay_signer.alipay_now(),
        "notify_id": alipay_signer.new_notify_id(),
        "trade_status": "TRADE_SUCCESS",
        "receipt_amount": trade.total_amount,
        "buyer_pay_amount": trade.total_amount,
        "gmt_payment": to_alipay_time(trade.paid_at),
    }
    waiting = {
        **common,
        "notify_time": to_alipay_time(trade.created_at),
        "notify_id": alipay_signer.new_notify_id(),
        "trade_status": "WAIT_BUYER_PAY",
    }
    return alipay_signer.sign_as_alipay(paid), alipay_signer.sign_as_alipay(waiting)


def return_url(trade: SandboxTrade) -> str:
    """The merchant's return_url with Alipay's signed return parameters added."""
    config = current_app.config
    params = alipay_signer.sign_as_alipay(
        {
            "out_trade_no": trade.out_trade_no,
            "trade_no": trade.trade_no,
            "total_amount": trade.total_amount,
            "seller_id": config["ALIPAY_SELLER_ID"],
            "app_id": config["ALIPAY_APP_ID"],
            "auth_app_id": config["ALIPAY_APP_ID"],
            "method": "alipay.trade.wap.pay.return",
            "timestamp": alipay_signer.alipay_now(),
            "charset": "utf-8",
            "version": "1.0",
        }
    )
    return trade.return_url + ("&" if urlsplit(trade.return_url).query else "?") + urlencode(params)


# --- server-to-server API -----------------------------------------------------------------------


def _business_error(sub_code: str, sub_msg: str, **fields) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg, **fields}


def _close_if_expired(trade: SandboxTrade) -> None:
    """An unpaid trade past its time_expire is closed (the caller holds the row and commits)."""
    if trade.status == "WAIT_BUYER_PAY" and trade.time_expire is not None and trade.time_expire <= utcnow():
        trade.status = "TRADE_CLOSED"


def _query(biz: dict) -> dict:
    trade = _find(biz.get("out_trade_no"), lock=True)
    if trade is None:
        return _business_error("ACQ.TRADE_NOT_EXIST", "交易不存在", out_trade_no=biz.get("out_trade_no"))
    _close_if_expired(trade)
    db.session.commit()
    paid = trade.paid_at is not None
    answer = {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": trade.out_trade_no,
        "trade_no": trade.trade_no,
        "trade_status": trade.status,
        "total_amount": trade.total_amount,
        "buyer_user_id": BUYER_ID,
        "buyer_logon_id": BUYER_LOGON_ID,
        "buyer_pay_amount": trade.total_amount if paid else "0.00",
        "receipt_amount": trade.total_amount if paid else "0.00",
    }
    if trade.paid_at is not None:
        answer["send_pay_date"] = to_alipay_time(trade.paid_at)
    return answer


def _close(biz: dict) -> dict:
    trade = _find(biz.get("out_trade_no"), lock=True)
    if trade is None:
        return _business_error("ACQ.TRADE_NOT_EXIST", "交易不存在")
    _close_if_expired(trade)
    if trade.status != "WAIT_BUYER_PAY":  # paid, or closed already: Alipay says the same
        return _business_error("ACQ.TRADE_STATUS_ERROR", f"交易状态不合法 ({trade.status})")
    trade.status = "TRADE_CLOSED"
    db.session.commit()
    return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no}


def _named_trade(biz: dict, lock: bool) -> SandboxTrade | None:
    if biz.get("trade_no"):  # either names the trade; Alipay takes trade_no when both are sent
        query = select(SandboxTrade).where(SandboxTrade.trade_no == str(biz["trade_no"]))
        return db.session.scalars(query.with_for_update() if lock else query).first()
    return _find(biz.get("out_trade_no"), lock=lock)


def _refund(biz: dict) -> dict:
    trade = _named_trade(biz, lock=True)
    if trade is None:
        return _business_error("ACQ.TRADE_NOT_EXIST", "交易不存在")
    request_no = str(biz.get("out_request_no") or "")
    if not request_no or " " in request_no:
        return _business_error("ACQ.INVALID_PARAMETER", "out_request_no is required")
    answer = {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": trade.out_trade_no,
        "trade_no": trade.trade_no,
        "buyer_logon_id": BUYER_LOGON_ID,
        "buyer_user_id": BUYER_ID,
    }
    if request_no in trade.refund_requests.split():  # a retry: answer again, move nothing
        return {**answer, "fund_change": "N", "refund_fee": cents_to_amount(trade.refunded_amount_cents)}
    try:
        cents = amount_to_cents(biz.get("refund_amount"))
    except ValueError:
        return _business_error("ACQ.INVALID_PARAMETER", "refund_amount is malformed")
    if trade.status != "TRADE_SUCCESS":
        return _business_error("ACQ.TRADE_STATUS_ERROR", f"交易状态不合法 ({trade.status})")
    if cents <= 0 or trade.refunded_amount_cents + cents > amount_to_cents(trade.total_amount):
        return _business_error("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
    trade.refunded_amount_cents += cents
    trade.refund_requests = f"{trade.refund_requests} {request_no}".strip()
    alipay_bills.log_refund(trade, request_no, cents)
    if trade.refunded_amount_cents == amount_to_cents(trade.total_amount):
        trade.status = "TRADE_CLOSED"  # fully refunded, as Alipay reports it
    db.session.commit()
    return {
        **answer,
        "fund_change": "Y",
        "refund_fee": cents_to_amount(trade.refunded_amount_cents),
        "gmt_refund_pay": alipay_signer.alipay_now(),
    }


def _refund_query(biz: dict) -> dict:
    """As Alipay: a refund it does not know is a success without refund_amount."""
    trade = _named_trade(biz, lock=False)
    if trade is None:
        return _business_error("ACQ.TRADE_NOT_EXIST", "交易不存在")
    request_no = str(biz.get("out_request_no") or "")
    answer = {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no}
    for line in (trade.refund_log or "").splitlines():
        logged_no, cents, _when = line.split(" ")
        if logged_no == request_no:
            refund = {"refund_amount": cents_to_amount(int(cents)), "refund_status": "REFUND_SUCCESS"}
            return {**answer, "out_request_no": request_no, "total_amount": trade.total_amount, **refund}
    return answer


_API = {
    "alipay.trade.query": _query,
    "alipay.trade.close": _close,
    "alipay.trade.refund": _refund,
    "alipay.trade.fastpay.refund.query": _refund_query,
    "alipay.data.dataservice.bill.downloadurl.query": alipay_bills.answer_download_url,
}


def api_answer(params: dict[str, str]) -> tuple[str, dict]:
    """(method, content of its _response object) for one server-to-server call."""
    method = params.get("method", "")
    if method not in _API:
        return "", {
            "code": "40002",
            "msg": "Invalid Arguments",
            "sub_code": "isv.invalid-method",
            "sub_msg": "不存在的方法名",
        }
    try:
        biz = _check_app_request(params)
    except Refused as refusal:
        return method, {
            "code": "40002",
            "msg": "Invalid Arguments",
            "sub_code": refusal.sub_code,
            "sub_msg": str(refusal),
        }
    return method, _API[method](biz)
