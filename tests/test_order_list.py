"""My orders: one summary card per order, its state as a tag coloured by meaning (with AA contrast)."""

import os
import re

import pytest
from conftest import make_order
from sqlalchemy import update

from extensions import db
from models import Order

CSS = os.path.join(os.path.dirname(__file__), "..", "static", "app.css")
# Every state an order can be in, now and in the planned ones: a tag colour each, by meaning.
MEANING = {
    "fulfilled": "done",
    "paid": "in progress",
    "to_add_by_hand": "in progress",
    "pending_payment": "waiting",
    "needs_attention": "problem",
    "refunded": "refunded",
}


def set_state(app, number, state):
    with app.app_context():
        db.session.execute(update(Order).where(Order.number == number).values(state=state))
        db.session.commit()


def test_each_order_is_a_card_with_its_state_as_a_tag_and_one_action(app, client, sign_in):
    sign_in()
    done, waiting, ended = make_order(app, "gba-7d"), make_order(app, "hk-1d"), make_order(app, "gba-1d")
    set_state(app, done, "fulfilled")
    set_state(app, ended, "cancelled")
    page = client.get("/orders").text
    cards = re.findall(r'<li class="card order-card">(.*?)</li>', page, re.S)
    assert len(cards) == 3
    by_number = {re.search(r"RR\d{6}-\w{6}", card).group(0): card for card in cards}
    assert '<span class="tag tag--fulfilled">Data added</span>' in by_number[done]
    assert f'href="/orders/{done}/receipt"' in by_number[done]
    assert '<span class="tag tag--pending_payment">Waiting for payment</span>' in by_number[waiting]
    assert "button primary" in by_number[waiting] and "/receipt" not in by_number[waiting]
    assert '<span class="tag tag--cancelled">Cancelled</span>' in by_number[ended]
    for card in cards:
        assert card.count('class="button') == 1  # one obvious action
        assert re.search(r'<strong class="num">HK\$[\d,]+\.\d\d</strong>', card)  # never broken inside


def tag_colours():
    with open(CSS, encoding="utf-8") as f:
        css = f.read()
    base = re.search(r"\.tag\{[^}]*background:(#\w{6});color:(#\w{6})", css).groups()
    colours = {"expired": base, "cancelled": base}
    for selectors, background, colour in re.findall(r"((?:\.tag--\w+,?)+)\{background:(#\w{6});color:(#\w{6})\}", css):
        for state in re.findall(r"\.tag--(\w+)", selectors):
            colours[state] = (background, colour)
    return colours


def contrast(a: str, b: str) -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, bl = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * bl

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("state", [*MEANING, "expired", "cancelled"])
def test_every_state_has_a_tag_colour_with_aa_contrast(state):
    background, colour = tag_colours()[state]
    assert contrast(background, colour) >= 4.5, (state, background, colour)


def test_states_of_different_meaning_never_share_a_colour():
    colours = tag_colours()
    by_meaning = {}
    for state, meaning in MEANING.items():
        by_meaning.setdefault(meaning, set()).add(colours[state])
    assert all(len(found) == 1 for found in by_meaning.values())  # one colour per meaning
    assert len(set().union(*by_meaning.values()) | {colours["cancelled"]}) == len(by_meaning) + 1
    assert colours["expired"] == colours["cancelled"]  # ended: grey
