"""Which claimed rows the SMTP server has already accepted, written the moment it accepts each one.

A worker records a batch's outcomes in PostgreSQL in one statement after the batch. A worker that
dies before that statement leaves rows in `sending` whose messages went out; without this note the
relay would send them again after STUCK_AFTER. The note lives in Redis (the broker), one key per
row naming the claim it belongs to, so it costs no database round trip per email. If Redis loses it
(an outage, a restart without persistence), the row is resent with the same Message-ID: the
guarantee is never weaker than "at least once, recognisably the same email".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import redis
from celery import current_app

logger = logging.getLogger(__name__)

PREFIX = "notifications:accepted:"
# Far longer than STUCK_AFTER, so the relay finds the note of any worker that died mid-batch.
KEEP = timedelta(days=2)
# A note is a convenience: never let a slow broker hold up sending.
TIMEOUT_SECONDS = 0.5


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)


def client() -> redis.Redis:
    # The broker's address as Celery sees it now, so that the relay and the workers read one place.
    return _client(str(current_app.conf.broker_url))


def _stamp(claimed_at: datetime) -> str:
    # The instant, not its rendering: PostgreSQL hands it back in UTC whatever zone it was written in.
    return f"{claimed_at.timestamp():.6f}"


def accepted(notification_id: int, claimed_at: datetime) -> bool:
    """Note one accepted message and wait for Redis. False when Redis did not take the note."""
    try:
        client().set(f"{PREFIX}{notification_id}", _stamp(claimed_at), ex=KEEP)
    except redis.RedisError:
        logger.warning("could not note notification %s as accepted", notification_id, exc_info=True)
        return False
    return True


class Notes:
    """The notes of one batch, written without waiting for each reply.

    Each note goes to Redis the moment its message is accepted; its reply is read while the next
    message is on its way to the SMTP server, so a note costs no round trip of its own. A worker
    killed mid-batch has already handed its notes to the socket. The first Redis error stops the
    noting for the batch (its rows fall back to being resent after a crash).
    """

    def __init__(self, claimed_at: datetime) -> None:
        self.stamp = _stamp(claimed_at)
        self.seconds = int(KEEP.total_seconds())
        self.connection: Any = None
        self.unread = 0
        self.working = True

    def add(self, notification_id: int) -> None:
        if not self.working:
            return
        try:
            if self.connection is None:
                self.connection = client().connection_pool.get_connection()
            self.connection.send_command("SET", f"{PREFIX}{notification_id}", self.stamp, "EX", self.seconds)
            self.unread += 1
            self._read(leave=1)
        except redis.RedisError:
            logger.warning("could not note notification %s as accepted", notification_id, exc_info=True)
            self._drop()

    def _read(self, *, leave: int) -> None:
        while self.unread > leave:
            self.connection.read_response()
            self.unread -= 1

    def _drop(self) -> None:
        self.working = False
        if self.connection is not None:
            self.connection.disconnect()
            client().connection_pool.release(self.connection)
            self.connection = None

    def close(self) -> None:
        """Read the last replies and give the connection back."""
        if self.connection is None:
            return
        try:
            self._read(leave=0)
        except redis.RedisError:
            logger.warning("could not confirm the last accepted-notes", exc_info=True)
            self._drop()
            return
        client().connection_pool.release(self.connection)
        self.connection = None


def forget(notification_ids: Iterable[int]) -> None:
    """The outcomes are in PostgreSQL now: the notes are no longer needed."""
    keys = [f"{PREFIX}{pk}" for pk in notification_ids]
    if not keys:
        return
    try:
        client().delete(*keys)
    except redis.RedisError:
        logger.warning("could not clear %s accepted-notes; they expire by themselves", len(keys), exc_info=True)


def accepted_among(claims: dict[int, datetime]) -> set[int]:
    """Of these rows (id → the claim they are stuck in), those whose message was accepted in that claim.

    Matching the claim instant ignores a note left by an earlier claim of the same row.
    """
    if not claims:
        return set()
    ids = list(claims)
    try:
        values = client().mget([f"{PREFIX}{pk}" for pk in ids])
    except redis.RedisError:
        logger.warning("could not read accepted-notes; stuck rows will be resent", exc_info=True)
        return set()
    found = set()
    for pk, value in zip(ids, values, strict=True):
        if value is not None and (value.decode() if isinstance(value, bytes) else value) == _stamp(claims[pk]):
            found.add(pk)
    return found
