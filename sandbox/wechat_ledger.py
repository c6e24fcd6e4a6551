"""The sandbox WeChat Pay's ledger and its API v3 (sandbox mode only), both path families.

It checks what WeChat Pay checks (the merchant's signature and mchid, one amount per out_trade_no,
a refund within what was paid) and answers with WeChat Pay's HTTP statuses and error codes, so the
adapter's handling runs for real. An unpaid trade closes at its time_expire.
"""

import json
import re
import secrets
from datetime import date

from flask import current_app
from sqlalchemy import func, select, update

from extensions import db
from gateways.wechat_client import from_wechat_time, to_wechat_time
from models import utcnow
from sandbox import wechat_bills
from sandbox.models import SandboxWechatRefund, SandboxWechatTrade

CASHIER_PATH = "/sandbox/wechat/cashier"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"  # the one sandbox payer


class ApiError(Exception):
    """An API call refused, as WeChat Pay answers it: HTTP status, code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _find(out_trade_no: str, lock: bool = False) -> SandboxWechatTrade | None:
    query = select(SandboxWechatTrade).where(SandboxWechatTrade.out_trade_no == out_trade_no)
    return db.session.scalars(query.with_for_update() if lock else query).first()


def _close_if_expired(trade: SandboxWechatTrade) -> None:
    if trade.state == "NOTPAY" and trade.time_expire is not None and trade.time_expire <= utcnow():
        trade.state = "CLOSED"


def transaction(trade: SandboxWechatTrade, state: str | None = None) -> dict:
    """The trade as WeChat Pay's query and notifications show it."""
    data = {
        "mchid": trade.mchid,
        "appid": trade.appid,
        "out_trade_no": trade.out_trade_no,
        "transaction_id": trade.transaction_id,
        "trade_type": "MWEB",
        "trade_state": state or trade.state,
        "trade_state_desc": "sandbox",
        "payer": {"openid": OPENID},
        "amount": {"total": trade.total_cents, "currency": trade.currency, "payer_total": trade.total_cents},
    }
    if trade.paid_at is not None and (state or trade.state) != "NOTPAY":
        data["success_time"] = to_wechat_time(trade.paid_at)
    return data


def _amount(body: dict) -> dict:
    amount = body.get("amount")
    return amount if isinstance(amount, dict) else {}


def _h5(body: dict, mchid: str) -> dict:
    amount = _amount(body)
    total, currency = amount.get("total"), amount.get("currency", "CNY")
    number, notify_url = str(body.get("out_trade_no") or ""), str(body.get("notify_url") or "")
    if not isinstance(total, int) or total <= 0 or not re.fullmatch(r"[0-9A-Za-z_*|-]{6,32}", number):
        raise ApiError(400, "PARAM_ERROR", "out_trade_no and a positive amount.total are required")
    if not notify_url.startswith(("http://", "https://")) or body.get("appid") != current_app.config["WECHATPAY_APPID"]:
        raise ApiError(400, "PARAM_ERROR", "notify_url must be http(s) and appid the merchant's")
    time_expire = from_wechat_time(body["time_expire"]) if body.get("time_expire") else None
    trade = _find(number, lock=True)
    if trade is None:
        trade = SandboxWechatTrade(
            out_trade_no=number,
            transaction_id=f"42000{secrets.randbelow(10**20):020d}"[:28],
            prepay_id="wx" + secrets.token_hex(15),
            mchid=mchid,
            appid=body["appid"],
            total_cents=total,
            currency=str(currency),
            state="NOTPAY",
        )
        db.session.add(trade)
    elif trade.total_cents != total or trade.currency != currency:
        raise ApiError(400, "OUT_TRADE_NO_USED", "this out_trade_no was ordered with another amount")
    _close_if_expired(trade)
    if trade.state != "NOTPAY":
        raise ApiError(400, "ORDERPAID" if trade.paid_at else "ORDER_CLOSED", f"the trade is {trade.state}")
    trade.description, trade.notify_url, trade.time_expire = (
        str(body.get("description", ""))[:128],
        notify_url,
        time_expire,
    )
    db.session.commit()
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return {"h5_url": f"{base}{CASHIER_PATH}?prepay_id={trade.prepay_id}&package=sandbox"}


def _query(number: str) -> dict:
    trade = _find(number, lock=True)
    if trade is None:
        raise ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
    _close_if_expired(trade)
    db.session.commit()
    return transaction(trade)


def _close(number: str) -> None:  # answered 204, no body
    trade = _find(number, lock=True)
    if trade is None:
        raise ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
    if trade.state in ("SUCCESS", "REFUND"):
        raise ApiError(400, "ORDERPAID", "订单已支付")
    trade.state = "CLOSED"  # closing a closed trade is fine, as on WeChat Pay
    db.session.commit()


def refund_answer(refund: SandboxWechatRefund, total: int, currency: str) -> dict:
    return {
        "id": refund.refund_id,
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "out_trade_no": refund.out_trade_no,
        "status": "SUCCESS",
        "create_time": to_wechat_time(refund.created_at),
        "success_time": to_wechat_time(refund.created_at),
        "amount": {"refund": refund.amount_cents, "total": total, "currency": currency},
    }


def _refunded(number: str) -> int:
    query = select(func.coalesce(func.sum(SandboxWechatRefund.amount_cents), 0))
    return db.session.scalar(query.where(SandboxWechatRefund.out_trade_no == number)) or 0


def _refund(body: dict) -> dict:
    trade = _find(str(body.get("out_trade_no") or ""), lock=True)
    if trade is None:
        raise ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
    request_no = str(body.get("out_refund_no") or "")
    earlier = _refund_row(request_no)
    if earlier is not None:  # the same out_refund_no again: the same refund, nothing moves
        return refund_answer(earlier, trade.total_cents, trade.currency)
    amount = _amount(body)
    cents = amount.get("refund")
    if not request_no or not isinstance(cents, int) or amount.get("total") != trade.total_cents:
        raise ApiError(400, "PARAM_ERROR", "out_refund_no, amount.refund and the trade's amount.total are required")
    if trade.state not in ("SUCCESS", "REFUND"):
        raise ApiError(403, "TRADE_STATE_ERROR", f"the trade is {trade.state}")
    if cents <= 0 or _refunded(trade.out_trade_no) + cents > trade.total_cents:
        raise ApiError(403, "NOT_ENOUGH", "退款金额超过订单可退金额")
    refund = SandboxWechatRefund(
        out_refund_no=request_no,
        refund_id=f"50300{secrets.randbelow(10**20):020d}",
        out_trade_no=trade.out_trade_no,
        amount_cents=cents,
        created_at=utcnow(),
    )
    db.session.add(refund)
    db.session.execute(update(SandboxWechatTrade).where(SandboxWechatTrade.id == trade.id).values(state="REFUND"))
    db.session.commit()
    return refund_answer(refund, trade.total_cents, trade.currency)


def _refund_row(out_refund_no: str) -> SandboxWechatRefund | None:
    query = select(SandboxWechatRefund).where(SandboxWechatRefund.out_refund_no == out_refund_no)
    return db.session.scalars(query).first()


def _refund_query(out_refund_no: str) -> dict:
    refund = _refund_row(out_refund_no)
    trade = _find(refund.out_trade_no) if refund is not None else None
    if refund is None or trade is None:
        raise ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    return refund_answer(refund, trade.total_cents, trade.currency)


def _bill(args: dict) -> dict:
    try:
        day = date.fromisoformat(str(args.get("bill_date", "")))
    except ValueError:
        raise ApiError(400, "PARAM_ERROR", "bill_date must be yyyy-MM-dd") from None
    if not wechat_bills.ready(day):
        raise ApiError(400, "NO_STATEMENT_EXIST", "账单尚未生成")
    return wechat_bills.download(day)


def pay(trade: SandboxWechatTrade) -> bool:
    """Mark an unpaid trade paid; False if it was not unpaid or its time_expire has passed (one
    conditional UPDATE: a double click pays once)."""
    now = utcnow()
    unpaid = (SandboxWechatTrade.id == trade.id, SandboxWechatTrade.state == "NOTPAY")
    expired = (SandboxWechatTrade.time_expire.is_not(None), SandboxWechatTrade.time_expire <= now)
    db.session.execute(update(SandboxWechatTrade).where(*unpaid, *expired).values(state="CLOSED"))
    paid = db.session.execute(update(SandboxWechatTrade).where(*unpaid).values(state="SUCCESS", paid_at=now))
    db.session.commit()
    db.session.refresh(trade)
    return paid.rowcount == 1  # type: ignore[attr-defined]


def by_prepay_id(prepay_id: str) -> SandboxWechatTrade | None:
    return db.session.scalars(select(SandboxWechatTrade).where(SandboxWechatTrade.prepay_id == prepay_id)).first()


def _closed(number: str) -> tuple[int, None]:
    _close(number)
    return 204, None


# METHOD, path pattern (both families), handler(match, body or query args, mchid) -> (status, answer or None)
_ROUTES = [
    ("POST", r"/v3/(?:global|pay)/transactions/h5", lambda m, b, mchid: (200, _h5(b, mchid))),
    ("GET", r"/v3/(?:global|pay)/transactions/out-trade-no/([^/]+)", lambda m, b, _: (200, _query(m[1]))),
    ("POST", r"/v3/(?:global|pay)/transactions/out-trade-no/([^/]+)/close", lambda m, b, _: _closed(m[1])),
    ("POST", r"/v3/(?:global/refunds|refund/domestic/refunds)", lambda m, b, _: (200, _refund(b))),
    ("GET", r"/v3/(?:global/refunds/out-refund-no|refund/domestic/refunds)/([^/]+)",
     lambda m, b, _: (200, _refund_query(m[1]))),
    ("GET", r"/v3/(?:global/bill|bill)/tradebill", lambda m, b, _: (200, _bill(b))),
]  # fmt: skip


def api_answer(method: str, path: str, text: str, args: dict, mchid: str | None) -> tuple[int, dict | None]:
    """(HTTP status, JSON answer or None) for one API call; `mchid` the verified signer, or None."""
    if mchid is None:
        return 401, {"code": "SIGN_ERROR", "message": "the signature does not match the merchant's key"}
    if mchid != current_app.config["WECHATPAY_MCHID"]:
        return 400, {"code": "MCH_NOT_EXISTS", "message": "this mchid is not known to the sandbox"}
    for verb, pattern, handler in _ROUTES:
        match = re.fullmatch(pattern, path)
        if match and verb == method:
            try:
                body = json.loads(text) if text else dict(args)
                if not isinstance(body, dict):
                    raise ValueError
                return handler(match, body, mchid)
            except ValueError:
                db.session.rollback()
                return 400, {"code": "PARAM_ERROR", "message": "the body is not a JSON object"}
            except ApiError as error:
                db.session.rollback()
                return error.status, {"code": error.code, "message": str(error)}
    return 404, {"code": "NOT_FOUND", "message": "no such API in the sandbox"}
