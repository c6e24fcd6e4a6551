"""/shops: every place to renew in person, by kind and district, with "open now" / "opens at" worked out in
Hong Kong time (hours past midnight, public holidays, temporarily closed), filters that work as a plain
GET form, and a geo: link for the phone's map app. Linked from the footer, the order and the receipt."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from shops_support import make_location

from config import ConfigError, load
from rules.shops import hours
from rules.text.formatting import HONG_KONG


def place(text: str, **flags) -> SimpleNamespace:
    values = {"open_on_holidays": True, "temporarily_closed": False, "closed_at": None, **flags}
    return SimpleNamespace(hours=text, **values)


def hk(*parts) -> datetime:
    return datetime(*parts, tzinfo=HONG_KONG)


def status(app, text: str, moment: datetime, **flags) -> hours.Status:
    with app.test_request_context():
        return hours.status(place(text, **flags), moment)


def test_open_now_and_its_closing_time_in_hong_kong_time(app):
    # 2026-12-03 is a Thursday. 09:30 in Hong Kong is 01:30 UTC: the zone, not the server's clock, decides.
    assert status(app, "Mon-Fri 09:00-21:00", hk(2026, 12, 3, 9, 30)) == hours.Status(True, "Open now, until 21:00")
    assert status(app, "Mon-Fri 09:00-21:00", datetime(2026, 12, 3, 1, 30, tzinfo=UTC)).open
    assert not status(app, "Mon-Fri 09:00-21:00", datetime(2026, 12, 3, 13, 30, tzinfo=UTC)).open  # 21:30 in HK
    assert status(app, "Mon-Fri 09:00-21:00", hk(2026, 12, 3, 8, 59)).label == "Closed, opens at 09:00"
    assert status(app, "Mon-Fri 09:00-21:00", hk(2026, 12, 3, 21, 0)).label == "Closed, opens tomorrow at 09:00"
    assert status(app, "Mon-Fri 09:00-21:00", hk(2026, 12, 4, 22, 0)).label == "Closed, opens Mon at 09:00"


def test_hours_that_cross_midnight_are_open_after_midnight_on_the_next_day(app):
    late = "Mon-Thu 12:00-23:00; Fri-Sat 12:00-01:00"
    assert status(app, late, hk(2026, 12, 5, 0, 30)) == hours.Status(
        True, "Open now, until 01:00"
    )  # Saturday, from Friday
    assert status(app, late, hk(2026, 12, 6, 0, 30)) == hours.Status(
        True, "Open now, until 01:00"
    )  # Sunday, from Saturday
    assert (
        status(app, late, hk(2026, 12, 4, 0, 30)).label == "Closed, opens at 12:00"
    )  # Friday: Thursday ended at 23:00
    assert status(app, "Daily 00:00-24:00", hk(2026, 12, 3, 3, 0)) == hours.Status(True, "Open now, 24 hours")


def test_public_holidays_take_sundays_hours_or_none(app):
    christmas = hk(2026, 12, 25, 10, 30)  # a Friday, and a general holiday
    assert app.config["PUBLIC_HOLIDAYS"] == frozenset()  # known without any setting
    weekly = "Mon-Fri 09:00-21:00; Sun 11:00-19:00"
    assert status(app, weekly, christmas).label == "Closed, opens at 11:00"
    closed = status(app, weekly, christmas, open_on_holidays=False)
    assert closed.label == "Closed, opens Sun at 11:00"  # Boxing Day (Saturday) is a holiday too
    assert status(app, weekly, hk(2026, 12, 24, 10, 30)).open


def test_a_temporarily_closed_place_says_so_whatever_its_hours(app):
    assert status(app, "Daily 00:00-24:00", hk(2026, 12, 3, 12, 0), temporarily_closed=True) == hours.Status(
        False, "Temporarily closed"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Mon-Fri 9-5",
        "Fri-Mon 09:00-21:00",
        "Mon 25:00-26:00",
        "Mon 09:00-09:00",
        "Mon 09:00-21:00; Mon 10:00-11:00",
        "x" * 300,
    ],
)
def test_hours_that_cannot_be_read_are_refused_with_a_message(app, text):
    with app.test_request_context(), pytest.raises(hours.BadHours) as refused:
        hours.parse(text)
    assert str(refused.value)


def test_general_holidays_of_every_year_are_known_and_the_setting_adds_days_off(app_with):
    weekly = "Mon-Fri 09:00-21:00; Sun 11:00-19:00"
    app = app_with()
    # 8 Feb 2027, a Monday: the third day of the Lunar New Year (the second falls on a Sunday).
    assert status(app, weekly, hk(2027, 2, 8, 10, 0)).label == "Closed, opens at 11:00"
    assert status(app, weekly, hk(2027, 2, 10, 10, 0)).open  # an ordinary Wednesday
    assert status(app, weekly, hk(2026, 12, 3, 10, 0)).open  # an ordinary Thursday...
    day_off = app_with(PUBLIC_HOLIDAYS="2026-12-03")
    assert status(day_off, weekly, hk(2026, 12, 3, 10, 0)).label == "Closed, opens at 11:00"  # ...made a day off


@pytest.mark.parametrize("holidays", ["2026-02-30", "2026-13-01", "20261225", "Christmas", "2026-12-25,2026-12-2"])
def test_a_holiday_list_with_a_bad_date_stops_the_site_from_starting(tmp_path, holidays):
    with pytest.raises(ConfigError, match="PUBLIC_HOLIDAYS"):
        load(str(tmp_path), {"PUBLIC_HOLIDAYS": holidays})
    assert load(str(tmp_path), {"PUBLIC_HOLIDAYS": "2027-01-01, 2027-02-06"})["PUBLIC_HOLIDAYS"] == {
        date(2027, 1, 1),
        date(2027, 2, 6),
    }


def test_shops_lists_the_demo_places_in_three_languages_with_a_map_link(app, client, plans):
    page = client.get("/shops")
    assert page.status_code == 200 and page.headers["Vary"].count("HX-Request") == 1
    for name in (
        "Arrivals Hall A",
        "Lo Wu Station",
        "Lok Ma Chau",
        "Sheung Wan",
        "Mong Kok",
        "Causeway Bay",
        "24-hour",
    ):
        assert name in page.text
    assert (
        'href="geo:22.313400,113.914700?q=22.313400,113.914700(Airport%20counter%2C%20Arrivals%20Hall%20A)"'
        in page.text
    )
    assert "Temporarily closed" in page.text  # Terminal 2
    assert "Cash accepted" in page.text and "New SIM cards" in page.text
    hant = client.get("/shops", headers={"Accept-Language": "zh-Hant"}).text
    assert "羅湖站旅客服務亭" in hant and "上環干諾道中200號" in hant
    hans = client.get("/shops", headers={"Accept-Language": "zh-Hans"}).text
    assert "罗湖站旅客服务亭" in hans


def test_the_filters_work_as_a_plain_get_and_as_an_htmx_fragment(app, client, plans):
    airports = client.get("/shops?kind=airport_counter").text
    assert "Arrivals Hall A" in airports and "Mong Kok Shop" not in airports
    north = client.get("/shops?district=north").text
    assert "Lo Wu Station" in north and "Arrivals Hall A" not in north
    nothing = client.get("/shops?kind=carrier_shop&district=north").text
    assert "No place matches" in nothing
    fragment = client.get("/shops?district=north", headers={"HX-Request": "true", "HX-Target": "shop-list"})
    assert fragment.text.lstrip().startswith('<div id="shop-list">') and "<html" not in fragment.text


@pytest.mark.parametrize(
    "query", ["kind=bank", "district=Mong%20Kok%0d%0aX: y", "kind=" + "a" * 5000, "district=%E6%97%BA"]
)
def test_a_filter_that_is_not_a_choice_is_refused_clearly_and_shows_every_place(app, client, plans, query):
    page = client.get("/shops?" + query)
    assert page.status_code == 400 and "not one of the choices" in page.text and "Mong Kok Shop" in page.text


def test_a_nul_in_a_filter_is_refused_before_the_page(app, client, plans):
    assert client.get("/shops?district=%00").status_code == 400  # the site-wide request guard


def test_a_closed_location_leaves_the_list(app, client):
    from extensions import db
    from models import Location, utcnow

    make_location(app, "gone", "Gone Counter")
    make_location(app, "here", "Here Counter")
    with app.app_context():
        db.session.scalars(db.select(Location).where(Location.code == "gone")).one().closed_at = utcnow()
        db.session.commit()
    page = client.get("/shops").text
    assert "Here Counter" in page and "Gone Counter" not in page


def test_the_footer_the_order_and_the_receipt_link_to_the_shops(app, client, sign_in):
    from staff_support import paid_order_number

    assert 'href="/shops"' in client.get("/").text
    number = paid_order_number(app)
    sign_in("+85291234567")
    status_page = client.get(f"/orders/{number}")
    assert status_page.status_code == 200
    assert 'href="/shops">Questions about this order?' in status_page.text
    receipt = client.get(f"/orders/{number}/receipt")
    assert receipt.status_code == 200 and 'href="/shops">Questions about this order?' in receipt.text
