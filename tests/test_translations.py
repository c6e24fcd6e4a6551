"""The Chinese catalogues are complete and safe, and the pages really come out in Chinese."""

import os
import re

import pytest
from babel.messages.pofile import read_po
from conftest import code_from_sms, csrf_token, last_sms

TRANSLATIONS = os.path.join(os.path.dirname(__file__), "..", "translations")
CHINESE = ["zh_Hans", "zh_Hant"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def catalogue(locale: str):
    with open(os.path.join(TRANSLATIONS, locale, "LC_MESSAGES", "messages.po"), "rb") as f:
        return read_po(f, locale=locale)


def entries(locale: str):
    """(msgid texts, msgstr texts) for every real entry; a plural entry gives all its forms."""
    for message in catalogue(locale):
        if not message.id:
            continue  # the header
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        yield message, ids, strings


@pytest.mark.parametrize("locale", CHINESE)
def test_every_entry_is_translated_and_none_is_fuzzy(locale):
    messages = list(entries(locale))
    assert len(messages) > 100, "the catalogue looks empty: run `make extract-messages`"
    untranslated = [ids[0] for _m, ids, strings in messages if not strings or not all(s.strip() for s in strings)]
    fuzzy = [ids[0] for message, ids, _s in messages if message.fuzzy]
    assert not untranslated, f"{locale}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{locale}: fuzzy entries {fuzzy[:5]}"


@pytest.mark.parametrize("locale", CHINESE)
def test_chinese_has_one_plural_form(locale):
    assert catalogue(locale).num_plurals == 1
    for message, _ids, strings in entries(locale):
        if message.pluralizable:
            assert len(strings) == 1, message.id


@pytest.mark.parametrize("locale", CHINESE)
def test_every_translation_keeps_the_placeholders_of_its_msgid(locale):
    wrong = []
    for _message, ids, strings in entries(locale):
        expected = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != expected:
                wrong.append((ids[0], string))
    assert not wrong, f"{locale}: placeholders differ in {wrong}"


@pytest.mark.parametrize("locale", CHINESE)
def test_the_catalogue_matches_the_template(locale):
    """A msgid missing from a .po file means `make extract-messages` was not run after a change."""
    with open(os.path.join(TRANSLATIONS, "messages.pot"), "rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert template <= {m.id for m, _i, _s in entries(locale)}


# --- pages --------------------------------------------------------------------------------------

ZH_CN = {"Accept-Language": "zh-CN"}
ZH_HK = {"Accept-Language": "zh-HK"}
# English source text that must not show through on a translated page.
ENGLISH_LEFTOVERS = [
    "Skip to content",
    "Trip length",
    "Show plans",
    "Need help?",
    "Sign in",
    "Text me a code",
    "Mobile number",
    ">Plans<",
    "Hong Kong + mainland",
]


def assert_no_english(html: str) -> None:
    leftovers = [text for text in ENGLISH_LEFTOVERS if text in html]
    assert not leftovers, f"English text on a Chinese page: {leftovers}"


@pytest.mark.parametrize(
    "headers, lang, shown",
    [
        (
            ZH_CN,
            "zh-Hans",
            [
                "<h1>套餐</h1>",
                "<title>套餐 · RoamRenew</title>",
                "行程天数",
                "适用地区",
                "香港 + 内地 + 澳门",
                "共 10 个套餐",
                "大湾区3天",
                "3天",
                "特惠",
            ],
        ),
        (
            ZH_HK,
            "zh-Hant",
            [
                "<h1>套票</h1>",
                "<title>套票 · RoamRenew</title>",
                "行程日數",
                "適用地區",
                "香港 + 內地 + 澳門",
                "共 10 款套票",
                "大灣區3日",
                "3日",
                "特價",
            ],
        ),
    ],
    ids=["simplified", "hong-kong-traditional"],
)
def test_plans_in_chinese(client, plans, headers, lang, shown):
    """The plan's own name in that script, the day count, filters and sale badge, all translated."""
    html = client.get("/plans", headers=headers).text
    assert f'lang="{lang}"' in html
    assert [text for text in shown if text not in html] == []
    assert_no_english(html)


@pytest.mark.parametrize(
    "headers, lang, shown",
    [
        (ZH_CN, "zh-Hans", ["<h1>登录</h1>", "手机号码", "获取验证码", "短信"]),
        (ZH_HK, "zh-Hant", ["<h1>登入</h1>", "手機號碼", "發送驗證碼", "短訊"]),
    ],
    ids=["simplified", "hong-kong-traditional"],
)
def test_login_in_chinese(client, headers, lang, shown):
    html = client.get("/login", headers=headers).text
    assert f'lang="{lang}"' in html
    assert [text for text in shown if text not in html] == []
    assert_no_english(html)


def test_the_language_switch_shows_traditional_chinese_whatever_the_browser_says(client, plans):
    client.get("/lang/zh_Hant", query_string={"next": "/plans"})
    html = client.get("/plans", headers={"Accept-Language": "en"}).text
    assert 'lang="zh-Hant"' in html and "<h1>套票</h1>" in html


def test_a_traveller_signs_in_in_chinese_and_the_sms_code_is_still_found(app, client):
    """The login SMS is in the page's language; its code must still stand apart from the Chinese text."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-HK"
    page = client.get("/login").text
    token = csrf_token(page)
    response = client.post("/login", data={"csrf_token": token, "phone": "+85291234567"})
    assert response.status_code == 303, response.text
    body = last_sms(app, "+85291234567")
    assert "驗證碼" in body and "RoamRenew" in body
    code = code_from_sms(body)
    page = client.get("/login/code").text
    assert "<h1>輸入驗證碼</h1>" in page
    token = csrf_token(page)
    response = client.post("/login/code", data={"csrf_token": token, "code": code})
    assert response.status_code == 303, response.text
    assert "登出" in client.get("/").text


@pytest.mark.parametrize(
    ("headers", "phone", "error"),
    [
        (ZH_CN, "abc", "这好像不是电话号码。"),
        (ZH_CN, "12", "这不是有效的 +852 手机号码。"),
        (ZH_HK, "+1 555 0100", "只支援香港（+852）及中國內地（+86）的手機號碼。"),
    ],
)
def test_a_form_error_is_in_chinese(client, headers, phone, error):
    token = csrf_token(client.get("/login", headers=headers).text)
    response = client.post("/login", data={"csrf_token": token, "phone": phone}, headers=headers)
    assert response.status_code == 422
    assert error in response.text
