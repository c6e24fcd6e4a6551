"""The sandbox Stripe's ledger and API answers (sandbox mode only): Checkout Sessions, their payment
(a PaymentIntent and its charge), refunds and balance transactions, as Stripe's JSON.

It checks what Stripe checks for the calls the app makes: one line item with a positive amount,
https or http URLs, an expires_at between 30 minutes and 24 hours ahead, a refund no larger than
what is left. An open session past its expires_at is expired when next looked at.
"""

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import cast
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from extensions import db
from models import utcnow
from sandbox.stripe_api import ApiError, created_filter, integer
from sandbox.stripe_models import SandboxStripeRefund, SandboxStripeSession

SHORTEST = timedelta(minutes=30)  # Stripe's bounds on a session's expires_at, from its creation
LONGEST = timedelta(hours=24)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def unix(moment: datetime | None) -> int | None:
    return int(moment.replace(tzinfo=UTC).timestamp()) if moment else None


def _metadata(params: Mapping[str, str], prefix: str) -> dict[str, str]:
    """metadata[key]=value pairs under `prefix` (e.g. "metadata", "payment_intent_data[metadata]")."""
    start = prefix + "["
    return {
        name[len(start) : -1]: value for name, value in params.items() if name.startswith(start) and name.endswith("]")
    }


def _url(params: Mapping[str, str], name: str, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None and not required:
        return None
    if not value or urlsplit(value).scheme not in ("http", "https") or len(value) > 500:
        raise ApiError(400, f"Not a valid URL: {name}", "url_invalid", name)
    return value


def create_session(params: Mapping[str, str]) -> SandboxStripeSession:
    if params.get("mode") != "payment":
        raise ApiError(400, "The sandbox only takes mode=payment.", "parameter_invalid_string", "mode")
    if any(name.startswith("line_items[1]") for name in params):
        raise ApiError(400, "The sandbox takes one line item.", "parameter_invalid_array", "line_items")
    item = "line_items[0]"
    unit = integer(params, f"{item}[price_data][unit_amount]")
    quantity = integer(params, f"{item}[quantity]", 1)
    currency = params.get(f"{item}[price_data][currency]", "")
    if unit < 1 or quantity < 1 or len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise ApiError(
            400, "A positive unit_amount, a quantity and a currency are required.", "parameter_missing", item
        )
    now = utcnow()
    expires = datetime.fromtimestamp(integer(params, "expires_at", unix(now + LONGEST) or 0), UTC).replace(tzinfo=None)
    if not now + SHORTEST - timedelta(seconds=5) <= expires <= now + LONGEST:
        message = "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation."
        raise ApiError(400, message, "parameter_invalid_integer", "expires_at")
    metadata = {"session": _metadata(params, "metadata"), "intent": _metadata(params, "payment_intent_data[metadata]")}
    session = SandboxStripeSession(
        id=new_id("cs_test"),
        client_reference_id=(params.get("client_reference_id") or "")[:200] or None,
        metadata_json=json.dumps(metadata),
        amount_total=unit * quantity,
        currency=currency.lower(),
        success_url=_url(params, "success_url"),
        cancel_url=_url(params, "cancel_url", required=False),
        locale=(params.get("locale") or "")[:10] or None,
        expires_at=expires,
        created_at=now,
    )
    db.session.add(session)
    db.session.commit()
    return session


def expire_overdue() -> list[SandboxStripeSession]:
    """Open sessions past their expires_at, expired now (Stripe does it on its own clock); those this
    call expired (of two calls at once, one expires each)."""
    now = utcnow()
    query = select(SandboxStripeSession).where(
        SandboxStripeSession.status == "open", SandboxStripeSession.expires_at <= now
    )
    overdue = list(db.session.scalars(query))
    return [session for session in overdue if _move(session, status="expired")]


def find(session_id: str) -> SandboxStripeSession:
    session = db.session.get(SandboxStripeSession, session_id[:80])
    if session is None:
        raise ApiError(404, f"No such checkout.session: '{session_id[:80]}'", "resource_missing", "id")
    return session


def _move(session: SandboxStripeSession, **values) -> bool:
    """A conditional change of an open session (of two clicks or calls at once, one wins)."""
    moved = db.session.execute(
        update(SandboxStripeSession)
        .where(SandboxStripeSession.id == session.id, SandboxStripeSession.status == "open")
        .values(**values)
    )
    db.session.commit()
    db.session.refresh(session)
    return cast(CursorResult, moved).rowcount == 1


def pay(session: SandboxStripeSession) -> bool:
    """The buyer pays; False if the session was not open (a double click pays once, a late one never)."""
    intent = new_id("pi")
    return _move(session, status="complete", payment_status="paid", payment_intent=intent, paid_at=utcnow())


def expire(session: SandboxStripeSession) -> bool:
    if _move(session, status="expired"):
        return True
    message = f"Only Checkout Sessions with a status in [open] can be expired (this one is {session.status})."
    raise ApiError(400, message, "checkout_session_not_open")


def list_sessions(params: Mapping[str, str]) -> list[dict]:
    query = select(SandboxStripeSession).order_by(
        SandboxStripeSession.created_at.desc(), SandboxStripeSession.id.desc()
    )
    if params.get("payment_intent"):
        query = query.where(SandboxStripeSession.payment_intent == params["payment_intent"])
    if params.get("status"):
        query = query.where(SandboxStripeSession.status == params["status"])
    keep = created_filter(params)
    return [session_json(row, "") for row in db.session.scalars(query) if keep(unix(row.created_at) or 0)]


def session_json(session: SandboxStripeSession, url: str) -> dict:
    metadata = json.loads(session.metadata_json)
    return {
        "id": session.id,
        "object": "checkout.session",
        "amount_subtotal": session.amount_total,
        "amount_total": session.amount_total,
        "cancel_url": session.cancel_url,
        "client_reference_id": session.client_reference_id,
        "created": unix(session.created_at),
        "currency": session.currency,
        "expires_at": unix(session.expires_at),
        "livemode": False,
        "locale": session.locale,
        "metadata": metadata["session"],
        "mode": "payment",
        "payment_intent": session.payment_intent,
        "payment_status": session.payment_status,
        "status": session.status,
        "success_url": session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id),
        "url": url if session.status == "open" else None,
    }


# --- refunds and the balance ---------------------------------------------------------------------


def paid_session(intent: str) -> SandboxStripeSession:
    session = db.session.scalars(
        select(SandboxStripeSession).where(SandboxStripeSession.payment_intent == intent)
    ).first()
    if session is None or session.payment_status != "paid":
        raise ApiError(400, f"No such payment_intent: '{intent[:40]}'", "resource_missing", "payment_intent")
    return session


def refunded(intent: str) -> int:
    amounts = db.session.scalars(select(SandboxStripeRefund.amount).where(SandboxStripeRefund.payment_intent == intent))
    return sum(amounts)


def create_refund(params: Mapping[str, str]) -> SandboxStripeRefund:
    session = paid_session(params.get("payment_intent", ""))
    left = session.amount_total - refunded(session.payment_intent or "")
    if left <= 0:
        raise ApiError(400, "This charge has already been refunded.", "charge_already_refunded")
    amount = integer(params, "amount", left)
    if not 0 < amount <= left:
        message = f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
        raise ApiError(400, message, "amount_too_large", "amount")
    refund = SandboxStripeRefund(
        id=new_id("re"),
        payment_intent=session.payment_intent or "",
        amount=amount,
        currency=session.currency,
        metadata_json=json.dumps(_metadata(params, "metadata")),
    )
    db.session.add(refund)
    db.session.commit()
    return refund


def refund_json(refund: SandboxStripeRefund) -> dict:
    return {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "charge": "ch_" + refund.payment_intent.removeprefix("pi_"),
        "created": unix(refund.created_at),
        "currency": refund.currency,
        "metadata": json.loads(refund.metadata_json),
        "payment_intent": refund.payment_intent,
        "status": refund.status,
    }


def list_refunds(params: Mapping[str, str]) -> list[dict]:
    query = select(SandboxStripeRefund).order_by(SandboxStripeRefund.created_at.desc(), SandboxStripeRefund.id.desc())
    if params.get("payment_intent"):
        query = query.where(SandboxStripeRefund.payment_intent == params["payment_intent"])
    return [refund_json(row) for row in db.session.scalars(query)]


def charge_json(session: SandboxStripeSession) -> dict:
    intent = session.payment_intent or ""
    done = refunded(intent)
    return {
        "id": "ch_" + intent.removeprefix("pi_"),
        "object": "charge",
        "amount": session.amount_total,
        "amount_refunded": done,
        "created": unix(session.paid_at),
        "currency": session.currency,
        "metadata": json.loads(session.metadata_json)["intent"],
        "paid": True,
        "payment_intent": intent,
        "refunded": done >= session.amount_total,
        "status": "succeeded",
    }


def balance_transactions(params: Mapping[str, str], expand: bool) -> list[dict]:
    """Each paid session's charge and each refund as a balance transaction, newest first."""
    keep = created_filter(params)
    rows = []
    for session in db.session.scalars(
        select(SandboxStripeSession).where(SandboxStripeSession.payment_status == "paid")
    ):
        rows.append(("charge", session.paid_at, session.amount_total, session.currency, charge_json(session)))
    for refund in db.session.scalars(select(SandboxStripeRefund)):
        rows.append(("refund", refund.created_at, -refund.amount, refund.currency, refund_json(refund)))
    items = [
        {
            "id": "txn_" + source["id"].replace("_", "", 1),
            "object": "balance_transaction",
            "amount": amount,
            "created": unix(when),
            "currency": currency,
            "source": source if expand else source["id"],
            "type": kind,
        }
        for kind, when, amount, currency, source in rows
        if keep(unix(when) or 0)
    ]
    return sorted(items, key=lambda item: (item["created"], item["id"]), reverse=True)
