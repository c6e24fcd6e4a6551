"""The receipt link texted to a card opens for the card's holder, whoever bought the order."""

import re
import uuid
from urllib.parse import urlsplit

from conftest import csrf_token, last_sms
from staff_support import make_staff, paid_order_number, staff_sign_in

CARD = "+85261234567"


def test_the_texted_receipt_link_opens_for_the_cards_holder_when_another_account_bought_it(app, client, sign_in):
    number = paid_order_number(app, phone="+85291234567", msisdn=CARD)  # bought by another account
    make_staff(app, "alice", "agent")
    assert staff_sign_in(client, "alice").status_code == 303
    page = client.get(f"/staff/orders/{number}")
    data = {"csrf_token": csrf_token(page.text), "kind": "receipt", "request_id": uuid.uuid4().hex}
    assert client.post(f"/staff/orders/{number}/resend", data=data).status_code == 303

    link = urlsplit(re.search(r"https?://\S+", last_sms(app, CARD)).group(0)).path
    holder = app.test_client()  # the card's holder: not signed in
    opened = holder.get(link)
    assert opened.status_code == 200 and number in opened.text and "Genuine" in opened.text
    sign_in("+85261234567", the_client=holder)  # signed in as the card's own number: still opens
    assert holder.get(link).status_code == 200
