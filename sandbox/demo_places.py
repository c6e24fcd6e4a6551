"""The demo's places to renew in person: the border crossings, the airport, shops on both sides of the
harbour and a 24-hour convenience store, in three languages. Refreshed by `flask seed-demo`."""

from sqlalchemy import select

from extensions import db
from models import Location

# code, kind, district, (English, 简体, 繁體) name, (English, 简体, 繁體) address, hours, lat, lon, extras
PLACES = [
    (
        "hkia-t1-arrivals",
        "airport_counter",
        "islands",
        ("Airport counter, Arrivals Hall A", "机场柜台 抵港大堂A", "機場櫃檯 抵港大堂A"),
        (
            "Arrivals Hall A, Terminal 1, Hong Kong International Airport",
            "香港国际机场一号客运大楼抵港大堂A",
            "香港國際機場一號客運大樓抵港大堂A",
        ),
        "Daily 06:00-01:00",
        22.313400,
        113.914700,
        {"sells_sims": True},
    ),
    (
        "hkia-t2",
        "airport_counter",
        "islands",
        ("Airport counter, Terminal 2", "机场柜台 二号客运大楼", "機場櫃檯 二號客運大樓"),
        (
            "Departures Hall, Terminal 2, Hong Kong International Airport",
            "香港国际机场二号客运大楼离港大堂",
            "香港國際機場二號客運大樓離港大堂",
        ),
        "Daily 07:00-23:00",
        22.316600,
        113.936000,
        {"temporarily_closed": True},
    ),
    (
        "lo-wu",
        "partner_store",
        "north",
        ("Lo Wu Station Travel Kiosk", "罗湖站旅客服务亭", "羅湖站旅客服務亭"),
        (
            "Lo Wu Station concourse, Hong Kong side, next to the immigration hall",
            "罗湖站大堂（香港境内），入境大楼旁",
            "羅湖站大堂（香港境內），入境大樓旁",
        ),
        "Daily 06:30-24:00",
        22.528300,
        114.113300,
        {},
    ),
    (
        "lok-ma-chau",
        "carrier_shop",
        "yuen_long",
        ("Lok Ma Chau Station Shop", "落马洲站门市", "落馬洲站門市"),
        ("Arrival level, Lok Ma Chau Station", "落马洲站抵境层", "落馬洲站抵境層"),
        "Daily 06:30-22:30",
        22.514700,
        114.065600,
        {"sells_sims": True},
    ),
    (
        "sheung-wan",
        "carrier_shop",
        "central_western",
        ("Sheung Wan Shop (Shun Tak Centre)", "上环门市（信德中心）", "上環門市（信德中心）"),
        (
            "Shop 12, G/F, Shun Tak Centre, 200 Connaught Road Central, Sheung Wan",
            "上环干诺道中200号信德中心地下12号铺",
            "上環干諾道中200號信德中心地下12號舖",
        ),
        "Mon-Sat 10:00-21:00; Sun 11:00-19:00",
        22.288600,
        114.152200,
        {"sells_sims": True, "open_on_holidays": False},
    ),
    (
        "mong-kok",
        "carrier_shop",
        "yau_tsim_mong",
        ("Mong Kok Shop", "旺角门市", "旺角門市"),
        ("G/F, 688 Nathan Road, Mong Kok", "旺角弥敦道688号地下", "旺角彌敦道688號地下"),
        "Daily 11:00-22:00",
        22.319300,
        114.169400,
        {"sells_sims": True},
    ),
    (
        "causeway-bay",
        "partner_store",
        "wan_chai",
        ("Causeway Bay Phone Corner", "铜锣湾手机角", "銅鑼灣手機角"),
        (
            "Shop 5, 1/F, 500 Hennessy Road, Causeway Bay",
            "铜锣湾轩尼诗道500号1楼5号铺",
            "銅鑼灣軒尼詩道500號1樓5號舖",
        ),
        "Mon-Thu 12:00-23:00; Fri-Sat 12:00-01:00; Sun 12:00-22:00",
        22.279900,
        114.183200,
        {},
    ),
    (
        "hankow-24h",
        "partner_store",
        "yau_tsim_mong",
        ("Hankow Road 24-hour Convenience Store", "汉口道24小时便利店", "漢口道24小時便利店"),
        ("G/F, 36 Hankow Road, Tsim Sha Tsui", "尖沙咀汉口道36号地下", "尖沙咀漢口道36號地下"),
        "Daily 00:00-24:00",
        22.297000,
        114.171100,
        {"takes_cash": True},
    ),
]


def seed() -> int:
    """Insert or refresh the demo places (the caller commits); return how many were created."""
    created = 0
    for code, kind, district, names, addresses, hours, lat, lon, extras in PLACES:
        place = db.session.scalars(select(Location).where(Location.code == code)).first()
        if place is None:
            place = Location(code=code)
            db.session.add(place)
            created += 1
        place.kind, place.district, place.hours, place.latitude, place.longitude = kind, district, hours, lat, lon
        place.name_en, place.name_zh_hans, place.name_zh_hant = names
        place.address_en, place.address_zh_hans, place.address_zh_hant = addresses
        flags = {
            "renews": True,
            "sells_sims": False,
            "takes_cash": True,
            "open_on_holidays": True,
            "temporarily_closed": False,
        }
        for key, value in {**flags, **extras}.items():
            setattr(place, key, value)
        place.version = (place.version or 0) + 1  # a payment confirmed on the old details is checked again
    return created
