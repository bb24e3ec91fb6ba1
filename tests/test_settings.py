"""Settings read the environment through helpers that fail loudly on a bad value."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from tracker.env import env_bool, env_int


def test_bad_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG"):
        env_bool("DJANGO_DEBUG", False)


def test_bad_integer_names_the_variable(monkeypatch):
    monkeypatch.setenv("TRACKER_HTTP_TIMEOUT", "soon")
    with pytest.raises(ImproperlyConfigured, match="TRACKER_HTTP_TIMEOUT"):
        env_int("TRACKER_HTTP_TIMEOUT", 30)


def test_integer_below_its_minimum_is_refused(monkeypatch):
    monkeypatch.setenv("TRACKER_TICK_SECONDS", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("TRACKER_TICK_SECONDS", 60, minimum=1)


def test_unset_variable_gives_the_default(monkeypatch):
    monkeypatch.delenv("TRACKER_HTTP_TIMEOUT", raising=False)
    assert env_int("TRACKER_HTTP_TIMEOUT", 30) == 30
