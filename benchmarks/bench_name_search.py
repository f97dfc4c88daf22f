"""Name search: kehu's n-gram token table against pg_trgm (PostgreSQL) and FTS5 trigram (SQLite).

Builds N synthetic Chinese names (surname frequencies close to China's, two- and three-character
names), indexes them three ways and times partial-name queries of one, two and three characters.
Each figure is the median of repeated queries in the same run. Used for ADR 0002.

  .venv/bin/python benchmarks/bench_name_search.py --names 1000000 \
      --postgres postgres://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg

from kehu.customers.search import name_tokens, query_tokens

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁欣怡佳琪雪梦晨思涵子轩博文一诺雨欣嘉怡梓涵"  # noqa: E501


def make_names(n: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(SURNAMES) + 1) ** 0.9
    surnames = rng.choice(list(SURNAMES), size=n, p=weights / weights.sum())
    given = np.array(list(GIVEN))
    first = rng.choice(given, size=n)
    second = rng.choice(given, size=n)
    three = rng.random(n) < 0.7
    return [s + f + (g if t else "") for s, f, g, t in zip(surnames, first, second, three, strict=True)]


def timed(fn, repeat: int = 15) -> str:
    """Median milliseconds over `repeat` runs, and how many rows the query returned."""
    samples = []
    rows = 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = len(fn())
        samples.append((time.perf_counter() - start) * 1000)
    return f"{statistics.median(samples):.2f} ({rows})"


def token_sql(query: str, placeholder: str) -> tuple[str, list[str]]:
    tokens = sorted(query_tokens(query))
    marks = ",".join([placeholder] * len(tokens))
    sql = (
        f"SELECT n.id FROM names n WHERE n.id IN (SELECT customer_id FROM tokens WHERE token IN ({marks}) "
        f"GROUP BY customer_id HAVING count(*) = {len(tokens)}) LIMIT 20"
    )
    return sql, tokens


def bench_postgres(url: str, names: list[str], queries: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute("DROP TABLE IF EXISTS names; DROP TABLE IF EXISTS tokens")
        conn.execute("CREATE UNLOGGED TABLE names (id bigint PRIMARY KEY, name text)")
        conn.execute("CREATE UNLOGGED TABLE tokens (token varchar(64), customer_id bigint)")
        with conn.cursor().copy("COPY names (id, name) FROM STDIN") as copy:
            for i, name in enumerate(names, 1):
                copy.write_row((i, name))
        with conn.cursor().copy("COPY tokens (token, customer_id) FROM STDIN") as copy:
            for i, name in enumerate(names, 1):
                for t in name_tokens(name):
                    copy.write_row((t, i))
        conn.execute("CREATE UNIQUE INDEX ON tokens (token, customer_id)")
        conn.execute("CREATE INDEX names_trgm ON names USING gin (name gin_trgm_ops)")
        conn.execute("ANALYZE names; ANALYZE tokens")
        for q in queries:
            sql, params = token_sql(q, "%s")
            out[q] = {
                "tokens": timed(lambda sql=sql, params=params: conn.execute(sql, params).fetchall()),
                "pg_trgm": timed(
                    lambda q=q: conn.execute("SELECT id FROM names WHERE name LIKE %s LIMIT 20", [f"%{q}%"]).fetchall()
                ),
            }
        conn.execute("DROP TABLE names; DROP TABLE tokens")
    return out


def bench_sqlite(names: list[str], queries: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "names.sqlite3")
        conn.execute("CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("CREATE TABLE tokens (token TEXT, customer_id INTEGER)")
        conn.execute("CREATE VIRTUAL TABLE names_fts USING fts5(name, tokenize='trigram')")
        conn.executemany("INSERT INTO names VALUES (?, ?)", enumerate(names, 1))
        conn.executemany(
            "INSERT INTO tokens VALUES (?, ?)", ((t, i) for i, name in enumerate(names, 1) for t in name_tokens(name))
        )
        conn.execute("INSERT INTO names_fts (rowid, name) SELECT id, name FROM names")
        conn.execute("CREATE UNIQUE INDEX tokens_idx ON tokens (token, customer_id)")
        conn.commit()
        for q in queries:
            sql, params = token_sql(q, "?")
            fts = "SELECT rowid FROM names_fts WHERE name LIKE ? LIMIT 20"
            out[q] = {
                "tokens": timed(lambda sql=sql, params=params: conn.execute(sql, params).fetchall()),
                "fts5_trigram": timed(lambda q=q, fts=fts: conn.execute(fts, [f"%{q}%"]).fetchall()),
            }
        conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=200_000)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    names = make_names(args.names)
    # A rare given-name pair, a common one, a surname + given name, a 3-character full name, one character.
    queries = ["嘉怡", "秀英", "王伟", names[12345 % len(names)], "涵"]
    print(f"{args.names:,} names; median of 15 queries in milliseconds (rows returned, LIMIT 20)\n")
    print("| query | PostgreSQL tokens | PostgreSQL pg_trgm LIKE | SQLite tokens | SQLite FTS5 trigram LIKE |")
    print("| --- | ---: | ---: | ---: | ---: |")
    pg = bench_postgres(args.postgres, names, queries)
    lite = bench_sqlite(names, queries)
    for q in queries:
        true = sum(q in name for name in names)
        print(
            f"| {q} ({len(q)} chars, {true:,} names contain it) | {pg[q]['tokens']} | {pg[q]['pg_trgm']} "
            f"| {lite[q]['tokens']} | {lite[q]['fts5_trigram']} |"
        )


if __name__ == "__main__":
    main()
