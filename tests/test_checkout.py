"""The checkout pages: review, promo code (htmx and plain), confirm, and every bad input refused."""

import re
from datetime import timedelta

import pytest
from conftest import csrf_token
from sqlalchemy import func, select

from extensions import db
from models import Account, Card, Order, Promotion, utcnow
from rules.text.formatting import hk_time

PHONE = "+85291234567"
HTMX = {"HX-Request": "true"}


def add_card(app, phone: str | None = PHONE, n: int = 1, nickname: str | None = None) -> int:
    """A card bound to the account of `phone` (None: a card nobody has bound); returns its id."""
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.phone == phone)).first() if phone else None
        card = Card(
            msisdn=f"+8526{n:07d}",
            iccid=f"89852{n:015d}",
            nickname=nickname,
            account_id=account.id if account else None,
            bound_at=utcnow() if account else None,
        )
        db.session.add(card)
        db.session.commit()
        return card.id


def add_promo(app, code: str, **settings) -> None:
    with app.app_context():
        db.session.add(Promotion(code=code, percent_off=10, **settings))
        db.session.commit()


def order_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order))


@pytest.fixture
def traveller(app, client, plans, sign_in):
    """A signed-in traveller with one card, "Mum" (+852 6000 0001); returns the card id."""
    sign_in(PHONE)
    return add_card(app, nickname="Mum")


def confirm(client, card_id, plan="gba-3d", headers=None, **fields):
    """Post the confirm form the way the review page does (its own CSRF token)."""
    page = client.get(f"/checkout?plan={plan}&card={card_id}")
    data = {"csrf_token": csrf_token(page.text), "plan": plan, "card": card_id, **fields}
    return client.post("/checkout/confirm", data=data, headers=headers or {})


def promo(client, card_id, code, plan="gba-3d", headers=None):
    page = client.get(f"/checkout?plan={plan}&card={card_id}")
    return client.post(
        "/checkout/promo",
        headers=headers or {},
        data={"csrf_token": csrf_token(page.text), "plan": plan, "card": card_id, "promo_code": code},
    )


# Getting to the review page


def test_checkout_needs_a_signed_in_traveller(client, plans):
    response = client.get("/checkout?plan=gba-3d")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_without_a_card_the_traveller_is_sent_to_add_one_and_comes_back(client, plans, sign_in):
    sign_in(PHONE)
    response = client.get("/checkout?plan=gba-3d")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/cards?next=/checkout?plan%3Dgba-3d")


def test_the_plan_page_leads_to_the_checkout(client, plans):
    page = client.get("/plans/gba-3d")
    assert 'href="/checkout?plan=gba-3d"' in page.text and "Top up with this plan" in page.text


def test_the_review_shows_card_plan_validity_price_and_that_nothing_is_charged_yet(app, client, traveller):
    page = client.get(f"/checkout?plan=gba-3d&card={traveller}")
    assert page.status_code == 200
    for expected in (
        "Mum",
        "+852 6000 0001",  # the traveller's own card: the whole number
        "Greater Bay 3-Day",
        "Hong Kong + mainland China",
        "3 days",
        "5 GB",
        "HK$58.00",
        "Nothing is charged until you confirm",
        "Confirm and pay",
        'name="promo_code"',
        "Hong Kong time",
    ):
        assert expected in page.text, expected
    end = hk_time(utcnow() + timedelta(days=3), "date")
    assert end in page.text
    assert f'href="/checkout?plan=gba-3d&amp;card={traveller}&amp;change=card"' in page.text
    assert f'href="/checkout?plan=gba-3d&amp;card={traveller}&amp;change=plan"' in page.text


def test_with_one_card_the_review_opens_straight_away(client, traveller):
    page = client.get("/checkout?plan=gba-3d")
    assert "Confirm and pay" in page.text and f'name="card" value="{traveller}"' in page.text


def test_a_sale_price_shows_the_list_price_struck_through(client, traveller):
    page = client.get(f"/checkout?plan=gba-7d&card={traveller}")
    assert "<s " in page.text and "HK$98.00" in page.text and "HK$78.00" in page.text


def test_with_several_cards_the_traveller_picks_one(app, client, traveller):
    other = add_card(app, n=2, nickname="Dad")
    page = client.get("/checkout?plan=gba-3d")
    assert "Which card" in page.text and "Confirm and pay" not in page.text
    assert f'type="radio" name="card" value="{traveller}"' in page.text
    assert f'type="radio" name="card" value="{other}"' in page.text and "+852 6000 0002" in page.text
    assert 'type="hidden" name="plan" value="gba-3d"' in page.text
    review = client.get(f"/checkout?plan=gba-3d&card={other}")
    assert "Dad" in review.text and "Confirm and pay" in review.text


def test_change_plan_is_one_tap_and_keeps_the_card(client, traveller):
    page = client.get(f"/checkout?plan=gba-3d&card={traveller}&change=plan")
    assert "Which plan" in page.text and f'type="hidden" name="card" value="{traveller}"' in page.text
    assert re.search(r'value="gba-3d" required checked', page.text) and "Three-Region Yearly" in page.text


def test_the_review_is_a_fragment_for_htmx(client, traveller):
    page = client.get(f"/checkout?plan=gba-3d&card={traveller}", headers=HTMX)
    assert page.status_code == 200 and "<html" not in page.text and "<title>" in page.text
    assert "Confirm and pay" in page.text
    assert "HX-Request" in page.headers["Vary"]
    assert page.headers["HX-Push-Url"] == f"/checkout?plan=gba-3d&card={traveller}"
    assert "<html" in client.get(f"/checkout?plan=gba-3d&card={traveller}").text


def test_an_unpaid_order_for_the_same_card_and_plan_is_mentioned(app, client, traveller):
    number = confirm(client, traveller).headers["Location"].split("/")[-2]
    page = client.get(f"/checkout?plan=gba-3d&card={traveller}")
    assert f'You already have an unpaid order <span class="nowrap">{number}</span>' in page.text


# Promo codes


def test_a_promo_code_applied_with_htmx_swaps_only_the_summary(client, traveller):
    response = promo(client, traveller, "welcome10", headers={**HTMX, "HX-Target": "checkout-summary"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="checkout-summary"')
    assert "<html" not in response.text and "<h1>" not in response.text
    assert "−HK$5.80" in response.text and "HK$52.20" in response.text
    assert 'name="promo_code" value="WELCOME10"' in response.text  # carried to confirm
    assert "HX-Request" in response.headers["Vary"]


def test_a_promo_code_applied_without_javascript_redirects_to_a_review_page_that_keeps_it(client, traveller):
    response = promo(client, traveller, " welcome10 ")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/checkout?plan=gba-3d&card={traveller}&promo=welcome10"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "<html" in page.text
    assert "Code WELCOME10 applied" in page.text and "HK$52.20" in page.text
    assert 'name="promo_code" value="WELCOME10"' in page.text  # carried to confirm


def test_switching_language_after_a_promo_code_comes_back_to_the_same_review(client, traveller):
    review_url = promo(client, traveller, "WELCOME10").headers["Location"]
    page = client.get(review_url)
    switch = re.search(r'href="(/lang/zh_Hant\?next=[^"]+)"', page.text).group(1).replace("&amp;", "&")
    response = client.get(switch)
    assert response.status_code == 303 and response.headers["Location"] == review_url
    page = client.get(review_url)
    assert page.status_code == 200 and "WELCOME10" in page.text and "HK$52.20" in page.text
    assert "核對資料" in page.text or 'lang="zh-Hant"' in page.text


def test_removing_the_promo_code_without_javascript_goes_back_to_the_plain_review(client, traveller):
    response = promo(client, traveller, "")
    assert response.headers["Location"] == f"/checkout?plan=gba-3d&card={traveller}"
    assert "HK$58.00" in client.get(response.headers["Location"]).text


def test_the_htmx_promo_swap_gives_the_address_a_reload_can_open(client, traveller):
    response = promo(client, traveller, "WELCOME10", headers={**HTMX, "HX-Target": "checkout-summary"})
    assert response.headers["HX-Replace-Url"] == f"/checkout?plan=gba-3d&card={traveller}&promo=WELCOME10"
    assert 'id="lang-links" hx-swap-oob="true"' in response.text  # the language links follow the new address
    assert f"/lang/zh_Hant?next=/checkout?plan%3Dgba-3d%26card%3D{traveller}%26promo%3DWELCOME10" in response.text


@pytest.mark.parametrize(
    "code, settings, reason",
    [
        ("OLD", {"ends_at": utcnow() - timedelta(days=1)}, "This promo code expired on"),
        ("GONE", {"max_uses": 1, "uses_reserved": 1}, "This promo code has been fully used"),
        ("NOSUCH", None, "We do not know this promo code"),
    ],
)
def test_a_refused_promo_code_says_why_and_keeps_the_full_price(app, client, traveller, code, settings, reason):
    if settings is not None:
        add_promo(app, code, **settings)
    for headers in ({}, {**HTMX, "HX-Target": "checkout-summary"}):
        response = promo(client, traveller, code, headers=headers)
        if not headers:  # without JavaScript: the 303 to the review page, which says why
            response = client.get(response.headers["Location"])
        assert response.status_code == 422 and reason in response.text
        assert 'aria-invalid="true"' in response.text and "HK$58.00" in response.text
        assert 'name="promo_code" value=""' in response.text  # nothing carried to confirm


# Confirming


def test_confirm_creates_one_order_and_sends_the_browser_to_pay(app, client, traveller):
    first = confirm(client, traveller, promo_code="WELCOME10")
    assert first.status_code == 303
    number = re.fullmatch(r".*/orders/(RR\d{6}-[0-9A-Z]{6})/pay", first.headers["Location"]).group(1)
    second = confirm(client, traveller, promo_code="WELCOME10")
    assert second.headers["Location"] == first.headers["Location"]
    with app.app_context():
        order = db.session.scalars(select(Order)).one()
        assert (order.number, order.total_cents, order.discount_cents) == (number, 5220, 580)
        assert order.promotion.code == "WELCOME10" and order.locale == "en"


def test_confirm_from_htmx_makes_the_browser_load_the_payment_page_itself(client, traveller):
    response = confirm(client, traveller, headers=HTMX)
    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith("/pay")


def test_a_total_that_changed_since_the_page_was_shown_is_shown_again_before_charging(app, client, traveller):
    response = confirm(client, traveller, quoted="4900")
    assert response.status_code == 409 and "The price has changed" in response.text and "HK$58.00" in response.text
    assert order_count(app) == 0
    assert confirm(client, traveller, quoted="5800").status_code == 303


def test_a_promo_code_that_ran_out_before_confirm_is_refused_and_nothing_is_created(app, client, traveller):
    add_promo(app, "LAST", max_uses=1)
    page = client.get(promo(client, traveller, "LAST").headers["Location"])
    assert "Code LAST applied" in page.text
    with app.app_context():
        db.session.execute(db.update(Promotion).values(uses_reserved=1))  # someone else took the last one
        db.session.commit()
    response = confirm(client, traveller, promo_code="LAST", quoted="5220")
    assert response.status_code == 422 and "fully used" in response.text
    assert order_count(app) == 0


def test_an_order_that_ran_out_of_time_is_explained_not_reused(app, client, traveller):
    confirm(client, traveller)
    with app.app_context():
        db.session.execute(db.update(Order).values(pay_by=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    response = confirm(client, traveller)
    assert (
        response.status_code == 409 and "not paid in time" in response.text and "Nothing was charged" in response.text
    )
    assert order_count(app) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"plan": "no-such-plan"},
        {"plan": ""},
        {"card": "abc"},
        {"card": "-1"},
        {"card": "1e3"},
        {"card": "99999999999999999999999"},
        {"card": ""},
        {"card": "someone-else"},
        {"card": "unbound"},
    ],
)
def test_a_tampered_plan_or_card_is_refused_clearly_and_creates_nothing(app, client, traveller, sign_in, fields):
    if fields.get("card") == "someone-else":
        fields = {"card": add_card(app, "+85298765432", n=7)}
    if fields.get("card") == "unbound":
        fields = {"card": add_card(app, None, n=8)}
    page = client.get(f"/checkout?plan=gba-3d&card={traveller}")
    data = {"csrf_token": csrf_token(page.text), "plan": "gba-3d", "card": traveller, "promo_code": "", **fields}
    for action in ("/checkout/confirm", "/checkout/promo"):
        response = client.post(action, data=data)
        assert response.status_code == 404, response.text
        assert "not on sale any more" in response.text or "not in your cards" in response.text
        assert "Nothing was charged" in response.text
    assert order_count(app) == 0


@pytest.mark.parametrize(
    "query", ["plan=no-such-plan", "plan=gba-3d&card=abc", "plan=gba-3d&card=0", "plan=" + "x" * 5000]
)
def test_a_tampered_review_link_is_refused_clearly(client, traveller, query):
    response = client.get("/checkout?" + query)
    assert response.status_code == 404 and "We cannot go on with this checkout" in response.text


def test_someone_elses_card_cannot_be_reviewed(app, client, traveller):
    stranger_card = add_card(app, None, n=5)
    with app.app_context():
        db.session.add(Account(phone="+85298765432"))
        db.session.commit()
    assert client.get(f"/checkout?plan=gba-3d&card={stranger_card}").status_code == 404


def test_a_form_without_its_csrf_token_is_refused(app, client, traveller):
    for action in ("/checkout/confirm", "/checkout/promo"):
        response = client.post(action, data={"plan": "gba-3d", "card": traveller})
        assert response.status_code == 400
    response = client.post("/checkout/confirm", data={"plan": "gba-3d", "card": traveller, "csrf_token": "forged"})
    assert response.status_code == 400
    assert order_count(app) == 0


def test_an_amount_sent_with_the_form_is_ignored(app, client, traveller):
    response = confirm(client, traveller, amount="0.01", price="1", total_cents="1", discount_cents="5800")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Order)).one().total_cents == 5800


def test_a_promo_code_longer_than_any_code_is_refused_not_crashed(app, client, traveller):
    response = confirm(client, traveller, promo_code="X" * 5000)
    assert response.status_code == 422 and "We do not know this promo code" in response.text
    assert order_count(app) == 0


def test_the_review_shows_the_unpaid_order_that_confirm_goes_on_with_and_its_figures(app, client, traveller):
    first = confirm(client, traveller, promo_code="WELCOME10")  # HK$58.00 - 10 % = HK$52.20
    for query in ("", "&promo=WELCOME10"):
        page = client.get(f"/checkout?plan=gba-3d&card={traveller}{query}")
        assert page.status_code == 200 and "You already have an unpaid order" in page.text
        assert 'id="checkout-total">HK$52.20<' in page.text and "Discount (WELCOME10)" in page.text
        assert 'name="quoted" value="5220"' in page.text and "already used" not in page.text
        assert "Have a promo code?" not in page.text  # its price is fixed: Confirm goes on with it
    again = client.post(
        "/checkout/confirm",
        data={"csrf_token": csrf_token(page.text), "plan": "gba-3d", "card": traveller, "quoted": "5220"},
    )
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert order_count(app) == 1
