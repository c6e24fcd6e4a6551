"""The local Alipay sandbox gateway (registered only in sandbox mode).

It plays Alipay over real HTTP at PUBLIC_BASE_URL/sandbox/alipay/gateway.do, so the real SDK, real
signatures and the app's notification handling run end to end: GET is the cashier a phone is sent
to, POST is the server-to-server API. The rules live in alipay_sandbox_ledger, the signing and
notifications in sandbox.alipay_signer and their deliveries in sandbox.deliveries; sign_as_alipay and
post_notification are re-exported for tests. /sandbox/alipay/ holds the switch that makes a share of the
API calls time out (sandbox.alipay_switches).
"""

from flask import Blueprint, Response, abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, IntegerField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, StopValidation

from extensions import csrf, db
from gateways.alipay_gateway import amount_to_cents
from sandbox import alipay_bills, alipay_signer, alipay_switches, deliveries
from sandbox import alipay_ledger as ledger
from sandbox.alipay_signer import post_notification, sign_as_alipay  # noqa: F401  (helpers for tests)
from sandbox.models import SandboxTrade
from web.rendering import redirect_after_post, render_page

bp = Blueprint("sandbox_alipay", __name__, url_prefix="/sandbox/alipay")


@bp.before_app_request
def deliver_what_earlier_processes_left():
    """A restarted worker delivers the notifications still owed (a flag check after the first request)."""
    deliveries.wake_on_first_request(current_app._get_current_object())  # type: ignore[attr-defined]


def ascii_digits(_form, field) -> None:
    """int() also reads other scripts' digits ("٤٠" is 40): these fields take 0-9 only."""
    raw = (field.raw_data or [""])[0]
    if not (raw.isascii() and raw.strip().isdigit()):
        raise StopValidation(_l("Type the number with the digits 0-9."))


class SwitchesForm(FlaskForm):
    """How the gateway's server-to-server API answers (every worker: a SandboxSetting row)."""

    timeout_percent = IntegerField(
        _l("Time out on this share of API calls (query, close, refund, bill), in %"),
        validators=[InputRequired(), ascii_digits, NumberRange(min=0, max=100)],
    )


class PayForm(FlaskForm):
    """The cashier's Pay button, with how the sandbox should notify the merchant afterwards."""

    behaviour = RadioField(
        _l("Notification to the merchant"),
        default="normal",
        choices=[
            SelectChoice("normal", _l("Normal: once, at once")),
            SelectChoice("drop", _l("Drop: never sent")),
            SelectChoice("repeat", _l("Repeat: sent 3 times")),
            SelectChoice("delay", _l("Delay: sent after the delay")),
            SelectChoice("reorder", _l("Reorder: stale 'waiting' before and after a late 'paid'")),
        ],
        validators=[InputRequired()],
    )
    delay = IntegerField(
        _l("Delay in seconds (delay, reorder)"),
        default=5,
        validators=[InputRequired(), ascii_digits, NumberRange(min=0, max=60)],
    )
    currency = HiddenField()  # shown only; the ledger keeps no currency


def _cashier_page(trade: SandboxTrade, currency: str, form: PayForm, status: int = 200):
    form.currency.data = currency
    # Paid (later refunded too): the way back is the merchant's return page, never a second Pay button.
    return_url = ledger.return_url(trade) if trade.paid_at is not None else None
    response = make_response(
        render_page(
            "sandbox_alipay/cashier.html",
            status=status,
            trade=trade,
            form=form,
            currency=currency,
            cents=amount_to_cents(trade.total_amount),
            return_url=return_url,
        )
    )
    # Back after paying must ask again (and so say "already paid"), not show a kept copy with a live Pay button.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def switches():
    """The gateway's switches: a share of API calls answered only after the client's timeout."""
    form = SwitchesForm(data={"timeout_percent": alipay_switches.timeout_percent()})
    return render_page("sandbox_alipay/switches.html", form=form)


@bp.post("/")
def set_switches():
    form = SwitchesForm()
    if not form.validate_on_submit():
        return render_page("sandbox_alipay/switches.html", form=form, status=422)
    alipay_switches.set_timeout_percent(form.timeout_percent.data)
    db.session.commit()
    flash(_("The sandbox gateway now times out on %(percent)s%% of API calls.", percent=form.timeout_percent.data))
    return redirect_after_post(url_for("sandbox_alipay.switches"))


@bp.get("/gateway.do")
def cashier():
    """The cashier a signed payment URL opens; a clear 400 for anything not signed by our app."""
    try:
        trade, currency = ledger.open_trade(request.args.to_dict())
    except ledger.Refused as refusal:
        return render_page("sandbox_alipay/refused.html", status=400, reason=str(refusal))
    return _cashier_page(trade, currency, PayForm())


@bp.post("/gateway.do")
@csrf.exempt  # the SDK posts here server to server; the app's RSA signature protects it instead
def api():
    """alipay.trade.query / close / refund / fastpay.refund.query and the bill URL, answered and signed
    as Alipay answers them; a share of them only after the client has timed out (the switch on
    /sandbox/alipay/)."""
    alipay_switches.stall_if_chosen()
    # The SDK puts the common parameters in the query string and biz_content in the body.
    method, content = ledger.api_answer({**request.args.to_dict(), **request.form.to_dict()})
    return Response(alipay_signer.sign_response(method, content), content_type="application/json;charset=utf-8")


@bp.post("/trades/<trade_no>/pay")
def pay(trade_no: str):
    """The buyer pays: notifications go out in the background, the browser back to the merchant."""
    trade = db.first_or_404(select(SandboxTrade).where(SandboxTrade.trade_no == trade_no))
    form = PayForm()
    if not form.validate_on_submit():
        return _cashier_page(trade, form.currency.data or "", form, status=422)
    if ledger.pay(trade):
        paid, waiting = ledger.notifications(trade)
        steps = alipay_signer.plan(form.behaviour.data, paid, waiting, form.delay.data)
        deliveries.enqueue("alipay", trade.trade_no, trade.notify_url, steps)
        deliveries.wake(current_app._get_current_object())  # type: ignore[attr-defined]
    elif trade.status != "TRADE_SUCCESS":  # closed meanwhile: nothing to pay any more
        return _cashier_page(trade, form.currency.data or "", form, status=409)
    return redirect_after_post(ledger.return_url(trade))


@bp.get("/bills/<token>")
def bill(token: str):
    """The day's trade bill (a zip), once, within 30 seconds of its URL being issued; else 404."""
    day = alipay_bills.day_for_token(token)
    if day is None:
        abort(404)
    response = Response(alipay_bills.bill_zip(day), content_type="application/zip")
    response.headers["Content-Disposition"] = f"attachment; filename=bill-{day:%Y%m%d}.csv.zip"
    response.headers["Cache-Control"] = "no-store"
    return response
