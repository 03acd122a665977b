"""Settings of the benchmark's own server: the test settings with the benchmark's urlconf (bench/urls.py),
which adds the floor views beside the product's. Never used by the product."""

from __future__ import annotations

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
DEBUG = False
