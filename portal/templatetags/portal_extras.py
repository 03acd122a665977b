"""Filters for the patient pages: times in the office's zone, dates and money in the page's language."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from django import template
from django.utils.translation import get_language

from offices.models import Office
from portal import timefmt

register = template.Library()


def _language() -> str:
    return get_language() or "en"


@register.filter
def office_time(moment: datetime | None, office: Office) -> str:
    """Thursday 26 November 2026, 10:00 India Standard Time (Asia/Kolkata)."""
    return timefmt.office_time(moment, office, _language()) if moment else ""


@register.filter
def office_clock(moment: datetime | None, office: Office) -> str:
    return timefmt.office_clock(moment, office, _language()) if moment else ""


@register.filter
def office_date(moment: datetime | None, office: Office) -> str:
    """The day of an instant in the office's zone: 24 November 2026."""
    return timefmt.long_date(moment.astimezone(office.tz).date(), _language()) if moment else ""


@register.filter
def long_date(value: date | None) -> str:
    return timefmt.long_date(value, _language()) if value else ""


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    return timefmt.money(amount, currency, _language()) if amount is not None else ""


@register.filter
def currency_name(currency: str) -> str:
    return timefmt.currency_name(currency, _language())


@register.filter
def paragraphs(text: str) -> list[str]:
    """A hard-wrapped document as paragraphs: a blank line or a numbered line starts a new one.

    Only line breaks change: every word of the signed text is shown as it is stored.
    """
    result: list[list[str]] = []
    for line in (text or "").splitlines():
        stripped = line.strip()
        if not stripped:
            result.append([])
            continue
        if not result or re.match(r"^\d+\.\s", stripped) or not result[-1]:
            result.append([stripped])
        else:
            result[-1].append(stripped)
    return [" ".join(lines) for lines in result if lines]
