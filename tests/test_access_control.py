"""Every private URL sends an anonymous visitor to sign in; errors render through the page/fragment helper."""

import pytest
from conftest import csrf_token

from app import create_app

# Reachable without signing in, on purpose. A new route is private unless it is added here.
PUBLIC = {
    "static",
    "main.home",
    "main.set_language",
    "main.healthz",
    "auth.login",
    "auth.code",  # without a number being signed in, it goes back to /login itself
    "auth.resend",  # likewise
    "plans.index",
    "plans.detail",
    "shops.index",  # where to renew in person: for anyone, signed in or not
    "payments.notify",  # the gateway, signed
    "payments.came_back",  # the browser back from the cashier, signed; it never marks anything paid
    "account_orders.verify_receipt",  # the public receipt check
    "renew_links.open_link",
    # Top up without signing in: the card is proven by its number and ICCID digits (kept in the session
    # for 30 minutes), an order by its keyed token in the URL.
    "topup.start",
    "topup.review",
    "topup.apply_promo",
    "topup.confirm",
    "topup.status",
    "topup.pay",
    "topup.receipt",
    "topup.cancel",  # a reminder's link: an unknown token is a 404, a good one goes to sign-in
    "sandbox.sms_outbox",  # sandbox mode only
    "sandbox.carrier_page",
    "sandbox.set_carrier_mode",
    "sandbox_alipay.cashier",
    "sandbox_alipay.api",
    "sandbox_alipay.pay",
    "sandbox_alipay.bill",  # the gateway's bill download: a one-time signed URL
    "sandbox_alipay.switches",  # the gateway's switches, beside the carrier's
    "sandbox_alipay.set_switches",
    # The WeChat Pay sandbox: its API answers only requests signed with the merchant's key.
    "sandbox_wechat.api",
    "sandbox_wechat.bill",
    "sandbox_wechat.cashier",
    "sandbox_wechat.pay",
    "sandbox_wechat.switches",
    "sandbox_wechat.set_switches",
    # The Stripe sandbox: its API answers only the app's secret key (Bearer), the rest are its pages.
    "sandbox_stripe.create_session",
    "sandbox_stripe.list_sessions",
    "sandbox_stripe.get_session",
    "sandbox_stripe.expire_session",
    "sandbox_stripe.create_refund",
    "sandbox_stripe.list_refunds",
    "sandbox_stripe.balance_transactions",
    "sandbox_stripe.checkout_page",
    "sandbox_stripe.pay",
    "sandbox_stripe.switches",
    "sandbox_stripe.set_switches",
}


def _rules():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return app.url_map.iter_rules()


# Staff pages have their own sign-in and roles: tests/test_staff_roles.py walks the URL map for them.
PRIVATE = [
    pytest.param(rule, id=rule.endpoint)
    for rule in sorted(_rules(), key=str)
    if rule.endpoint not in PUBLIC and not rule.endpoint.startswith("staff.")
]


def test_the_public_list_names_only_routes_that_exist():
    assert {rule.endpoint for rule in _rules()} >= PUBLIC
    assert len(PRIVATE) >= 10


@pytest.mark.parametrize("rule", PRIVATE)
def test_a_private_url_sends_an_anonymous_visitor_to_sign_in(client, rule):
    from werkzeug.routing import IntegerConverter

    values = {name: 1 if isinstance(rule._converters[name], IntegerConverter) else "RR1" for name in rule.arguments}
    url = rule.build(values)[1]
    if "GET" in rule.methods:
        response = client.get(url)
    else:
        token = csrf_token(client.get("/login").text)  # a valid form from an anonymous session
        response = client.post(url, data={"csrf_token": token})
    assert response.status_code in (302, 303), (url, response.status_code)
    assert response.headers["Location"].startswith("/login?next="), response.headers["Location"]


@pytest.fixture
def failing_app(app_with):
    app = app_with(PROPAGATE_EXCEPTIONS=False)

    @app.get("/test-failure")
    def failure():
        raise RuntimeError("a bug")

    return app


def test_a_500_during_an_htmx_swap_is_the_error_block_not_a_whole_page(failing_app):
    response = failing_app.test_client().get("/test-failure", headers={"HX-Request": "true"})
    assert response.status_code == 500
    assert "<html" not in response.text and "<body" not in response.text
    assert "Something went wrong on our side" in response.text and "<title>" in response.text


def test_a_500_without_htmx_is_the_whole_error_page(failing_app):
    response = failing_app.test_client().get("/test-failure")
    assert response.status_code == 500
    assert "<html" in response.text and "Something went wrong on our side" in response.text
