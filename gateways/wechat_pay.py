"""WeChat Pay API v3, H5 payment, as an implementation of the payment interface
(gateways.payment_methods.PaymentProvider); in sandbox mode it talks to the local sandbox.

The calls go through gateways.wechat_client (settings, signing, verifying); notifications are verified
and decrypted with gateways.wechat_signing. Every failure to get an answer is a GatewayError.
"""

import hashlib
import json
import re
from datetime import date
from urllib.parse import quote, urlencode

import requests
from flask import current_app, has_request_context, request

from gateways import wechat_bill, wechat_signing
from gateways.payment_methods import (
    Answer,
    BillLine,
    BillNotReady,
    GatewayError,
    Incoming,
    Notification,
    NotificationRefused,
    RefundResult,
    Trade,
)
from gateways.wechat_client import PATHS, Settings, call, cents_of, failed, from_wechat_time, settings, to_wechat_time
from models import NotificationOutcome, Order

# trade_state -> the interface's statuses (named as Alipay's). REFUND: it was paid, and (some) refunded.
TRADE_STATES = {
    "SUCCESS": "TRADE_SUCCESS",
    "REFUND": "TRADE_SUCCESS",
    "NOTPAY": "WAIT_BUYER_PAY",
    "USERPAYING": "WAIT_BUYER_PAY",
    "CLOSED": "TRADE_CLOSED",
    "REVOKED": "TRADE_CLOSED",
    "PAYERROR": "TRADE_CLOSED",
}
BILL_NOT_READY_CODES = ("NO_STATEMENT_EXIST", "STATEMENT_CREATING")
NOT_FOUND_CODES = ("ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS", "NOT_FOUND")
REFUND_MOVING = ("SUCCESS", "PROCESSING")
ORDER_NUMBER = re.compile(r"[0-9A-Za-z_-]{1,20}")  # what we give as out_trade_no; anything else is no order of ours


def _query_args(conf_paths: dict, api: str) -> dict:
    return {"mchid": current_app.config["WECHATPAY_MCHID"]} if api in conf_paths["mchid"] else {}


class WeChatPayProvider:
    name = "wechat"

    def start_payment(self, order: Order, *, return_url: str, notify_url: str, quit_url: str) -> str:
        """H5: WeChat Pay answers an h5_url; its redirect_url brings the browser back, naming our order
        (H5 signs nothing on the way back, so the rules then ask WeChat Pay)."""
        conf = settings()
        if order.currency != conf.currency:
            raise GatewayError(f"order is in {order.currency} but WeChat Pay is configured for {conf.currency}")
        client_ip = (request.remote_addr if has_request_context() else None) or "127.0.0.1"
        body = {
            "mchid": conf.mchid,
            "appid": conf.appid,
            "description": f"RoamRenew {order.number}",
            "out_trade_no": order.number,
            "notify_url": notify_url,
            "time_expire": to_wechat_time(order.pay_by),
            "amount": {"total": order.total_cents, "currency": conf.currency},
            "scene_info": {"payer_client_ip": client_ip, "h5_info": {"type": "Wap"}},
        }
        if conf.paths is PATHS["global"]:
            body["trade_type"] = "MWEB"
        status, data = call("POST", conf.paths["h5"], body)
        if status != 200 or not isinstance(data.get("h5_url"), str):
            raise failed("h5 order", status, data)
        back = return_url + "?" + urlencode({"out_trade_no": order.number})
        return data["h5_url"] + ("&" if "?" in data["h5_url"] else "?") + "redirect_url=" + quote(back, safe="")

    def read_notification(self, incoming: Incoming) -> Notification:
        conf = settings()
        try:
            wechat_signing.verify(incoming.headers, incoming.text, conf.platform_key, conf.platform_serial)
        except wechat_signing.SignatureRefused as refused:
            outcome = NotificationOutcome.STALE if refused.stale else NotificationOutcome.BAD_SIGNATURE
            raise NotificationRefused(outcome) from None
        try:  # signed, so WeChat Pay's own; still, a signed body that is no JSON object is refused
            envelope = json.loads(incoming.text)
        except ValueError:
            raise NotificationRefused(NotificationOutcome.MISSING_FIELDS) from None
        resource = envelope.get("resource") if isinstance(envelope, dict) else None
        data = wechat_signing.decrypt(resource, conf.apiv3_key)
        if data is None:
            raise NotificationRefused(NotificationOutcome.UNDECRYPTABLE)
        return _notification(data, envelope, conf)

    def answer(self, accepted: bool) -> Answer:
        """WeChat Pay stops on 200/204; a failure is a 4xx/5xx with a JSON body of code and message."""
        if accepted:
            return Answer("", 204)
        return Answer('{"code":"FAIL","message":"not accepted"}', 400, "application/json")

    def returned_order(self, incoming: Incoming) -> str | None:
        number = incoming.form.get("out_trade_no", "")
        return number if ORDER_NUMBER.fullmatch(number) else None

    def query(self, out_trade_no: str) -> Trade | None:
        conf = settings()
        path = conf.paths["trade"].format(quote(out_trade_no, safe=""))
        status, data = call("GET", path, query=_query_args(conf.paths, "trade"))
        if status == 404 or data.get("code") in NOT_FOUND_CODES:
            return None
        if status != 200:
            raise failed("query", status, data)
        trade = _trade(data, conf)
        if trade is None:
            raise GatewayError(f"WeChat Pay query answered something unreadable for {out_trade_no}")
        return trade

    def close(self, out_trade_no: str) -> bool:
        conf = settings()
        path = conf.paths["close"].format(quote(out_trade_no, safe=""))
        status, data = call("POST", path, {"mchid": conf.mchid})
        if status in (200, 204) or data.get("code") in NOT_FOUND_CODES:
            return True
        raise failed("close", status, data)  # ORDERPAID: a paid trade is not closed

    def refund(
        self, out_trade_no: str, amount_cents: int, out_request_no: str, reason: str, trade_no: str | None = None
    ) -> RefundResult:
        """Asked first whether this out_refund_no exists (then nothing moves now); else refunded
        against the trade's total, which WeChat Pay wants in the request."""
        done = self.query_refund(out_trade_no, out_request_no)
        if done is not None:
            return RefundResult(False, done)
        trade = self.query(out_trade_no)
        if trade is None or trade.trade_status != "TRADE_SUCCESS":
            raise GatewayError(f"WeChat Pay refund: trade {out_trade_no} is not paid")
        conf = settings()
        body = {
            "mchid": conf.mchid,
            "out_trade_no": out_trade_no,
            "out_refund_no": out_request_no,
            "reason": reason[:80],
            "amount": {"refund": amount_cents, "total": trade.total_cents, "currency": conf.currency},
        }
        status, data = call("POST", conf.paths["refund"], body)
        refunded = cents_of(data.get("amount"), "refund", conf.currency)
        if status != 200 or data.get("status") not in REFUND_MOVING or refunded is None:
            raise failed("refund", status, data)
        return RefundResult(True, refunded)

    def query_refund(self, out_trade_no: str, out_request_no: str, trade_no: str | None = None) -> int | None:
        conf = settings()
        path = conf.paths["refund_query"].format(quote(out_request_no, safe=""))
        status, data = call("GET", path, query=_query_args(conf.paths, "refund_query"))
        if status == 404 or data.get("code") in NOT_FOUND_CODES:
            return None
        if status != 200:
            raise failed("refund query", status, data)
        if data.get("status") not in REFUND_MOVING:
            return None  # CLOSED or ABNORMAL: no money went back by it
        return cents_of(data.get("amount"), "refund", conf.currency)

    def day_bill(self, day: date) -> list[BillLine]:
        """The trade bill of `day` (China time, which is Hong Kong's): its URL, then the file, checked by hash."""
        conf = settings()
        query = {"bill_date": day.isoformat(), "bill_type": "ALL", **_query_args(conf.paths, "bill")}
        status, data = call("GET", conf.paths["bill"], query=query)
        if data.get("code") in BILL_NOT_READY_CODES:
            raise BillNotReady(f"WeChat Pay has no bill for {day} yet")
        url = data.get("download_url")
        if status != 200 or not isinstance(url, str) or not url.startswith(conf.host + "/"):
            raise failed("tradebill", status, data)
        content = _download(url[len(conf.host) :], conf)
        if data.get("hash_type") == "SHA1" and hashlib.sha1(content).hexdigest() != data.get("hash_value"):
            raise GatewayError("WeChat Pay's bill does not match its hash")
        return wechat_bill.parse(content)


def _download(path: str, conf: Settings) -> bytes:
    """The bill file (signed request; WeChat Pay does not sign the file, its hash is checked instead)."""
    header = wechat_signing.authorization("GET", path, "", conf.mchid, conf.serial, conf.private_key)
    try:
        response = requests.get(conf.host + path, headers={"Authorization": header}, timeout=conf.timeout)
    except requests.RequestException as error:
        raise GatewayError(f"WeChat Pay bill download failed: {type(error).__name__}") from error
    if response.status_code != 200:
        raise GatewayError(f"WeChat Pay bill download failed: HTTP {response.status_code}")
    return response.content


def _trade(data: dict, conf: Settings) -> Trade | None:
    status = TRADE_STATES.get(str(data.get("trade_state")))
    total = cents_of(data.get("amount"), "total", conf.currency)
    if status is None or total is None:
        return None
    paid_at = from_wechat_time(data["success_time"]) if data.get("success_time") else None
    return Trade(status, str(data.get("transaction_id") or ""), total, paid_at)


def _notification(data: dict, envelope: dict, conf: Settings) -> Notification:
    number, trade_no = data.get("out_trade_no"), data.get("transaction_id")
    status = TRADE_STATES.get(str(data.get("trade_state")))
    if not (isinstance(number, str) and number and isinstance(trade_no, str) and trade_no and status):
        raise NotificationRefused(NotificationOutcome.MISSING_FIELDS)
    if data.get("mchid") != conf.mchid or data.get("appid") != conf.appid:
        raise NotificationRefused(NotificationOutcome.WRONG_APP_ID)
    details = {"trade_no": trade_no, "notify_id": str(envelope.get("id", ""))[:64]}
    # Another currency, or an amount that is not whole cents, is kept as bad_amount for staff.
    return Notification(number, trade_no, status, cents_of(data.get("amount"), "total", conf.currency), details)
