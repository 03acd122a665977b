"""Times and money as a patient reads them: in the office's zone with the zone named, in their language.

SPEC §2: deadlines are shown to the patient "in the office's time with its zone named", e.g.
"Thursday 26 November 2026, 10:00 India Standard Time (Asia/Kolkata)".
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel import Locale
from babel.core import get_global
from babel.dates import format_date, format_datetime, get_timezone_gmt
from babel.numbers import format_currency, get_currency_name

from offices.models import Office

# German puts a comma after the weekday and a full stop after the day: "Donnerstag, 26. November 2026".
_DAY_PATTERNS = {"de": "EEEE, d. MMMM y"}
_DAY_PATTERN = "EEEE d MMMM y"
_DATE_PATTERNS = {"de": "d. MMMM y"}
_DATE_PATTERN = "d MMMM y"


def _metazone(zone: str) -> str | None:
    """CLDR's metazone ("India") of an IANA zone. Babel's tables key some zones by their old name
    (Asia/Calcutta) while its alias table points the old name at the new one, so look both ways."""
    meta_zones = get_global("meta_zones")
    if zone in meta_zones:
        return str(meta_zones[zone])
    for alias, canonical in get_global("zone_aliases").items():
        if canonical == zone and alias in meta_zones:
            return str(meta_zones[alias])
    return None


def zone_name(moment: datetime, office: Office, language: str) -> str:
    """ "India Standard Time", "Mitteleuropäische Sommerzeit": the long name in force at that moment."""
    local = moment.astimezone(office.tz)
    variant = "daylight" if local.dst() else "standard"
    metazone = _metazone(office.timezone)
    if metazone is not None:
        names = Locale.parse(language).meta_zones.get(metazone, {}).get("long", {})
        name = names.get(variant) or names.get("generic")
        if name:
            return str(name)
    return str(get_timezone_gmt(local, width="long", locale=language))


def office_time(moment: datetime, office: Office, language: str) -> str:
    """Thursday 26 November 2026, 10:00 India Standard Time (Asia/Kolkata)."""
    local = moment.astimezone(office.tz)
    day = format_datetime(local, _DAY_PATTERNS.get(language, _DAY_PATTERN), locale=language)
    return f"{day}, {local:%H:%M} {zone_name(moment, office, language)} ({office.timezone})"


def office_clock(moment: datetime, office: Office, language: str) -> str:
    """26 November 2026, 10:00: for lists under a heading that names the zone once."""
    local = moment.astimezone(office.tz)
    return f"{format_date(local.date(), _DATE_PATTERNS.get(language, _DATE_PATTERN), locale=language)}, {local:%H:%M}"


def long_date(value: date, language: str, *, weekday: bool = False) -> str:
    if weekday:
        return str(format_date(value, _DAY_PATTERNS.get(language, _DAY_PATTERN), locale=language))
    return str(format_date(value, _DATE_PATTERNS.get(language, _DATE_PATTERN), locale=language))


def money(amount: Decimal, currency: str, language: str) -> str:
    return str(format_currency(amount, currency, locale=language))


def currency_name(currency: str, language: str) -> str:
    return str(get_currency_name(currency, locale=language))
