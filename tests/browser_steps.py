"""Steps a traveller takes in the browser, shared by the journey tests."""

import re

from playwright.sync_api import expect

from rules.travellers import iccid

ICCID = iccid.with_check_digit("898520012345678901")


def sign_in(page, base, phone="9123 4567"):
    """Sign in with the code read from the sandbox SMS outbox, as a tester with two tabs would."""
    page.goto(f"{base}/login")
    page.get_by_label("Mobile number").fill(phone)
    page.get_by_role("button", name="Text me a code").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    code_page = page.context.new_page()
    code_page.goto(f"{base}/sandbox/sms")
    code = re.search(r"\d{6}", code_page.locator(".sms-body").first.inner_text()).group(0)
    code_page.close()
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()  # the signed-in home
    page.goto(f"{base}/cards")
    expect(page.get_by_role("heading", name="My cards")).to_be_visible()


def read_sms_code(page, base) -> str:
    code_page = page.context.new_page()
    code_page.goto(f"{base}/sandbox/sms")
    code = re.search(r"\d{6}", code_page.locator(".sms-body").first.inner_text()).group(0)
    code_page.close()
    return code


def bind_card(page, nickname="Mum's card"):
    """Bind another number's card: the form, then the code texted to that card."""
    page.get_by_label("Card's mobile number").fill("6123 4567")
    page.get_by_label("ICCID").fill(ICCID)
    page.get_by_label("Nickname").fill(nickname)
    page.get_by_role("button", name="Add card").click()
    expect(page.get_by_role("heading", name="Confirm the card")).to_be_visible()
    base = re.match(r"https?://[^/]+", page.url).group(0)
    page.get_by_label("6-digit code").fill(read_sms_code(page, base))
    page.get_by_role("button", name="Add card").click()
    expect(page.locator(".card").filter(has_text=nickname)).to_be_visible()
