"""Finding customers who are probably the same person.

Deterministic: identities that are the same once normalised but were stored in different
spellings (legacy rows written before normalisation, member cards typed in another case), which
the unique (kind, value) constraint cannot catch. Such pairs score 100.

Probabilistic: names compared as characters (NFKC, case-folded, no surname guessing) and as
sound (pinyin, so 张伟 / 张玮 typed through an input method match), backed by a second piece of
evidence: the same birthday, or a similar street address in the same district. Candidate pairs
come only from blocks (the same birthday; the same district and first name character), so the
work grows with the block sizes, not with the square of the customer count.

Everything here reads; `kehu.identity.actions` stores the results."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError

from kehu.customers.models import Address, Customer, CustomerIdentity, IdentityKind
from kehu.customers.normalise import match_key, normalise_phone

# Score thresholds (0-100).
SUGGEST_AT = 70
# A pair's names must be at least this alike (in characters, or sound the same) to be suggested at
# all: two family members sharing a birthday and an address are not one person. It is also the
# cut-off inside blocks, so pairs that could never be suggested are never scored.
NAME_CANDIDATE = 70
# Blocks larger than this are split by the first character of the name; a birthday shared by
# thousands (a placeholder such as 1900-01-01) is no evidence and is skipped beyond MAX_BLOCK.
SPLIT_BLOCK = 300
MAX_BLOCK = 5000
CHUNK = 5000

Progress = Callable[[str, int], None]


@dataclass
class Candidate:
    a: int
    b: int
    score: int
    method: str
    reasons: list[dict[str, Any]] = field(default_factory=list)


def pair(x: int, y: int) -> tuple[int, int]:
    return (x, y) if x < y else (y, x)


# --- deterministic ---------------------------------------------------------------------------

_E164 = re.compile(r"\+[1-9]\d{6,14}")


def canonical_identity(kind: str, value: str) -> str | None:
    """The normalised form an identity should have been stored in; None if it has none."""
    if kind == IdentityKind.PHONE:
        if _E164.fullmatch(value):
            return value
        try:
            return normalise_phone(value)
        except ValidationError:
            return None
    if kind == IdentityKind.EMAIL:
        return unicodedata.normalize("NFKC", value).strip().lower() or None
    return match_key(value) or None


def identity_candidates(rows: Iterable[tuple[int, str, str]] | None = None) -> list[Candidate]:
    """Pairs of customers holding the same identity in different spellings. `rows` are
    (customer_id, kind, value); by default every stored identity, streamed."""
    if rows is None:
        rows = CustomerIdentity.objects.order_by().values_list("customer_id", "kind", "value").iterator(CHUNK)
    owners: dict[tuple[str, str], set[int]] = defaultdict(set)
    for customer_id, kind, value in rows:
        canonical = canonical_identity(kind, value)
        if canonical is not None and canonical != value:
            owners[(kind, canonical)].add(customer_id)
    if not owners:
        return []
    # Customers whose stored value already is the canonical spelling.
    keys = list(owners)
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, value in part:
            by_kind[kind].append(value)
        for kind, values in by_kind.items():
            for customer_id, value in CustomerIdentity.objects.filter(kind=kind, value__in=values).values_list(
                "customer_id", "value"
            ):
                owners[(kind, value)].add(customer_id)
    found: dict[tuple[int, int], Candidate] = {}
    for (kind, _value), customers in owners.items():
        for x, y in itertools.combinations(sorted(customers), 2):
            candidate = found.setdefault((x, y), Candidate(x, y, 100, "deterministic"))
            reason = {"code": "identity_same", "kind": kind}
            if reason not in candidate.reasons:
                candidate.reasons.append(reason)
    return list(found.values())


# --- probabilistic --------------------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff]")


@lru_cache(maxsize=100_000)
def _char_sound(char: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(char)) if _CJK.match(char) else char


@lru_cache(maxsize=200_000)
def name_sound(key: str) -> str:
    """The pinyin of a name key without tones (`张玮` → `zhangwei`), character by character (the
    common reading; a name is not a phrase); other text as it is."""
    if not _CJK.search(key):
        return key
    return "".join(_char_sound(char) for char in key)


# Matching folds the same few hundred thousand strings many times over.
_key = lru_cache(maxsize=500_000)(match_key)


def name_similarity(a: str, b: str) -> tuple[float, dict[str, Any]]:
    """How alike two names are (0..1) and the reason to show."""
    from rapidfuzz import fuzz

    ka, kb = _key(a), _key(b)
    if not ka or not kb:
        return 0.0, {"code": "name_similar", "percent": 0}
    if ka == kb:
        return 1.0, {"code": "name_same"}
    chars = (
        max(
            fuzz.ratio(ka, kb),
            fuzz.token_sort_ratio(
                unicodedata.normalize("NFKC", a).casefold(), unicodedata.normalize("NFKC", b).casefold()
            ),
        )
        / 100
    )
    if chars >= 0.95:
        return chars, {"code": "name_similar", "percent": round(chars * 100)}
    if name_sound(ka) == name_sound(kb):
        return 0.95, {"code": "name_sounds_same"}
    return chars, {"code": "name_similar", "percent": round(chars * 100)}


@dataclass
class Profile:
    pk: int
    name: str
    birthday: Any
    gender: str
    addresses: list[tuple[str, str, str, str]] = field(default_factory=list)


def _place(province: str, city: str, district: str) -> tuple[str, str, str]:
    return (_key(province), _key(city), _key(district))


def score_pair(x: Profile, y: Profile) -> Candidate | None:
    """Score two profiles; None below the suggestion threshold."""
    from rapidfuzz import fuzz

    similarity, name_reason = name_similarity(x.name, y.name)
    if similarity * 100 < NAME_CANDIDATE:
        return None
    score = 50 * similarity
    reasons = [name_reason]
    if x.birthday and y.birthday:
        if x.birthday == y.birthday:
            score += 35
            reasons.append({"code": "birthday_same"})
        else:
            score -= 40
            reasons.append({"code": "birthday_differs"})
    best = None
    for px, dx in ((_place(*a[:3]), _key(a[3])) for a in x.addresses):
        for py, dy in ((_place(*a[:3]), _key(a[3])) for a in y.addresses):
            if not px[2] or px != py:
                continue
            detail = fuzz.ratio(dx, dy) if dx and dy else 0
            if best is None or detail > best:
                best = detail
    if best is not None:
        if best >= 90:
            score += 35
            reasons.append({"code": "address_same"})
        elif best >= 70:
            score += 20
            reasons.append({"code": "address_similar", "percent": round(best)})
        else:
            score += 5
            reasons.append({"code": "district_same"})
    if x.gender and y.gender and x.gender != y.gender:
        score -= 30
        reasons.append({"code": "gender_differs"})
    final = max(0, min(99, round(score)))
    if final < SUGGEST_AT:
        return None
    a, b = pair(x.pk, y.pk)
    return Candidate(a, b, final, "probabilistic", reasons)


def _block_pairs(members: list[tuple[int, str]]) -> Iterator[tuple[int, int]]:
    """Pairs inside one block whose names are alike in characters or in sound."""
    import numpy as np
    from rapidfuzz import fuzz, process

    seen: dict[int, str] = {}
    for pk, name in members:
        seen.setdefault(pk, name)
    if len(seen) < 2:
        return
    ids = list(seen)
    keys = [_key(seen[pk]) for pk in ids]
    matrix = process.cdist(keys, keys, scorer=fuzz.ratio, score_cutoff=NAME_CANDIDATE, dtype=np.uint8)
    for i, j in zip(*np.nonzero(np.triu(matrix, 1)), strict=True):
        yield pair(ids[i], ids[j])
    sounds: dict[str, list[int]] = defaultdict(list)
    for pk, key in zip(ids, keys, strict=True):
        if key:
            sounds[name_sound(key)].append(pk)
    for group in sounds.values():
        for x, y in itertools.combinations(group, 2):
            yield pair(x, y)


def _split(members: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    if len(members) <= SPLIT_BLOCK:
        yield members
        return
    by_first: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for pk, name in members:
        key = _key(name)
        by_first[name_sound(key[:1]) if key else ""].append((pk, name))
    for group in by_first.values():
        if len(group) <= MAX_BLOCK:
            yield group


def birthday_blocks() -> Iterator[list[tuple[int, str]]]:
    rows = (
        Customer.objects.filter(birthday__isnull=False)
        .order_by("birthday", "pk")
        .values_list("birthday", "pk", "name")
        .iterator(CHUNK)
    )
    for _day, group in itertools.groupby(rows, key=lambda r: r[0]):
        yield from _split([(pk, name) for _b, pk, name in group])


def address_blocks() -> Iterator[list[tuple[int, str]]]:
    """Customers with an address in the same district, split by the first character's sound."""
    rows = (
        Address.objects.exclude(district="")
        .order_by("province", "city", "district", "customer_id")
        .values_list("province", "city", "district", "customer_id", "customer__name")
        .iterator(CHUNK)
    )
    for _place_key, group in itertools.groupby(rows, key=lambda r: r[:3]):
        members = [(pk, name) for *_p, pk, name in group]
        by_first: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for pk, name in members:
            key = _key(name)
            by_first[name_sound(key[:1]) if key else ""].append((pk, name))
        for block in by_first.values():
            if len(block) <= MAX_BLOCK:
                yield block


def load_profiles(ids: Iterable[int]) -> dict[int, Profile]:
    ids = list(ids)
    profiles: dict[int, Profile] = {}
    for start in range(0, len(ids), 2000):
        part = ids[start : start + 2000]
        for pk, name, birthday, gender in Customer.objects.filter(pk__in=part).values_list(
            "pk", "name", "birthday", "gender"
        ):
            profiles[pk] = Profile(pk, name, birthday, gender)
        for customer_id, *address in Address.objects.filter(customer_id__in=part).values_list(
            "customer_id", "province", "city", "district", "detail"
        ):
            profiles[customer_id].addresses.append(tuple(address))  # type: ignore[arg-type]
    return profiles


@dataclass
class ProbabilisticResult:
    candidates: list[Candidate]
    pairs_compared: int


def probabilistic_candidates(progress: Progress | None = None) -> ProbabilisticResult:
    pairs: set[tuple[int, int]] = set()
    compared = 0
    for stage, blocks, percent in (("birthdays", birthday_blocks, 30), ("addresses", address_blocks, 60)):
        if progress:
            progress(stage, percent)
        for block in blocks():
            compared += len(block) * (len(block) - 1) // 2
            pairs.update(_block_pairs(block))
    if progress:
        progress("scoring", 85)
    found: list[Candidate] = []
    ordered = sorted(pairs)
    for start in range(0, len(ordered), 20_000):
        part = ordered[start : start + 20_000]
        profiles = load_profiles({pk for p in part for pk in p})
        for x, y in part:
            if x in profiles and y in profiles:
                candidate = score_pair(profiles[x], profiles[y])
                if candidate is not None:
                    found.append(candidate)
    return ProbabilisticResult(found, compared)


def combine(*groups: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per pair: the higher score, deterministic evidence first, all reasons."""
    merged: dict[tuple[int, int], Candidate] = {}
    for candidate in itertools.chain(*groups):
        key = (candidate.a, candidate.b)
        if key not in merged:
            merged[key] = Candidate(
                candidate.a, candidate.b, candidate.score, candidate.method, list(candidate.reasons)
            )
            continue
        kept = merged[key]
        if candidate.method == "deterministic" and kept.method != "deterministic":
            kept.method = candidate.method
            kept.reasons = candidate.reasons + kept.reasons
        else:
            kept.reasons += [r for r in candidate.reasons if r not in kept.reasons]
        kept.score = max(kept.score, candidate.score)
    return sorted(merged.values(), key=lambda c: (c.a, c.b))
