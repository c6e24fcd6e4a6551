"""`flask seed-demo`: what it prints is enough for a newcomer to sign in, bind a card and pay."""

import re

from conftest import bind_card

from rules.travellers import iccid, phones


def test_seed_demo_prints_a_demo_card_that_binds(app, client, sign_in):
    with app.app_context():  # as `flask --app app seed-demo` runs it
        output = app.test_cli_runner().invoke(args=["seed-demo"]).output
    card = re.search(r"Demo card to bind: number (\+[\d ]+), ICCID (\d+)", output)
    assert card, output
    number, printed_iccid = card.group(1), card.group(2)
    with app.test_request_context():
        assert phones.normalise(number) == "+85261234567"
    assert iccid.normalise(printed_iccid) == printed_iccid  # a valid Luhn check digit
    assert "/sandbox/sms" in output and "WELCOME10" in output
    sign_in()
    response = bind_card(app, client, number, printed_iccid, nickname="Demo")
    assert response.status_code == 303, response.text
    assert "Demo" in client.get("/cards").text
