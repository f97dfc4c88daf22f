"""Customer search: identities by exact normalised value, names through an n-gram token table.

Name tokens are the pairs of adjacent characters of the NFKC, case-folded name without spaces.
A query of two or more characters matches a customer when all of its pairs are among the
customer's tokens; candidates are then checked for the exact substring. It needs no
language-specific tokenizer and runs the same on SQLite and PostgreSQL (ADR 0002)."""

from __future__ import annotations

from kehu.customers.normalise import match_key


def name_tokens(name: str) -> set[str]:
    key = match_key(name)
    if not key:
        return set()
    if len(key) == 1:
        return {key}
    return {key[i : i + 2] for i in range(len(key) - 1)}


# One character matches a large share of all customers (every 王), which is slow at a million
# customers and useless to a person; names are searched from two characters (ADR 0002).
MIN_NAME_QUERY = 2


def query_tokens(query: str) -> set[str]:
    """Tokens that must all be present for a name to contain the query as a substring; empty
    when the query is too short to search names by."""
    key = match_key(query)
    if len(key) < MIN_NAME_QUERY:
        return set()
    return {key[i : i + 2] for i in range(len(key) - 1)}
