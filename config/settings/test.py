from __future__ import annotations

import os
import uuid

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, REST_FRAMEWORK, env

DEBUG = False
SECRET_KEY = "test-only-not-secret"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-memory email, unless a test process (a Celery worker a test starts) is given a real server.
if "EMAIL_URL" in os.environ:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = BASE_DIR / ".test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "intake": env("INTAKE_THROTTLE_RATE", default="1000/minute"),
        "intake_email": env("INTAKE_EMAIL_THROTTLE_RATE", default="1000/minute"),
    },
}

# The test run's own queue, inherited by the worker processes the tests start (through the
# environment), so that no other worker on the same Redis takes the test's messages.
CELERY_TASK_DEFAULT_QUEUE = os.environ.setdefault("CELERY_TEST_QUEUE", f"clinic-test-{uuid.uuid4().hex[:8]}")

# The run's own cache keys, inherited by the server processes tests start, so that parallel runs on
# one Redis never share throttle or lockout counters (tests/conftest.py clears them between tests).
CACHES = {
    "default": {
        "BACKEND": "security.cache.PrefixedRedisCache",
        "LOCATION": env("REDIS_URL", default="redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": os.environ.setdefault("CACHE_KEY_PREFIX", f"clinic-test-{uuid.uuid4().hex[:8]}"),
    }
}
