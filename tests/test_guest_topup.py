"""Top up without signing in: the card's number twice and the last 4 ICCID digits, then plan, review,
the sandbox Alipay cashier over real HTTP, and a receipt opened by the order's token (no account)."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from conftest import csrf_token, last_sms, make_order, post_form, run_jobs
from sqlalchemy import func, select

from extensions import db
from models import Account, Card, Order, Promotion, TopUpAttempt, utcnow
from rules.ordering import guest_topup

NUMBER = "+85261234567"
ICCID = "8985200123456789012"  # ends 9012
OWNER = "+85291234567"
TOKEN_URL = re.compile(r"/top-up/orders/(RR\d{6}-[0-9A-Z]{6})/([0-9a-f]{32})")


def add_card(app, msisdn=NUMBER, iccid=ICCID, owner=OWNER, nickname="Grandma's secret card"):
    with app.app_context():
        account = None
        if owner:
            account = db.session.scalars(select(Account).where(Account.phone == owner)).first() or Account(phone=owner)
            db.session.add(account)
            db.session.flush()
        card = Card(msisdn=msisdn, iccid=iccid, nickname=nickname, account_id=account and account.id)
        db.session.add(card)
        db.session.commit()
        return card.id


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def card(app, plans):
    return add_card(app)


def show_card(client, number=NUMBER, again=None, last4="9012"):
    return post_form(
        client, "/top-up", number=number, number_again=number if again is None else again, iccid_last4=last4
    )


def confirm(client, plan="gba-3d", promo_code=""):
    page = client.get(f"/top-up/review?plan={plan}")
    assert page.status_code == 200, page.text
    return client.post(
        "/top-up/confirm", data={"csrf_token": csrf_token(page.text), "plan": plan, "promo_code": promo_code}
    )


def pay_in_the_sandbox(client, pay_path):
    """Follow the pay link to the sandbox cashier (real HTTP gateway calls) and press Pay."""
    to_gateway = client.get(pay_path)
    assert to_gateway.status_code == 303, to_gateway.text
    url = urlsplit(to_gateway.headers["Location"])
    cashier = client.get(f"{url.path}?{url.query}")
    trade_no = re.search(r"/sandbox/alipay/trades/(\d+)/pay", cashier.text).group(1)
    paid = client.post(
        f"/sandbox/alipay/trades/{trade_no}/pay",
        data={"csrf_token": csrf_token(cashier.text), "behaviour": "drop", "delay": "0", "currency": "HKD"},
    )
    assert paid.status_code == 303
    back = urlsplit(paid.headers["Location"])
    return client.get(f"{back.path}?{back.query}")  # the return page asks the gateway: paid


# The happy path


def test_a_guest_tops_up_a_card_pays_and_opens_the_receipt_texted_to_the_number(app, client, card, live_server):
    assert show_card(client, number="6123 4567", again="+852 6123-4567").headers["Location"] == "/top-up/review"
    choose = client.get("/top-up/review")
    assert "Which plan do you want?" in choose.text and "+852 ****4567" in choose.text
    review = client.get("/top-up/review?plan=gba-3d")
    assert "Check the details" in review.text and "Nothing is charged until you confirm." in review.text
    confirmed = confirm(client)
    assert confirmed.status_code == 303
    pay_path = confirmed.headers["Location"]
    number, token = TOKEN_URL.match(pay_path).groups()
    back = pay_in_the_sandbox(client, pay_path)
    assert back.status_code == 303 and back.headers["Location"] == f"/top-up/orders/{number}/{token}"
    run_jobs(app)  # the worker adds the data of the order just paid
    page = client.get(back.headers["Location"])
    assert page.status_code == 200 and "Done:" in page.text
    assert f'href="/top-up/orders/{number}/{token}/receipt"' in page.text  # the receipt link, shown
    sms = last_sms(app, NUMBER)
    assert (
        number in sms and f"http://127.0.0.1:{urlsplit(live_server).port}/top-up/orders/{number}/{token}/receipt" in sms
    )
    receipt = app.test_client().get(urlsplit(re.search(r"http://\S+", sms).group(0)).path)  # another phone
    assert receipt.status_code == 200 and "Receipt" in receipt.text and number in receipt.text
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        assert order.account_id is None and order.state == "fulfilled"
    assert count(app, Account) == 1  # only the card's owner: no account was made for the guest


def test_a_wrong_token_or_another_orders_token_opens_nothing(app, client, card, live_server):
    show_card(client)
    number, token = TOKEN_URL.match(confirm(client).headers["Location"]).groups()
    pay_in_the_sandbox(client, f"/top-up/orders/{number}/{token}/pay")
    wrong = token[:-1] + ("0" if token[-1] != "0" else "1")
    for path in (
        f"/top-up/orders/{number}/{wrong}",
        f"/top-up/orders/{number}/{wrong}/receipt",
        f"/top-up/orders/{number}/{wrong}/pay",
        f"/top-up/orders/{number}/{token}é/receipt",
        f"/top-up/orders/{number}/{'f' * 5000}/receipt",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/top-up/orders/{number}/{token}/receipt").status_code == 200


def test_an_owners_order_never_opens_with_a_token(app, client, card, sign_in):
    number = make_order(app, phone=OWNER, msisdn=NUMBER)
    with app.app_context():
        token = guest_topup.access_token(number)
    assert app.test_client().get(f"/top-up/orders/{number}/{token}").status_code == 404


# Showing the card: one answer for everything that is not a match


def test_wrong_digits_an_unknown_number_and_an_unknown_iccid_get_the_same_answer(app, client, card):
    add_card(app, msisdn="+85261234500", iccid=None, owner=None)
    answers = []
    for number, last4 in ((NUMBER, "9013"), ("+85261234568", "9012"), ("+85261234500", "9012")):
        response = show_card(app.test_client(), number=number, last4=last4)
        body = re.sub(r'name="csrf_token"[^>]*>', "", response.text).replace(number, "NUMBER")
        answers.append((response.status_code, body))
    assert answers[0][0] == 422 and "We could not find a card with this number" in answers[0][1]
    assert answers[0] == answers[1] == answers[2]
    assert "9013" not in answers[0][1]  # the digits are never shown back
    assert count(app, TopUpAttempt, TopUpAttempt.ok.is_(False)) == 3


def test_two_different_numbers_are_refused(app, client, card):
    response = show_card(client, again="+85261234568")
    assert response.status_code == 422 and "The two numbers are not the same." in response.text
    assert count(app, TopUpAttempt) == 0  # nothing looked up


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"number": "٦١٢٣٤٥٦٧"}, "Type the number with the digits 0-9."),
        ({"number": "9" * 10_000}, "That is too long for a mobile number."),
        ({"iccid_last4": "٩٠١٢"}, "Type the last 4 digits of the ICCID"),
        ({"iccid_last4": "9" * 10_000}, "Type the last 4 digits of the ICCID"),
        ({"number_again": "x" * 10_000}, "That is too long for a mobile number."),
        ({"number": ""}, "Enter the card"),
    ],
)
def test_bad_input_is_answered_clearly_never_with_a_500(app, client, card, fields, message):
    data = {"number": NUMBER, "number_again": NUMBER, "iccid_last4": "9012", **fields}
    if "number" in fields and "number_again" not in fields:
        data["number_again"] = fields["number"]
    response = post_form(client, "/top-up", **data)
    assert response.status_code == 422 and message in response.text
    assert client.get("/top-up/review").status_code == 303  # not let in


@pytest.mark.parametrize("fields", [{"number": "6123\x004567"}, {"iccid_last4": "90\x0012"}])
def test_a_nul_byte_is_refused_before_anything_is_looked_up(app, client, card, fields):
    data = {"number": NUMBER, "number_again": NUMBER, "iccid_last4": "9012", **fields}
    assert post_form(client, "/top-up", **data).status_code == 400
    assert client.get("/top-up/review").status_code == 303  # not let in


def test_full_width_digits_are_fine(app, client, card):
    response = post_form(client, "/top-up", number="６１２３ ４５６７", number_again="61234567", iccid_last4="９０１２")
    assert response.status_code == 303


def test_the_form_needs_its_csrf_token(app, client, card):
    response = client.post("/top-up", data={"number": NUMBER, "number_again": NUMBER, "iccid_last4": "9012"})
    assert response.status_code == 400
    page = client.get("/top-up")
    assert client.post("/top-up/confirm", data={"plan": "gba-3d"}).status_code == 400
    assert "csrf_token" in page.text


def test_the_review_needs_a_card_shown_in_the_last_30_minutes(app, client, card):
    assert client.get("/top-up/review?plan=gba-3d").headers["Location"] == "/top-up"
    show_card(client)
    assert client.get("/top-up/review?plan=gba-3d").status_code == 200
    with client.session_transaction() as session:
        session[guest_topup.SESSION_KEY] = {**session[guest_topup.SESSION_KEY], "until": 1}  # 1970: long gone
    response = client.get("/top-up/review?plan=gba-3d", follow_redirects=True)
    assert "please type the card&#39;s details again" in response.text


# Nothing about the card is shown; no account is made


def test_nothing_about_the_card_is_shown_to_a_guest(app, client, card):
    other = make_order(app, phone=OWNER, msisdn=NUMBER, plan_code="gba-7d")  # the owner's own unpaid order
    pages = [show_card(client, last4="0000"), show_card(client), client.get("/top-up/review")]
    pages.append(client.get("/top-up/review?plan=gba-7d"))
    for page in pages:
        for private in ("Grandma", other, "****4567" if page is pages[0] else "9012", OWNER, "****1234"):
            assert private not in page.text, private
    assert count(app, Account) == 1


# Limits, counted in the database


def test_the_limit_per_number_follows_its_setting_and_says_so(app_with, plans):
    app = app_with(TOPUP_PHONE_LIMIT="2 per hour", TOPUP_IP_LIMIT="100 per hour")
    add_card(app)
    client = app.test_client()
    assert [show_card(client, last4="0000").status_code for _ in range(2)] == [422, 422]
    refused = show_card(client)  # even the right digits, once the number's tries are used up
    assert refused.status_code == 429 and "Too many tries for this number." in refused.text
    assert show_card(client, number="+85261234568").status_code == 422  # another number is still counted apart


def test_the_limit_per_address_is_shared_by_two_app_servers_on_one_database(app_with, plans):
    first = app_with(TOPUP_IP_LIMIT="3 per hour")
    second = app_with(TOPUP_IP_LIMIT="3 per hour")
    add_card(first)
    numbers = ["+85261234561", "+85261234562", "+85261234563", "+85261234564"]
    answers = [
        show_card((first if i % 2 else second).test_client(), number=n).status_code for i, n in enumerate(numbers)
    ]
    assert answers == [422, 422, 422, 429]
    last = show_card(first.test_client())
    assert last.status_code == 429 and "Too many tries from this connection." in last.text


def test_tries_older_than_the_window_no_longer_count(app_with, plans):
    from datetime import timedelta

    app = app_with(TOPUP_PHONE_LIMIT="1 per minute")
    add_card(app)
    assert show_card(app.test_client(), last4="0000").status_code == 422
    assert show_card(app.test_client()).status_code == 429
    with app.app_context():
        for attempt in db.session.scalars(select(TopUpAttempt)):
            attempt.created_at = utcnow() - timedelta(minutes=2)
        db.session.commit()
    assert show_card(app.test_client()).status_code == 303


def test_a_limit_setting_that_cannot_be_read_stops_the_start(app_with):
    from config import ConfigError

    with pytest.raises(ConfigError, match="TOPUP_IP_LIMIT"):
        app_with(TOPUP_IP_LIMIT="lots")


# Promotions and the one unpaid order per card and plan


def test_a_code_limited_per_account_is_refused_for_a_guest_with_a_clear_message(app, client, card):
    show_card(client)
    response = confirm(client, plan="gba-7d", promo_code="WELCOME10")
    assert response.status_code == 422 and "Sign in to use this promo code." in response.text
    assert count(app, Order) == 0


def test_a_code_without_a_per_account_limit_works_for_a_guest(app, client, card):
    with app.app_context():
        db.session.add(Promotion(code="TRAVEL5", percent_off=5))
        db.session.commit()
    show_card(client)
    assert confirm(client, promo_code="travel5").status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Order)).one().discount_cents > 0


def test_confirming_twice_continues_the_guests_own_order(app, client, card):
    show_card(client)
    first, second = confirm(client), confirm(client)
    assert first.headers["Location"] == second.headers["Location"]
    assert "You already have an unpaid order" in client.get("/top-up/review?plan=gba-3d").text
    assert count(app, Order) == 1


def test_a_guest_never_gets_the_owners_unpaid_order_nor_another_guests(app, client, card):
    owners = make_order(app, phone=OWNER, msisdn=NUMBER, plan_code="gba-3d")
    show_card(client)
    review = client.get("/top-up/review?plan=gba-3d")
    assert owners not in review.text and "You already have an unpaid order" not in review.text
    refused = confirm(client)
    assert refused.status_code == 409 and "unpaid order from another account" in refused.text
    assert owners not in refused.text
    show_card(client)
    assert confirm(client, plan="gba-7d").status_code == 303  # another plan is free
    stranger = app.test_client()
    show_card(stranger)
    refused = confirm(stranger, plan="gba-7d")
    assert refused.status_code == 409 and "Someone else has an unpaid order" in refused.text
    assert not TOKEN_URL.search(refused.text)


def test_the_owner_never_gets_a_guests_unpaid_order(app, client, card, sign_in):
    guest = app.test_client()
    show_card(guest)
    number = TOKEN_URL.match(confirm(guest).headers["Location"]).group(1)
    sign_in(OWNER)
    with app.app_context():
        card_id = db.session.scalars(select(Card.id)).first()
    review = client.get(f"/checkout?plan=gba-3d&card={card_id}")
    assert number not in review.text
    page = client.get(f"/checkout?plan=gba-3d&card={card_id}")
    refused = client.post(
        "/checkout/confirm", data={"csrf_token": csrf_token(page.text), "plan": "gba-3d", "card": card_id}
    )
    assert refused.status_code == 409 and number not in refused.text
    assert client.get(f"/orders/{number}").status_code == 404


# The ways in


@pytest.mark.parametrize("path", ["/login", "/"])
def test_the_sign_in_and_home_pages_link_to_the_top_up_without_signing_in(client, plans, path):
    page = client.get(path)
    assert 'href="/top-up"' in page.text and "Top up someone else's card / can't get the code?" in page.text


def test_tries_at_the_same_moment_on_two_app_servers_stay_within_the_limit(app_with, plans):
    import threading

    apps = [app_with(TOPUP_PHONE_LIMIT="2 per hour", TOPUP_IP_LIMIT="100 per hour") for _ in range(2)]
    add_card(apps[0])
    prepared = []
    for index in range(8):
        client = apps[index % 2].test_client()
        prepared.append((client, csrf_token(client.get("/top-up").text)))
    start, statuses = threading.Barrier(len(prepared)), [None] * len(prepared)

    def try_once(index: int) -> None:
        client, token = prepared[index]
        start.wait(timeout=10)
        data = {"csrf_token": token, "number": NUMBER, "number_again": NUMBER, "iccid_last4": "9012"}
        statuses[index] = client.post("/top-up", data=data).status_code

    threads = [threading.Thread(target=try_once, args=(i,)) for i in range(len(prepared))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [303] * 2 + [429] * 6
    assert count(apps[0], TopUpAttempt) == 2


# The order's page for a guest


def test_the_guests_order_page_polls_and_cancels_through_its_own_token(app, client, card, live_server):
    show_card(client)
    path = confirm(client).headers["Location"].removesuffix("/pay")
    page = client.get(path)
    assert f'hx-get="{path}"' in page.text and f'href="{path}?cancel=1"' in page.text  # asks first
    ask = client.get(f"{path}?cancel=1")
    assert f'action="{path}/cancel"' in ask.text  # the confirm step, by its token
    assert f'href="{path}/pay"' in page.text and "Keep this page’s link" in page.text
    fragment = client.get(path, headers={"HX-Request": "true", "HX-Target": "order-state"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<section id="order-state"')
    assert client.post(f"{path}/cancel").status_code == 400  # CSRF kept on
    cancelled = client.post(f"{path}/cancel", data={"csrf_token": csrf_token(ask.text)})
    assert cancelled.status_code == 303 and cancelled.headers["Location"] == path
    assert "This order was cancelled." in client.get(path).text
    assert client.get(f"{path}/receipt").status_code == 404  # no receipt for an unpaid order


def test_the_worker_without_a_request_texts_the_guest_the_receipt_link(app, client, card):
    """The paid SMS is also queued by the jobs worker (a payment found by its query): no request there."""
    from rules.ordering import fulfilment

    show_card(client)
    number, token = TOKEN_URL.match(confirm(client).headers["Location"]).groups()
    with app.app_context():
        fulfilment.queue_confirmation(db.session.scalars(select(Order).where(Order.number == number)).one())
        db.session.commit()
    base = app.config["PUBLIC_BASE_URL"]
    assert last_sms(app, NUMBER).endswith(f"Receipt: {base}/top-up/orders/{number}/{token}/receipt")


def test_an_owners_paid_sms_has_no_link(app, card):
    from rules.ordering import fulfilment

    number = make_order(app, phone=OWNER, msisdn=NUMBER)
    with app.app_context():
        fulfilment.queue_confirmation(db.session.scalars(select(Order).where(Order.number == number)).one())
        db.session.commit()
    assert number in last_sms(app, NUMBER) and "Receipt:" not in last_sms(app, NUMBER)


def test_a_promo_code_applied_with_htmx_swaps_only_the_summary(app, client, card):
    with app.app_context():
        db.session.add(Promotion(code="TRAVEL5", percent_off=5))
        db.session.commit()
    show_card(client)
    page = client.get("/top-up/review?plan=gba-3d")
    response = client.post(
        "/top-up/promo",
        headers={"HX-Request": "true", "HX-Target": "checkout-summary"},
        data={"csrf_token": csrf_token(page.text), "plan": "gba-3d", "promo_code": "travel5"},
    )
    assert response.status_code == 200 and response.text.lstrip().startswith('<section id="checkout-summary"')
    assert "Code TRAVEL5 applied." in response.text
    assert response.headers["HX-Replace-Url"] == "/top-up/review?plan=gba-3d&promo=travel5"


# Any of the carrier's prepaid SIMs, bound here or not


def test_the_sandboxs_demo_sim_tops_up_without_anyone_having_bound_it(app, client, plans):
    from sandbox.carrier_sim import DEMO_ICCIDS

    demo_iccid = DEMO_ICCIDS["+85261234568"]
    assert show_card(client, number="+852 6123 4568", last4="0000").status_code == 422
    response = show_card(client, number="+852 6123 4568", last4=demo_iccid[-4:])
    assert response.status_code == 303 and response.headers["Location"] == "/top-up/review"
    assert client.get("/top-up/review?plan=gba-3d").status_code == 200
    assert count(app, Card, Card.msisdn == "+85261234568", Card.account_id.is_(None), Card.iccid.is_(None)) == 1
    assert count(app, Account) == 0


def test_the_card_is_not_let_in_while_the_carrier_cannot_be_asked(app_with, plans):
    app = app_with(CARRIER_DOWN=True)
    client = app.test_client()
    response = show_card(client, number="+852 6123 4568", last4="0000")
    assert response.status_code == 503 and "could not check the card with the carrier" in response.text
    assert client.get("/top-up/review").status_code == 303  # not let in


# The start choice, without a word about the stranger's pack


def add_running_pack(app, days_left=20):
    from models import CardPack

    with app.app_context():
        card = db.session.scalars(select(Card).where(Card.msisdn == NUMBER)).one()
        start = utcnow() - timedelta(days=1)
        db.session.add(
            CardPack(
                card_id=card.id,
                data_mb=20 * 1024,
                used_mb=0,
                starts_at=start,
                ends_at=start + timedelta(days=days_left + 1),
            )
        )
        db.session.commit()
        return start + timedelta(days=days_left + 1)


def test_a_guest_chooses_when_the_pack_starts_and_never_sees_the_cards_pack(app, client, card):
    from rules.text.formatting import hk_time

    pack_end = add_running_pack(app)
    show_card(client)
    page = client.get("/top-up/review?plan=gba-3d")
    assert re.search(r'name="start" value="after_current" checked', page.text)  # it never throws data away
    with app.test_request_context():
        private = [hk_time(pack_end), hk_time(pack_end, "date"), hk_time(pack_end + timedelta(days=3), "date")]
    for text in (*private, "20 GB", "days left"):
        assert text not in page.text, text
    assert 'hx-get="/top-up/review" hx-trigger="change"' in page.text
    swapped = client.get("/top-up/review?plan=gba-3d&start=now", headers={"HX-Request": "true"})
    assert swapped.status_code == 200 and "<html" not in swapped.text and "start=now" in swapped.headers["HX-Push-Url"]
    chosen = client.get("/top-up/review?plan=gba-3d&start=now")
    assert re.search(r'name="start" value="now" checked', chosen.text)
    response = client.post(
        "/top-up/confirm",
        data={"csrf_token": csrf_token(chosen.text), "plan": "gba-3d", "promo_code": "", "start": "now"},
    )
    assert response.status_code == 303
    with app.app_context():
        order = db.session.scalars(select(Order)).one()
        assert order.start_mode == "now" and order.validity_start < pack_end
