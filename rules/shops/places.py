"""Locations as records: what /shops lists, and what an admin creates, edits and closes (never deletes).

An edit is a conditional UPDATE naming the version the admin's form was opened on, and moves the
version on; a counter payment confirmed against an older version is refused (rules.staff.counter_payments).
The caller audits (before, after) and commits.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from extensions import db
from models import Location, utcnow
from rules.shops import hours
from rules.staff import actors
from rules.text import locales

KINDS = {
    "airport_counter": _l("Airport counter"),
    "carrier_shop": _l("Carrier shop"),
    "partner_store": _l("Partner store"),
}
DISTRICTS = {
    "central_western": _l("Central and Western"),
    "wan_chai": _l("Wan Chai"),
    "eastern": _l("Eastern"),
    "southern": _l("Southern"),
    "yau_tsim_mong": _l("Yau Tsim Mong"),
    "sham_shui_po": _l("Sham Shui Po"),
    "kowloon_city": _l("Kowloon City"),
    "wong_tai_sin": _l("Wong Tai Sin"),
    "kwun_tong": _l("Kwun Tong"),
    "kwai_tsing": _l("Kwai Tsing"),
    "tsuen_wan": _l("Tsuen Wan"),
    "tuen_mun": _l("Tuen Mun"),
    "yuen_long": _l("Yuen Long"),
    "north": _l("North"),
    "tai_po": _l("Tai Po"),
    "sha_tin": _l("Sha Tin"),
    "sai_kung": _l("Sai Kung"),
    "islands": _l("Islands"),
}
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
TEXTS = ("name_en", "name_zh_hans", "name_zh_hant", "address_en", "address_zh_hans", "address_zh_hant")
FLAGS = ("open_on_holidays", "temporarily_closed", "renews", "sells_sims", "takes_cash")
FIELDS = ("code", "kind", "district", *TEXTS, "hours", *FLAGS, "latitude", "longitude")


class LocationRefused(ValueError):
    """Nothing changed; str() is a message for people, `field` the input at fault."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.field = field


@dataclass
class Place:
    """A location as a traveller reads it, in the current language."""

    location: Location
    name: str
    address: str
    kind: str
    district: str
    status: hours.Status
    hours: list[tuple[str, str]]
    geo: str | None


def listed(kind: str = "", district: str = "") -> list[Place]:
    """Locations not closed for good, in _rank order; unknown filters match nothing."""
    query = select(Location).where(Location.closed_at.is_(None))
    if kind:
        query = query.where(Location.kind == kind)
    if district:
        query = query.where(Location.district == district)
    return sorted((_place(location) for location in db.session.scalars(query)), key=_rank)


def _rank(place: "Place") -> tuple:
    """Kind, then the ones taking travellers before the temporarily closed, then district and name."""
    kinds, districts = list(KINDS), list(DISTRICTS)
    location = place.location
    return (
        kinds.index(location.kind) if location.kind in KINDS else 99,
        location.temporarily_closed,
        districts.index(location.district) if location.district in DISTRICTS else 99,
        place.name,
    )


def _place(location: Location) -> Place:
    suffix = locales.current().lower()
    return Place(
        location,
        getattr(location, "name_" + suffix),
        getattr(location, "address_" + suffix),
        str(KINDS.get(location.kind, location.kind)),
        str(DISTRICTS.get(location.district, location.district)),
        hours.status(location),
        hours.lines(location),
        geo_link(location),
    )


def geo_link(location: Location) -> str | None:
    """A geo: URI (RFC 5870) the phone's map app opens, with the name as its label; None without a position."""
    if location.latitude is None or location.longitude is None:
        return None
    point = f"{location.latitude:.6f},{location.longitude:.6f}"
    label = quote(location.name_en.replace("(", "").replace(")", ""), safe="")  # Android shows it as the pin's name
    return f"geo:{point}?q={point}({label})"


def by_code(code: str) -> Location | None:
    code = (code or "").strip().lower()
    return db.session.scalars(select(Location).where(Location.code == code)).first() if CODE.match(code) else None


def every() -> list[Location]:
    return list(db.session.scalars(select(Location).order_by(Location.closed_at.is_not(None), Location.code)))


def name(location: Location | None) -> str:
    return locales.localized_name(location) if location is not None else ""


def snapshot(location: Location) -> dict:
    return {key: getattr(location, key) for key in (*FIELDS, "version", "closed_at")}


def clean(form: dict) -> dict:
    """The admin form's values, checked: LocationRefused names the first field at fault."""
    values: dict = {"code": (form.get("code") or "").strip().lower()}
    if not CODE.match(values["code"]):
        raise LocationRefused(_l("A code is 2-40 characters: lower-case letters, digits and -."), "code")
    for key, choices in (("kind", KINDS), ("district", DISTRICTS)):
        values[key] = (form.get(key) or "").strip()
        if values[key] not in choices:
            raise LocationRefused(_l("Choose one from the list."), key)
    for key in TEXTS:
        values[key] = " ".join((form.get(key) or "").split())
        if not values[key] or len(values[key]) > (120 if key.startswith("name") else 300):
            raise LocationRefused(
                _l("Fill this in, in at most %(count)s characters.", count=120 if key.startswith("name") else 300), key
            )
    values["hours"] = " ".join((form.get("hours") or "").split())
    try:
        hours.parse(values["hours"])
    except hours.BadHours as error:
        raise LocationRefused(str(error), "hours") from None
    for key in FLAGS:
        values[key] = form.get(key) in ("1", "y", "on", True)
    values["latitude"], values["longitude"] = _position(form.get("latitude"), form.get("longitude"))
    return values


def _position(lat_text, lon_text) -> tuple[float | None, float | None]:
    lat_text, lon_text = (lat_text or "").strip(), (lon_text or "").strip()
    if not lat_text and not lon_text:
        return None, None
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise LocationRefused(_l("Give the position as two numbers, e.g. 22.3080 and 113.9185."), "latitude") from None
    if not (21.5 <= lat <= 23.0 and 113.5 <= lon <= 114.6):  # Hong Kong and the border, nowhere else
        raise LocationRefused(_l("Give the position as two numbers, e.g. 22.3080 and 113.9185."), "latitude")
    return round(lat, 6), round(lon, 6)


def create(form: dict, actor) -> tuple[Location, dict]:
    """A new location (admins); returns it and its snapshot for the audit. Raises LocationRefused."""
    actors.require(actor, "admin")
    values = clean(form)
    if by_code(values["code"]) is not None:
        raise LocationRefused(_l("Another location has this code."), "code")
    location = Location(**values)
    db.session.add(location)
    db.session.flush()
    return location, snapshot(location)


def edit(location: Location, form: dict, version_text: str, actor) -> tuple[dict, dict]:
    """Change a location as its form was opened (version): refused if someone changed it meanwhile."""
    actors.require(actor, "admin")
    values = clean(form)
    values.pop("code")  # a code names the place in payments and links: it stays
    before = snapshot(location)
    _conditional(location, version_text, values)
    return before, snapshot(location)


def close(location: Location, version_text: str, actor) -> tuple[dict, dict]:
    """Close a location for good (it leaves /shops and takes no payment); its records stay."""
    actors.require(actor, "admin")
    before = snapshot(location)
    if location.closed_at is not None:
        raise LocationRefused(_l("This location is already closed."))
    _conditional(location, version_text, {"closed_at": utcnow()})
    return before, snapshot(location)


def _conditional(location: Location, version_text: str, values: dict) -> None:
    version = (
        int(version_text)
        if (version_text or "").isascii() and (version_text or "").isdigit() and len(version_text) < 9
        else -1
    )
    result = db.session.execute(
        update(Location)
        .where(Location.id == location.id, Location.version == version, Location.closed_at.is_(None))
        .values(**values, version=Location.version + 1)
        .execution_options(synchronize_session=False)
    )
    if not isinstance(result, CursorResult) or result.rowcount != 1:
        raise LocationRefused(_l("Someone changed this location meanwhile. Open it again."))
    db.session.refresh(location)
