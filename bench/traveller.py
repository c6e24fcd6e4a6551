"""A traveller with a bound card and some orders, for the signed-in benchmarks.

Orders are made by the real checkout rule and all but the last are cancelled (that frees the
card+plan slot), so the orders page lists `count` orders across every plan.
"""

from sqlalchemy import select

from extensions import db
from models import Account, Card, Plan
from rules.ordering import orders
from rules.travellers import iccid
from sandbox import demo_data

PHONE = "+85291230000"
MSISDN = "+85261230000"


def seed(app, count: int, phone: str = PHONE, msisdn: str = MSISDN) -> dict:
    """Make sure `phone` has a card and `count` orders; returns {"card": id, "plan": code}."""
    with app.test_request_context():
        if db.session.scalar(select(Plan.id).limit(1)) is None:
            demo_data.seed()
        account = db.session.scalars(select(Account).where(Account.phone == phone)).first()
        if account is None:
            account = Account(phone=phone, locale="en")
            db.session.add(account)
        card = db.session.scalars(select(Card).where(Card.msisdn == msisdn)).first()
        if card is None:
            card = Card(msisdn=msisdn, iccid=iccid.with_check_digit("8985200" + msisdn[-11:]), account=account)
            db.session.add(card)
        db.session.flush()
        plans = list(db.session.scalars(select(Plan).where(Plan.active).order_by(Plan.sort_order)))
        have = len(orders.for_account(account, limit=count + 1))
        for number in range(have, count):
            order = orders.create_order(account, card, plans[number % len(plans)], None, "en")
            if number < count - 1:
                orders.cancel(order, "traveller")
            db.session.commit()
        return {"card": card.id, "plan": plans[0].code}
