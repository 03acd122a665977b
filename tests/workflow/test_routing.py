"""Routing by country when the patient leaves the office open (SPEC §3)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.workflow.conftest import submit
from workflow.models import Application
from workflow.routing import is_country, office_code_for_country

DELHI = ["IN", "PK", "BD", "LK", "NP", "AE", "SA", "IL", "TR", "NG", "EG", "ZA", "KE", "CN", "JP", "SG", "ID"]
EUROPE = ["DE", "GB", "FR", "ES", "PL", "UA", "NO", "US", "CA", "MX", "BR", "AR", "AU", "NZ", "FJ"]


@pytest.mark.parametrize("country", DELHI)
def test_south_asia_the_middle_east_africa_and_the_rest_of_asia_go_to_delhi(country: str) -> None:
    assert office_code_for_country(country) == "delhi"


@pytest.mark.parametrize("country", EUROPE)
def test_europe_the_americas_and_oceania_go_to_europe(country: str) -> None:
    assert office_code_for_country(country) == "europe"


def test_routing_ignores_the_case_of_the_code() -> None:
    assert office_code_for_country("pk") == "delhi"
    assert office_code_for_country("de") == "europe"


@pytest.mark.parametrize("code", ["XX", "ZZ", "", "IND", "D"])
def test_an_unknown_code_is_not_a_country(code: str) -> None:
    assert not is_country(code)


@pytest.mark.parametrize("code", ["IN", "de", "NG", "BR"])
def test_known_codes_are_countries(code: str) -> None:
    assert is_country(code)


@pytest.mark.django_db
@pytest.mark.parametrize(("country", "office"), [("IN", "delhi"), ("NG", "delhi"), ("DE", "europe"), ("us", "europe")])
def test_an_application_without_an_office_is_routed_by_country(country: str, office: str) -> None:
    app = submit(country=country)

    assert app.office.code == office
    assert app.country == country.upper()


@pytest.mark.django_db
def test_an_application_from_an_unknown_country_is_invalid() -> None:
    with pytest.raises(ValidationError) as error:
        submit(country="XX")

    assert "country" in error.value.message_dict
    assert not Application.objects.exists()
