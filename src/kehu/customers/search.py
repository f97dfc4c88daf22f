"""Customer search: identities by exact normalised value, names through an n-gram token table.

Name tokens are every character and every pair of adjacent characters of the NFKC, case-folded
name without spaces. A query matches a customer when all of the query's pair tokens (or, for a
one-character query, that character) are among the customer's tokens; candidates are then checked
for the exact substring. It needs no language-specific tokenizer and runs the same on SQLite and
PostgreSQL (ADR 0002)."""

from __future__ import annotations

from kehu.customers.normalise import match_key


def name_tokens(name: str) -> set[str]:
    key = match_key(name)
    if not key:
        return set()
    tokens = set(key)
    tokens.update(key[i : i + 2] for i in range(len(key) - 1))
    return tokens


def query_tokens(query: str) -> set[str]:
    """Tokens that must all be present for a name to contain the query as a substring."""
    key = match_key(query)
    if not key:
        return set()
    if len(key) == 1:
        return {key}
    return {key[i : i + 2] for i in range(len(key) - 1)}
