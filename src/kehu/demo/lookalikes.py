"""Look-alike records for the demo: the same person registered again at a store's POS with a
name written with a homophone (张伟 / 张玮) and a new phone number — the uncertain duplicates
that the review queue exists for. Deterministic for a seed."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kehu.customers.models import Customer

# Characters common in given names, each with one that sounds the same.
HOMOPHONES = {
    "伟": "玮", "芳": "方", "娜": "纳", "静": "婧", "丽": "莉", "敏": "民", "磊": "垒", "军": "君",
    "洋": "阳", "勇": "永", "艳": "燕", "杰": "洁", "娟": "涓", "涛": "韬", "明": "鸣", "超": "潮",
    "秀": "绣", "霞": "侠", "平": "萍", "刚": "钢", "桂": "贵", "英": "瑛", "华": "桦", "玉": "钰",
    "兰": "岚", "红": "虹", "梅": "玫", "琳": "林", "婷": "亭", "雪": "薛", "慧": "惠", "晶": "菁",
}  # fmt: skip


def variant(name: str) -> str:
    """The name with its last replaceable given-name character swapped for a homophone (the
    surname, the first character, is kept); unchanged when none is replaceable."""
    for i in range(len(name) - 1, 0, -1):
        if name[i] in HOMOPHONES:
            return name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]
    return name


def plant_lookalikes(count: int, seed: int = 1) -> list[Customer]:
    """Register `count` existing customers (with a birthday) again as POS members."""
    from kehu.customers.actions import check_create_customer
    from kehu.customers.models import Customer, CustomerIdentity

    rng = random.Random(seed)
    candidates = list(
        Customer.objects.filter(birthday__isnull=False, party_type="person").order_by("pk").values_list("pk", flat=True)
    )
    made: list[Customer] = []
    for pk in rng.sample(candidates, min(count, len(candidates))):
        original = Customer.objects.get(pk=pk)
        while True:
            phone = f"+86139{rng.randrange(10**8):08d}"
            if not CustomerIdentity.objects.filter(kind="phone", value=phone).exists():
                break
        made.append(
            check_create_customer(
                None,
                {
                    "name": variant(original.name),
                    "phone": phone,
                    "birthday": original.birthday,
                    "gender": original.gender,
                    "home_store_id": original.home_store_id,
                    "member_card": f"POS{pk:08d}",
                },
            )
        )
    return made
