"""Which office handles a patient who left the choice open (SPEC §3).

South Asia, the Middle East, Africa and the rest of Asia go to Delhi; Europe, the Americas and
Oceania go to Europe. Regions follow the UN M49 groupings.
"""

from __future__ import annotations

from django_countries import countries


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


AFRICA = _codes(
    "DZ AO BJ BW BF BI CV CM CF TD KM CG CD CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR LY MG "
    "MW ML MR MU MA MZ NA NE NG RW ST SN SC SL SO ZA SS SD TZ TG TN UG ZM ZW EH RE YT SH IO TF"
)
ASIA = _codes(
    "AF AM AZ BH BD BT BN KH CN CY GE HK IN ID IR IQ IL JP JO KZ KP KR KW KG LA LB MO MY MV MN "
    "MM NP OM PK PS PH QA SA SG LK SY TW TJ TH TL TM AE UZ VN YE TR"
)
DELHI_COUNTRIES = frozenset(AFRICA | ASIA)


def is_country(code: str) -> bool:
    return code.upper() in countries


def office_code_for_country(code: str) -> str:
    return "delhi" if code.upper() in DELHI_COUNTRIES else "europe"
