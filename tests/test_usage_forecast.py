"""Forecast and balance rules with a fixed clock: when the data runs out, and what to buy."""

from datetime import date, datetime, timedelta

import pytest

from gateways.carrier import CardBalance, PackBalance
from models import Plan
from rules.travellers import forecast, usage

# 10:00 in Hong Kong on 28 Nov 2026 (stored times are naive UTC).
NOW = datetime(2026, 11, 28, 2, 0)
TODAY = date(2026, 11, 28)


def pack(data_mb=10240, used_mb=0, ends_in_days=5.0, fair_use_mb=None, plan_code="gba-7d", voice=(100, 0)):
    return PackBalance(
        order_id=1,
        data_mb=data_mb,
        used_mb=used_mb,
        fair_use_mb=fair_use_mb,
        voice_minutes=voice[0],
        voice_used_minutes=voice[1],
        starts_at=NOW - timedelta(days=2),
        ends_at=NOW + timedelta(days=ends_in_days),
        plan_code=plan_code,
    )


def balance(*packs):
    return CardBalance(msisdn="+85261234567", packs=packs, read_at=NOW)


class FixedPlans(forecast.LazyPlans):
    def __init__(self, plans):
        super().__init__()
        self._plans = plans


def plan(code, region, days, data_mb, price, fair_use_mb=None):
    return Plan(
        code=code, region=region, days=days, data_mb=data_mb, fair_use_mb=fair_use_mb, price_cents=price, sort_order=0
    )


PLANS = [
    plan("hk-1d", "hk", 1, 3072, 1800),
    plan("gba-3d", "hk_cn", 3, 5120, 5800),
    plan("gba-7d", "hk_cn", 7, 10240, 9800),
    plan("trio-3d-unl", "hk_cn_mo", 3, None, 8800, fair_use_mb=3072),
    plan("gba-1d", "hk_cn", 1, 2048, 2800),
    plan("trio-7d", "hk_cn_mo", 7, 8192, 11800),
]


def test_no_forecast_from_fewer_than_two_days_of_readings():
    outlook = forecast.outlook([], balance(pack(used_mb=3000)), NOW, FixedPlans(PLANS))
    assert outlook == forecast.Outlook(enough_readings=False)
    one_reading_today = [(TODAY, 2000)]  # today's live reading replaces it: still one day
    assert not forecast.outlook(one_reading_today, balance(pack(used_mb=3000)), NOW, FixedPlans(PLANS)).enough_readings


def test_data_running_out_before_the_pack_ends_gives_the_day_and_a_plan_for_the_rest():
    # 2 GB a day over the last 3 days, 2 GB left, 5 days to go: runs out tomorrow (29 Nov), 4 days early.
    history = [(TODAY - timedelta(days=3), 2048), (TODAY - timedelta(days=2), 4096)]
    outlook = forecast.outlook(history, balance(pack(used_mb=8192)), NOW, FixedPlans(PLANS))
    assert outlook.mb_per_day == 2048
    assert outlook.runs_out_on == date(2026, 11, 29)
    assert outlook.pack_ends_on == date(2026, 12, 3)
    assert outlook.days_before_end == 4
    assert outlook.shortfall_mb == 8192  # 4 days at 2 GB
    # 4 days of the same region or wider with 8 GB: only the 7-day 10 GB plan (3-day ones are too short).
    assert outlook.suggestion.code == "gba-7d" and outlook.suggestion_price_cents == 9800


def test_a_suggestion_is_the_cheapest_plan_long_and_large_enough_in_the_same_region_or_wider():
    assert forecast.suggest(PLANS, "hk_cn", 2500, 1, NOW).code == "gba-3d"  # hk-1d is narrower, gba-1d too small
    assert forecast.suggest(PLANS, "hk", 2500, 1, NOW).code == "hk-1d"
    assert forecast.suggest(PLANS, "hk_cn_mo", 3000, 2, NOW).code == "trio-3d-unl"  # fair use covers it
    assert forecast.suggest(PLANS, "hk_cn_mo", 4000, 2, NOW).code == "trio-7d"
    assert forecast.suggest(PLANS, "hk_cn_mo", 9000, 2, NOW) is None
    assert forecast.suggest(PLANS, "hk_cn", 1000, 30, NOW) is None  # nothing lasts that long


def test_data_lasting_the_pack_gives_no_warning():
    history = [(TODAY - timedelta(days=2), 1000)]
    outlook = forecast.outlook(history, balance(pack(used_mb=1500)), NOW, FixedPlans(PLANS))
    assert outlook.enough_readings and outlook.runs_out_on is None and outlook.mb_per_day == 250


def test_running_out_on_the_day_the_pack_ends_is_not_early():
    # 1 GB a day, 4.8 GB left, 5 days to go (until 10:00 on 3 Dec): runs out early on 3 Dec.
    history = [(TODAY - timedelta(days=1), 4301)]
    outlook = forecast.outlook(history, balance(pack(used_mb=5325, ends_in_days=5)), NOW, FixedPlans(PLANS))
    assert outlook.runs_out_on is None


def test_readings_older_than_a_week_are_not_this_weeks_usage():
    history = [(TODAY - timedelta(days=30), 0)]
    assert not forecast.outlook(history, balance(pack(used_mb=9000)), NOW, FixedPlans(PLANS)).enough_readings


def test_an_unlimited_pack_without_fair_use_has_nothing_to_run_out():
    history = [(TODAY - timedelta(days=2), 0)]
    unlimited = pack(data_mb=None, used_mb=9000)
    assert forecast.outlook(history, balance(unlimited), NOW, FixedPlans(PLANS)) is None


def test_an_unlimited_pack_forecasts_its_fair_use():
    history = [(TODAY - timedelta(days=1), 1000)]
    fair = pack(data_mb=None, fair_use_mb=3072, used_mb=2500, plan_code="trio-3d-unl")
    outlook = forecast.outlook(history, balance(fair), NOW, FixedPlans(PLANS))
    assert outlook.runs_out_on == TODAY and outlook.suggestion.code == "trio-7d"  # the same wide region


def test_hong_kong_day_turns_at_midnight_hong_kong_time():
    assert usage.hk_day(datetime(2026, 11, 28, 15, 59)) == date(2026, 11, 28)
    assert usage.hk_day(datetime(2026, 11, 28, 16, 0)) == date(2026, 11, 29)


def test_what_is_left_adds_up_the_packs_in_use():
    shown = usage.CardUsage(card=None, balance=balance(pack(used_mb=1024)), now=NOW)
    shown.active = [pack(used_mb=1024), pack(data_mb=2048, used_mb=3000, voice=(30, 40))]
    assert (shown.left_mb, shown.total_mb, shown.percent_left) == (9216, 12288, 75)
    assert shown.voice_left_minutes == 100  # 100 left + 0 (used more than it had)
    assert shown.days_left == 5


@pytest.mark.parametrize(
    "bad",
    [
        {"used_mb": -1},
        {"used_mb": None},
        {"starts_at": None},
        {"data_mb": -10},
        {"used_mb": True},
        {"ends_at": NOW - timedelta(days=3)},  # ends before it starts
    ],
)
def test_an_answer_with_a_missing_or_negative_figure_is_not_sane(bad):
    fields = {**pack().__dict__, **bad}
    assert not usage.sane(balance(PackBalance(**fields)))


def test_a_complete_answer_is_sane():
    assert usage.sane(balance(pack(), pack(data_mb=None, fair_use_mb=None)))
    assert not usage.sane(None)


def queued(data_mb=20480, starts_in_days=5.0, days=7, plan_code="gba-30d"):
    return PackBalance(
        order_id=2,
        data_mb=data_mb,
        used_mb=0,
        fair_use_mb=None,
        voice_minutes=0,
        voice_used_minutes=0,
        starts_at=NOW + timedelta(days=starts_in_days),
        ends_at=NOW + timedelta(days=starts_in_days + days),
        plan_code=plan_code,
    )


TWO_GB_A_DAY = [(TODAY - timedelta(days=3), 2048), (TODAY - timedelta(days=2), 4096)]


def test_a_queued_pack_that_lasts_leaves_only_the_gap_before_it_and_says_when_it_starts():
    # 2 GB left of the pack in use (ends 3 Dec): out on 29 Nov; the queued 20 GB lasts its 7 days.
    card = balance(pack(used_mb=8192), queued())
    outlook = forecast.outlook(TWO_GB_A_DAY, card, NOW, FixedPlans(PLANS))
    assert outlook.runs_out_on == date(2026, 11, 29)
    assert outlook.pack_ends_on == date(2026, 12, 3) and outlook.days_before_end == 4
    assert outlook.next_starts_on == date(2026, 12, 3)
    assert outlook.shortfall_mb == 8192  # the 4 days before the next pack, nothing after it
    assert outlook.suggestion.code == "gba-7d"


def test_data_that_runs_out_in_a_queued_pack_is_forecast_against_the_last_end_the_page_shows():
    # The pack in use lasts (12 GB left, 1 day to go); the queued 5 GB at 2 GB a day is out 2.5 days into 7.
    card = balance(pack(20480, 8192, ends_in_days=1), queued(data_mb=5120, starts_in_days=1, plan_code="gba-3d"))
    outlook = forecast.outlook(TWO_GB_A_DAY, card, NOW, FixedPlans(PLANS))
    last_end = usage.hk_day(max(p.ends_at for p in card.packs))
    assert outlook.runs_out_on == date(2026, 12, 1) and outlook.pack_ends_on == last_end == date(2026, 12, 6)
    assert outlook.next_starts_on is None and outlook.days_before_end == 5
    assert outlook.shortfall_mb == 9216  # 4.5 days at 2 GB


def test_a_queued_pack_with_data_enough_gives_no_warning():
    card = balance(pack(20480, 8192, ends_in_days=1), queued(data_mb=20480, starts_in_days=1))
    outlook = forecast.outlook(TWO_GB_A_DAY, card, NOW, FixedPlans(PLANS))
    assert outlook.enough_readings and outlook.runs_out_on is None and outlook.suggestion is None


def test_the_suggestion_is_the_cheapest_plan_that_covers_the_shortfall_on_sale_prices_too():
    on_sale = plan("gba-30d", "hk_cn", 30, 20480, 16800)
    on_sale.sale_price_cents, on_sale.sale_starts_at, on_sale.sale_ends_at = (
        9000,
        NOW - timedelta(days=1),
        NOW + timedelta(days=1),
    )
    pricier = plan("gba-90d", "hk_cn", 90, 61440, 42800)
    assert forecast.suggest([pricier, on_sale, *PLANS], "hk_cn", 12000, 4, NOW).code == "gba-30d"
