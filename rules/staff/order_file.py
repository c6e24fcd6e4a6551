"""Everything staff see about one order, gathered in one place for the order detail page."""

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from extensions import db
from models import Account, AuditEntry, CardPack, GatewayCall, Order, PaymentNotification, SmsMessage, StaffNote
from rules.ordering import orders

ORDER_NUMBER = re.compile(r"^[0-9A-Z-]{1,20}$")


@dataclass
class OrderFile:
    order: Order
    account_phone: str | None
    notifications: list[PaymentNotification]
    gateway_calls: list[GatewayCall]
    packs: list[CardPack]
    sms: list[SmsMessage]
    notes: list[StaffNote]
    audit: list[AuditEntry]


def find(number: str | None) -> Order | None:
    """The order with this number (typed in any case, with or without the dash), or None."""
    number = orders.normalise_number((number or "")[:24])
    if not ORDER_NUMBER.match(number):
        return None  # e.g. a NUL byte, which PostgreSQL refuses in any query
    return db.session.scalars(select(Order).where(Order.number == number)).first()


def details(text: str | None) -> Any:
    """A transition's details as data when they are JSON, else the text."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def order_file(order: Order) -> OrderFile:
    def rows(query):
        return list(db.session.scalars(query))

    account = db.session.get(Account, order.account_id) if order.account_id else None
    return OrderFile(
        order=order,
        account_phone=account.phone if account else None,
        notifications=rows(
            select(PaymentNotification)
            .where(PaymentNotification.out_trade_no == order.number)
            .order_by(PaymentNotification.id)
        ),
        gateway_calls=rows(select(GatewayCall).where(GatewayCall.order_id == order.id).order_by(GatewayCall.id)),
        packs=rows(select(CardPack).where(CardPack.order_id == order.id)),
        # The messages about this order: each names its number (sign-in codes never do).
        sms=rows(
            select(SmsMessage)
            .where(SmsMessage.to_phone == order.card.msisdn, SmsMessage.body.contains(order.number))
            .order_by(SmsMessage.id)
        ),
        notes=rows(select(StaffNote).where(StaffNote.order_id == order.id).order_by(StaffNote.id)),
        audit=rows(select(AuditEntry).where(AuditEntry.order_id == order.id).order_by(AuditEntry.id)),
    )
