from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from offices.models import Membership

pytestmark = pytest.mark.django_db


def test_it_creates_a_staff_member_with_a_role_in_an_office():
    call_command("add_staff", "dr_kapoor", "--office", "delhi", "--role", "physician", "--email", "k@clinic.example")
    user = User.objects.get(username="dr_kapoor")
    assert user.is_staff
    assert user.email == "k@clinic.example"
    assert not user.has_usable_password()
    assert list(user.memberships.values_list("office__code", "role")) == [("delhi", "physician")]


def test_it_updates_an_existing_member_and_adds_a_second_office():
    call_command("add_staff", "sam", "--office", "delhi", "--role", "coordinator", "--password", "s3cret-pass")
    call_command("add_staff", "sam", "--office", "delhi", "--role", "manager")
    call_command("add_staff", "sam", "--office", "europe", "--role", "coordinator")
    user = User.objects.get(username="sam")
    assert user.check_password("s3cret-pass")
    assert dict(user.memberships.values_list("office__code", "role")) == {"delhi": "manager", "europe": "coordinator"}


def test_an_unknown_office_is_a_clear_error_and_creates_nothing():
    with pytest.raises(CommandError, match="Unknown office 'mars'; known offices: delhi, europe"):
        call_command("add_staff", "x", "--office", "mars", "--role", "physician")
    assert not User.objects.filter(username="x").exists()


def test_an_unknown_role_is_a_usage_error():
    with pytest.raises(CommandError, match="invalid choice: 'boss'"):
        call_command("add_staff", "x", "--office", "delhi", "--role", "boss")
    assert not Membership.objects.exists()
