"""The shared cache (Redis), whose `clear()` forgets only its own keys."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache


class PrefixedRedisCache(RedisCache):
    """Django's `RedisCache`, but `clear()` deletes the keys under `KEY_PREFIX` instead of `FLUSHDB`.

    The Redis database is shared with the Celery broker (its queues) and, in tests, with other runs:
    flushing it would drop queued tasks and other processes' counters.
    """

    def clear(self) -> None:
        client = self._cache.get_client(write=True)
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{self.key_prefix}:*", count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
