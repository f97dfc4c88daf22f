"""Fill a database with a little realistic data for looking at the UI, until `kehu demo-data`
exists: `KEHU_VAR_DIR=/tmp/ui-var python -m tests.e2e.make_screenshot_data` after `kehu migrate`.
Creates an `admin` superuser whose password is the first argument (default: the test password)."""

from __future__ import annotations

import datetime as dt
import os
import random
import sys

import django


def main(password: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    django.setup()
    from django.utils import timezone

    from kehu.accounts.models import Role, User
    from kehu.customers.actions import do_add_note
    from kehu.customers.bulk import do_tag_customers
    from kehu.customers.models import Customer
    from kehu.privacy.actions import do_set_consent
    from tests.factories import make_customer, make_order, make_reference_data

    ref = make_reference_data()
    admin = User.objects.filter(username="admin").first() or User.objects.create_superuser(
        "admin", "admin@example.com", password, role=Role.ADMIN, first_name="林", last_name=""
    )
    if Customer.objects.exists():
        print("Data already present.")
        return
    rng = random.Random(1)
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    given = [
        "伟",
        "芳",
        "娜",
        "敏",
        "静",
        "丽",
        "强",
        "磊",
        "军",
        "洋",
        "勇",
        "艳",
        "杰",
        "娟",
        "涛",
        "明",
        "超",
        "秀英",
        "霞",
        "平",
    ]
    stores = list(ref["stores"])
    now = timezone.now()
    customers = []
    for i in range(120):
        name = rng.choice(surnames) + rng.choice(given) + (rng.choice(given) if rng.random() < 0.4 else "")
        kind = rng.choices(["consumer", "lead", "b2b", "distributor", "partner_customer"], [70, 15, 5, 5, 5])[0]
        phone = "13800138000" if i == 0 else f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
        customer = make_customer(
            "张伟" if i == 0 else name,
            phone=phone,
            email=f"user{i}@example.com" if rng.random() < 0.6 else None,
            kind=kind,
            home_store_id=ref["stores"][rng.choice(stores)].pk,
            gender=rng.choice(["F", "M", ""]),
            birthday=f"{rng.randint(1965, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        )
        customers.append(customer)
        if kind != "lead":
            for _ in range(rng.randint(1, 8 if i else 14)):
                when = now - dt.timedelta(days=rng.randint(0, 360), hours=rng.randint(0, 23))
                channel = rng.choice(["web", "app", "store"])
                make_order(
                    customer,
                    amount=f"{rng.choice([299, 499, 1299, 598, 897, 1798])}.00",
                    channel=channel,
                    store=rng.choice(stores) if channel == "store" else None,
                    sku=rng.choice(["M-SHIRT-01", "M-COAT-01", "S-SNEAK-01"]),
                    ordered_at=when,
                )
    first = customers[0]
    do_add_note(admin, first, "金质客户：来电询问羊毛大衣尺码，已推荐 L 码。")
    do_set_consent(first, "sms", "marketing", "granted", source="web")
    do_set_consent(first, "email", "service", "granted", source="web")
    do_set_consent(first, "wechat", "marketing", "withdrawn", source="call")
    do_tag_customers(admin, [c.pk for c in customers[:20]], "VIP")
    make_customer("<script>alert(1)</script>", phone="13500135000")
    make_customer("阿依古丽·买买提", phone="13500135001")
    print(f"Created {Customer.objects.count()} customers; first customer id {first.pk}.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "correct-horse-battery-staple")
