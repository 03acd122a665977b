"""Settings of the Celery workers the notification tests start: the test settings, retrying fast."""

from __future__ import annotations

from config.settings.test import *  # noqa: F403

# delivery.backoff's first step; in production it is 30 seconds.
NOTIFICATION_RETRY_BASE_SECONDS = 0.2
