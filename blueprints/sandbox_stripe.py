"""The local Stripe sandbox (registered only in sandbox mode).

A real HTTP counterpart of the parts of Stripe's API the app uses, form-encoded under
PUBLIC_BASE_URL/sandbox/stripe (the stripe library's api base in sandbox mode): Checkout Sessions
(create, list, retrieve, expire), refunds, balance transactions; the Bearer key checked,
Idempotency-Key honoured, errors in Stripe's JSON shape. /sandbox/stripe/c/pay/<id> is the hosted
Checkout page a session's url opens; /sandbox/stripe/ holds the switch that makes a share of the API
calls time out. The rules live in sandbox.stripe_ledger, the webhooks in sandbox.stripe_webhooks.
"""

import functools

from flask import Blueprint, current_app, flash, jsonify, make_response, request, url_for
from flask_babel import gettext as _

from blueprints.sandbox_alipay import PayForm, SwitchesForm
from extensions import csrf, db
from sandbox import alipay_switches, stripe_ledger, stripe_webhooks
from sandbox.stripe_api import ApiError, check_key, fingerprint, idempotent, page
from sandbox.stripe_models import SandboxStripeSession
from web.rendering import redirect_after_post, render_page

bp = Blueprint("sandbox_stripe", __name__, url_prefix="/sandbox/stripe")
TIMEOUT_KEY = "stripe_api_timeout_percent"


def _expire_overdue() -> None:
    """Sessions past their expires_at expire, and Stripe tells the app (checkout.session.expired)."""
    for session in stripe_ledger.expire_overdue():
        stripe_webhooks.expired(session)


def api(view):
    """Stripe's manners around one API view returning (status, body): a share of calls answered only
    after the client's timeout, the key checked, overdue sessions expired, POSTs idempotent."""

    @functools.wraps(view)
    def wrapped(**values):
        alipay_switches.stall_if_chosen(TIMEOUT_KEY, "STRIPE_TIMEOUT")
        params = request.values.to_dict()
        try:
            check_key(request.headers.get("Authorization"))
            _expire_overdue()
            if request.method != "POST":
                (status, body), replayed = view(params, **values), False
            else:
                print_ = fingerprint(request.method, request.path, params)
                status, body, replayed = idempotent(
                    request.headers.get("Idempotency-Key"), print_, lambda: view(params, **values)
                )
        except ApiError as error:
            status, body, replayed = error.status, error.body(), False
        response = make_response(jsonify(body), status)
        response.headers["Request-Id"] = stripe_ledger.new_id("req")
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    return csrf.exempt(wrapped)  # server to server: the Bearer key protects it instead


def _checkout_url(session: SandboxStripeSession) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("sandbox_stripe.checkout_page", session_id=session.id)


@bp.post("/v1/checkout/sessions")
@api
def create_session(params):
    session = stripe_ledger.create_session(params)
    return 200, stripe_ledger.session_json(session, _checkout_url(session))


@bp.get("/v1/checkout/sessions")
@api
def list_sessions(params):
    return 200, page(stripe_ledger.list_sessions(params), params, "/v1/checkout/sessions")


@bp.get("/v1/checkout/sessions/<session_id>")
@api
def get_session(params, session_id: str):
    session = stripe_ledger.find(session_id)
    return 200, stripe_ledger.session_json(session, _checkout_url(session))


@bp.post("/v1/checkout/sessions/<session_id>/expire")
@api
def expire_session(params, session_id: str):
    session = stripe_ledger.find(session_id)
    stripe_ledger.expire(session)
    stripe_webhooks.expired(session)
    return 200, stripe_ledger.session_json(session, "")


@bp.post("/v1/refunds")
@api
def create_refund(params):
    refund = stripe_ledger.create_refund(params)
    stripe_webhooks.refunded(stripe_ledger.paid_session(refund.payment_intent), refund.id)
    return 200, stripe_ledger.refund_json(refund)


@bp.get("/v1/refunds")
@api
def list_refunds(params):
    return 200, page(stripe_ledger.list_refunds(params), params, "/v1/refunds")


@bp.get("/v1/balance_transactions")
@api
def balance_transactions(params):
    expand = any(
        name.startswith("expand[") and value == "data.source" for name, value in request.args.items(multi=True)
    )
    return 200, page(stripe_ledger.balance_transactions(params, expand), params, "/v1/balance_transactions")


# --- pages for people --------------------------------------------------------------------------


def _checkout(session: SandboxStripeSession, form: PayForm, status: int = 200):
    response = make_response(render_page("sandbox_stripe/checkout.html", status=status, session=session, form=form))
    # Back after paying must ask again (and say "paid"), not show a kept copy with a live Pay button.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/c/pay/<session_id>")
def checkout_page(session_id: str):
    """The hosted Checkout page a session's url opens (a sandbox stand-in: no card is asked for)."""
    _expire_overdue()
    session = db.get_or_404(SandboxStripeSession, session_id[:80])
    return _checkout(session, PayForm())


@bp.post("/c/pay/<session_id>")
def pay(session_id: str):
    """The buyer pays: the webhooks go out in the background, the browser to the success_url."""
    _expire_overdue()
    session = db.get_or_404(SandboxStripeSession, session_id[:80])
    form = PayForm()
    if not form.validate_on_submit():
        return _checkout(session, form, status=422)
    if stripe_ledger.pay(session):
        stripe_webhooks.paid(session, form.behaviour.data, form.delay.data)
    elif session.payment_status != "paid":  # expired meanwhile: nothing to pay any more
        return _checkout(session, form, status=409)
    return redirect_after_post(stripe_ledger.session_json(session, "")["success_url"])


def _retry_gaps() -> list[str]:
    """Stripe's pauses between webhook posts, as the sandbox keeps them: "10 m", …, "24 h"."""
    minutes = [int(gap.total_seconds() // 60) for gap in stripe_webhooks.RETRY_GAPS]
    return [f"{m // 60} h" if m >= 60 and m % 60 == 0 else f"{m} m" for m in minutes]


@bp.get("/")
def switches():
    """The sandbox's switch: a share of API calls answered only after the client's STRIPE_TIMEOUT."""
    form = SwitchesForm(data={"timeout_percent": alipay_switches.timeout_percent(TIMEOUT_KEY)})
    return render_page("sandbox_stripe/switches.html", form=form, retry_gaps=_retry_gaps())


@bp.post("/")
def set_switches():
    form = SwitchesForm()
    if not form.validate_on_submit():
        return render_page("sandbox_stripe/switches.html", form=form, retry_gaps=_retry_gaps(), status=422)
    alipay_switches.set_timeout_percent(form.timeout_percent.data, TIMEOUT_KEY)
    db.session.commit()
    flash(_("The Stripe sandbox now times out on %(percent)s%% of API calls.", percent=form.timeout_percent.data))
    return redirect_after_post(url_for("sandbox_stripe.switches"))
