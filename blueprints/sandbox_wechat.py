"""The local WeChat Pay sandbox (registered only in sandbox mode).

It plays WeChat Pay API v3 over real HTTP under PUBLIC_BASE_URL/sandbox/wechat/v3/... (both the
global and the mainland paths), so the app's signing, verifying and decrypting run end to end. The
h5_url it answers opens its cashier page; paying there sends encrypted, signed notifications
through sandbox.deliveries on WeChat Pay's schedule. The ledger is sandbox.wechat_ledger, the
signing sandbox.wechat_signer; /sandbox/wechat/ holds the switch making a share of API calls time out.
"""

import json
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext as _

from blueprints.sandbox_alipay import PayForm, SwitchesForm
from extensions import csrf, db
from sandbox import alipay_switches, deliveries, wechat_bills, wechat_ledger, wechat_signer
from sandbox.models import SandboxWechatTrade
from web.rendering import redirect_after_post, render_page

bp = Blueprint("sandbox_wechat", __name__, url_prefix="/sandbox/wechat")
TIMEOUT_KEY = "wechat_api_timeout_percent"


def _signed(status: int, answer: dict | None) -> Response:
    """An API answer; a success is signed with the sandbox platform key, as WeChat Pay signs them."""
    body = "" if answer is None else json.dumps(answer, ensure_ascii=False)
    response = Response(body, status=status, content_type="application/json")
    if 200 <= status < 300:
        response.headers.update(wechat_signer.signed_headers(body))
    return response


@bp.route("/v3/<path:rest>", methods=["GET", "POST"])
@csrf.exempt  # called server to server; the merchant's signature protects it instead
def api(rest: str):
    """WeChat Pay API v3: h5 order, query, close, refund, refund query, tradebill."""
    alipay_switches.stall_if_chosen(TIMEOUT_KEY, "WECHATPAY_TIMEOUT")
    path = "/v3/" + rest
    signed_path = path + ("?" + request.query_string.decode("ascii", "replace") if request.query_string else "")
    text = request.get_data(as_text=True)
    signer = wechat_signer.merchant_of(request.headers.get("Authorization", ""), request.method, signed_path, text)
    status, answer = wechat_ledger.api_answer(request.method, path, text, request.args.to_dict(), signer)
    return _signed(status, answer)


def _redirect_url() -> str | None:
    url = request.args.get("redirect_url", "")
    return url if urlsplit(url).scheme in ("http", "https") else None


def _cashier_page(trade: SandboxWechatTrade, form: PayForm, status: int = 200):
    response = make_response(
        render_page("sandbox_wechat/cashier.html", status=status, trade=trade, form=form, back=_redirect_url())
    )
    response.headers["Cache-Control"] = "no-store"  # back after paying asks again
    return response


@bp.get("/cashier")
def cashier():
    """The page an h5_url opens (H5 payment in a phone's browser)."""
    trade = wechat_ledger.by_prepay_id(request.args.get("prepay_id", "")[:64])
    if trade is None:
        abort(404)
    return _cashier_page(trade, PayForm())


@bp.post("/cashier/<prepay_id>/pay")
def pay(prepay_id: str):
    """The payer pays: notifications go out in the background, the browser back to redirect_url."""
    trade = wechat_ledger.by_prepay_id(prepay_id[:64]) or abort(404)
    form = PayForm()
    if not form.validate_on_submit():
        return _cashier_page(trade, form, status=422)
    if wechat_ledger.pay(trade):
        paid = wechat_signer.notification_body(wechat_ledger.transaction(trade))
        waiting = wechat_signer.notification_body(wechat_ledger.transaction(trade, "NOTPAY"))
        steps = deliveries.plan(form.behaviour.data, paid, waiting, form.delay.data)
        deliveries.enqueue("wechat", trade.transaction_id, trade.notify_url, steps)
        deliveries.wake(current_app._get_current_object())  # type: ignore[attr-defined]
    elif trade.state not in ("SUCCESS", "REFUND"):
        return _cashier_page(trade, form, status=409)
    return redirect_after_post(_redirect_url() or url_for("main.home"))


@bp.get("/bills/<token>")
def bill(token: str):
    """A day's trade bill, within 30 seconds of its URL being issued; else 404."""
    day = wechat_bills.day_for_token(token)
    if day is None:
        abort(404)
    return Response(wechat_bills.bill_csv(day), content_type="text/csv; charset=utf-8")


@bp.get("/")
def switches():
    """The sandbox's switch: a share of API calls answered only after the client's timeout."""
    form = SwitchesForm(data={"timeout_percent": alipay_switches.timeout_percent(TIMEOUT_KEY)})
    return render_page("sandbox_wechat/switches.html", form=form)


@bp.post("/")
def set_switches():
    form = SwitchesForm()
    if not form.validate_on_submit():
        return render_page("sandbox_wechat/switches.html", form=form, status=422)
    alipay_switches.set_timeout_percent(form.timeout_percent.data, TIMEOUT_KEY)
    db.session.commit()
    flash(_("The WeChat Pay sandbox now times out on %(percent)s%% of API calls.", percent=form.timeout_percent.data))
    return redirect_after_post(url_for("sandbox_wechat.switches"))
