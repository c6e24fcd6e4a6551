"""`flask --app app seed-demo`: realistic demo plans, a promo code and places to renew, safe to run again."""

from datetime import timedelta

import click
from sqlalchemy import select

from extensions import db
from models import Plan, Promotion, utcnow
from rules.offers import catalogue_version
from rules.travellers import iccid
from sandbox import demo_places

# A card a newcomer can bind in the sandbox: any mobile number the numbering plan has given out, and an
# ICCID of 19 or 20 digits starting with 89 whose last digit is its Luhn check digit.
DEMO_CARD_NUMBER = "+852 6123 4567"
DEMO_CARD_ICCID = iccid.with_check_digit("898520012345678901")  # 8985200123456789017

GB = 1024
# code, English, 简体, 繁體, region, days, data MB (None = unlimited), fair use MB, voice min, price in cents
PLANS = [
    ("hk-1d", "Hong Kong Day Pass", "香港1天通", "香港1日通", "hk", 1, 3 * GB, None, 0, 1800),
    ("gba-1d", "Greater Bay Day Pass", "大湾区1天通", "大灣區1日通", "hk_cn", 1, 2 * GB, None, 30, 2800),
    ("gba-3d", "Greater Bay 3-Day", "大湾区3天", "大灣區3日", "hk_cn", 3, 5 * GB, None, 60, 5800),
    ("gba-7d", "Greater Bay 7-Day", "大湾区7天", "大灣區7日", "hk_cn", 7, 10 * GB, None, 100, 9800),
    ("trio-7d", "HK + Mainland + Macau 7-Day", "港澳内地7天", "港澳內地7日", "hk_cn_mo", 7, 8 * GB, None, 100, 11800),
    (
        "trio-3d-unl",
        "Three-Region Unlimited 3-Day",
        "三地无限3天",
        "三地無限3日",
        "hk_cn_mo",
        3,
        None,
        3 * GB,
        60,
        8800,
    ),
    ("hk-30d", "Hong Kong Monthly 30 GB", "香港月费30GB", "香港月費30GB", "hk", 30, 30 * GB, None, 1000, 9800),
    (
        "gba-30d",
        "Greater Bay Monthly 20 GB",
        "大湾区月费20GB",
        "大灣區月費20GB",
        "hk_cn",
        30,
        20 * GB,
        None,
        500,
        16800,
    ),
    (
        "gba-90d",
        "Greater Bay Quarterly 60 GB",
        "大湾区季度60GB",
        "大灣區季度60GB",
        "hk_cn",
        90,
        60 * GB,
        None,
        1500,
        42800,
    ),
    (
        "trio-365d",
        "Three-Region Yearly 240 GB",
        "三地年费240GB",
        "三地年費240GB",
        "hk_cn_mo",
        365,
        240 * GB,
        None,
        6000,
        138800,
    ),
]
SALES = {"gba-7d": 7800, "hk-30d": 7800}  # limited-time promotions running for the next 30 days


def seed() -> int:
    """Insert or refresh the demo plans; return how many were created."""
    created = 0
    now = utcnow()
    for order, (code, en, hans, hant, region, days, data_mb, fair_use, voice, price) in enumerate(PLANS):
        plan = db.session.scalars(select(Plan).where(Plan.code == code)).first()
        if plan is None:
            plan = Plan(code=code)
            db.session.add(plan)
            created += 1
        plan.name_en, plan.name_zh_hans, plan.name_zh_hant = en, hans, hant
        plan.region, plan.days, plan.data_mb, plan.fair_use_mb = region, days, data_mb, fair_use
        plan.voice_minutes, plan.price_cents, plan.currency = voice, price, "HKD"
        plan.sale_price_cents = SALES.get(code)
        plan.sale_starts_at = now - timedelta(days=1) if code in SALES else None
        plan.sale_ends_at = now + timedelta(days=30) if code in SALES else None
        plan.active, plan.sort_order = True, order * 10
    if db.session.scalars(select(Promotion).where(Promotion.code == "WELCOME10")).first() is None:
        db.session.add(
            Promotion(code="WELCOME10", percent_off=10, min_spend_cents=5000, max_uses=1000, max_uses_per_account=1)
        )
    demo_places.seed()
    catalogue_version.bump()  # running servers forget their cached plan pages and lists
    db.session.commit()
    return created


@click.command("seed-demo")
def seed_demo():
    """Load the demo plans and promo code (idempotent)."""
    created = seed()
    click.echo(f"demo data ready ({created} plans created, {len(PLANS)} in all)")
    click.echo("Sign in with a Hong Kong or mainland mobile number, e.g. +852 9123 4567; read the code at /sandbox/sms")
    click.echo(
        f"Demo card to bind: number {DEMO_CARD_NUMBER}, ICCID {DEMO_CARD_ICCID} "
        "(its confirmation code also shows at /sandbox/sms)"
    )
    click.echo("More demo cards, and switches that make the simulated carrier fail or slow: /sandbox/carrier")
    click.echo("Demo promo code: WELCOME10 (10 % off from HK$50)")
    click.echo(f"Places to renew in person: {len(demo_places.PLACES)} at /shops")
