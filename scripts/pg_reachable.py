"""Exit 0 if the PostgreSQL server in the given DATABASE_URL accepts a connection, else 1."""

from __future__ import annotations

import sys

import psycopg


def main() -> int:
    url = sys.argv[1]
    try:
        psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"PostgreSQL not reachable: {exc}".strip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
