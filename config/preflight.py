"""`make run` preflight: stop early, with the fix, when Redis cannot be reached."""

from __future__ import annotations

import os
import sys

import redis


def main() -> int:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        print(
            f"Redis is not reachable at {url} ({exc}).\n"
            "Start it, then run `make run` again:\n"
            "  redis-server --daemonize yes --bind 127.0.0.1 --port 6379\n"
            "or, with Docker: docker compose up -d redis\n"
            "or point REDIS_URL at a running Redis.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
