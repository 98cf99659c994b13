"""`services_up.py POSTGRES_URL REDIS_URL`: exit 0 when both answer within 3 s, else 1.

make test asks it whether to run the PostgreSQL + Redis pass outside CI.
"""

from __future__ import annotations

import sys

import psycopg
import redis


def main(postgres_url: str, redis_url: str) -> int:
    try:
        psycopg.connect(postgres_url, dbname="postgres", connect_timeout=3).close()
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except (psycopg.Error, redis.RedisError) as exc:
        print(f"not reachable: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
