"""Helpers for the tests of places, counters and their days: make a location record, and a partner there."""

from staff_support import make_staff

from extensions import db


def make_location(app, code: str = "airport-t1", name: str = "Airport counter T1", **values) -> int:
    """A location record (open every day 07:00-23:00 unless told otherwise); returns its id."""
    from models import Location

    fields = {
        "kind": "airport_counter",
        "district": "islands",
        "name_en": name,
        "name_zh_hans": name + "（简）",
        "name_zh_hant": name + "（繁）",
        "address_en": "Arrivals Hall A, Terminal 1",
        "address_zh_hans": "一号客运大楼抵港大堂A",
        "address_zh_hant": "一號客運大樓抵港大堂A",
        "hours": "Daily 07:00-23:00",
        "latitude": 22.3134,
        "longitude": 113.9147,
        **values,
    }
    with app.app_context():
        location = Location(code=code, **fields)
        db.session.add(location)
        db.session.commit()
        return location.id


def make_partner(app, username: str, location_id: int) -> None:
    """A partner (no TOTP) at one location."""
    from models import StaffUser

    make_staff(app, username, "agent", totp=False)
    with app.app_context():
        staff = db.session.scalars(db.select(StaffUser).where(StaffUser.username == username)).one()
        staff.role, staff.location_id = "partner", location_id
        db.session.commit()
