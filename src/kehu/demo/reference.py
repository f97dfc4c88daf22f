"""Reference data of the demo retailer (channels, regions, cities, stores, categories, products, tags)
and the demo staff, created idempotently through the ORM because they are small."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import transaction

from kehu.accounts.models import Role, User
from kehu.commerce.models import Channel, ChannelKind, Product, ProductCategory, Region, Store
from kehu.customers.models import Tag

# (code, Chinese name, English name, kind); order is the demo's channel index.
CHANNELS = [
    ("web", "官网商城", "Web shop", ChannelKind.WEB),
    ("app", "App", "App", ChannelKind.APP),
    ("mini_program", "微信小程序", "WeChat mini-program", ChannelKind.MINI_PROGRAM),
    ("store", "门店POS", "Store POS", ChannelKind.STORE),
    ("call_centre", "客服中心", "Call centre", ChannelKind.CALL_CENTRE),
    ("marketplace", "天猫旗舰店", "Tmall flagship store", ChannelKind.MARKETPLACE),
]
STORE_CHANNEL = 3
# Share of customers preferring each channel, and of one-off orders through each channel.
CHANNEL_PREFERENCE = np.array([0.20, 0.22, 0.25, 0.23, 0.03, 0.07])
# Order number prefix per channel: W(eb), A(pp), M(ini-program), S(tore), C(all centre), T(mall).
CHANNEL_ORDER_PREFIX = ["W", "A", "M", "S", "C", "T"]

REGIONS = [
    ("east", "华东", "East China"),
    ("north", "华北", "North China"),
    ("south", "华南", "South China"),
    ("central", "华中", "Central China"),
    ("southwest", "西南", "Southwest China"),
    ("northwest", "西北", "Northwest China"),
    ("northeast", "东北", "Northeast China"),
]

# (city, province, region code, store code prefix, customer weight, postal code, districts, store landmarks)
CITIES: list[tuple[str, str, str, str, float, str, list[str], list[str]]] = [
    (
        "上海",
        "上海市",
        "east",
        "sh",
        9.0,
        "200000",
        ["黄浦区", "徐汇区", "浦东新区", "静安区", "闵行区"],
        ["南京路", "淮海路", "陆家嘴", "徐家汇", "五角场"],
    ),
    ("杭州", "浙江省", "east", "hz", 4.5, "310000", ["西湖区", "上城区", "滨江区", "余杭区"], ["湖滨", "武林", "西溪"]),
    ("南京", "江苏省", "east", "nj", 3.5, "210000", ["玄武区", "鼓楼区", "建邺区", "江宁区"], ["新街口", "河西"]),
    ("苏州", "江苏省", "east", "suz", 3.2, "215000", ["姑苏区", "吴中区", "相城区", "虎丘区"], ["观前街", "金鸡湖"]),
    ("宁波", "浙江省", "east", "nb", 2.0, "315000", ["海曙区", "鄞州区", "江北区"], ["天一广场"]),
    ("合肥", "安徽省", "east", "hf", 2.0, "230000", ["蜀山区", "包河区", "庐阳区"], ["淮河路"]),
    ("福州", "福建省", "east", "fz", 1.6, "350000", ["鼓楼区", "台江区", "仓山区"], ["东街口"]),
    ("厦门", "福建省", "east", "xm", 1.6, "361000", ["思明区", "湖里区", "集美区"], ["中山路"]),
    ("济南", "山东省", "east", "jn", 1.8, "250000", ["历下区", "市中区", "槐荫区"], ["泉城路"]),
    ("青岛", "山东省", "east", "qd", 2.0, "266000", ["市南区", "市北区", "崂山区"], ["台东"]),
    ("无锡", "江苏省", "east", "wx", 1.5, "214000", ["梁溪区", "滨湖区", "新吴区"], []),
    (
        "北京",
        "北京市",
        "north",
        "bj",
        8.5,
        "100000",
        ["朝阳区", "海淀区", "东城区", "西城区", "丰台区"],
        ["王府井", "三里屯", "西单", "国贸", "中关村"],
    ),
    ("天津", "天津市", "north", "tj", 2.8, "300000", ["和平区", "南开区", "河西区"], ["滨江道"]),
    ("石家庄", "河北省", "north", "sjz", 1.5, "050000", ["长安区", "桥西区", "裕华区"], ["北国商城"]),
    ("太原", "山西省", "north", "ty", 1.2, "030000", ["小店区", "迎泽区", "杏花岭区"], ["柳巷"]),
    ("呼和浩特", "内蒙古自治区", "north", "hhht", 0.7, "010000", ["新城区", "回民区", "赛罕区"], []),
    (
        "广州",
        "广东省",
        "south",
        "gz",
        6.5,
        "510000",
        ["天河区", "越秀区", "海珠区", "番禺区"],
        ["天河城", "北京路", "正佳"],
    ),
    (
        "深圳",
        "广东省",
        "south",
        "sz",
        6.5,
        "518000",
        ["福田区", "南山区", "罗湖区", "宝安区"],
        ["万象城", "海岸城", "东门"],
    ),
    ("佛山", "广东省", "south", "fs", 2.0, "528000", ["禅城区", "南海区", "顺德区"], []),
    ("南宁", "广西壮族自治区", "south", "nn", 1.3, "530000", ["青秀区", "兴宁区", "西乡塘区"], ["朝阳广场"]),
    ("海口", "海南省", "south", "hk", 0.8, "570000", ["龙华区", "美兰区", "秀英区"], []),
    ("武汉", "湖北省", "central", "wh", 3.8, "430000", ["江汉区", "武昌区", "洪山区", "江岸区"], ["江汉路", "光谷"]),
    (
        "长沙",
        "湖南省",
        "central",
        "cs",
        2.8,
        "410000",
        ["岳麓区", "芙蓉区", "天心区", "开福区"],
        ["五一广场", "梅溪湖"],
    ),
    ("郑州", "河南省", "central", "zz", 2.6, "450000", ["金水区", "二七区", "中原区"], ["二七广场"]),
    ("南昌", "江西省", "central", "nc", 1.5, "330000", ["东湖区", "西湖区", "红谷滩区"], []),
    (
        "成都",
        "四川省",
        "southwest",
        "cd",
        5.0,
        "610000",
        ["锦江区", "武侯区", "青羊区", "成华区", "金牛区"],
        ["春熙路", "太古里", "环球中心"],
    ),
    (
        "重庆",
        "重庆市",
        "southwest",
        "cq",
        4.0,
        "400000",
        ["渝中区", "江北区", "南岸区", "渝北区"],
        ["解放碑", "观音桥"],
    ),
    ("昆明", "云南省", "southwest", "km", 1.6, "650000", ["五华区", "盘龙区", "西山区"], ["南屏街"]),
    ("贵阳", "贵州省", "southwest", "gy", 1.2, "550000", ["云岩区", "南明区", "观山湖区"], []),
    ("西安", "陕西省", "northwest", "xa", 3.2, "710000", ["雁塔区", "碑林区", "未央区", "莲湖区"], ["钟楼", "小寨"]),
    ("兰州", "甘肃省", "northwest", "lz", 0.9, "730000", ["城关区", "七里河区", "安宁区"], ["西关"]),
    ("乌鲁木齐", "新疆维吾尔自治区", "northwest", "wlmq", 0.8, "830000", ["天山区", "沙依巴克区", "水磨沟区"], []),
    ("银川", "宁夏回族自治区", "northwest", "yc", 0.5, "750000", ["兴庆区", "金凤区"], []),
    ("西宁", "青海省", "northwest", "xn", 0.4, "810000", ["城西区", "城东区"], []),
    ("沈阳", "辽宁省", "northeast", "sy", 2.2, "110000", ["和平区", "沈河区", "皇姑区"], ["中街"]),
    ("大连", "辽宁省", "northeast", "dl", 1.8, "116000", ["中山区", "西岗区", "沙河口区"], ["青泥洼桥"]),
    ("长春", "吉林省", "northeast", "cc", 1.5, "130000", ["朝阳区", "南关区", "宽城区"], ["重庆路"]),
    ("哈尔滨", "黑龙江省", "northeast", "hrb", 1.9, "150000", ["南岗区", "道里区", "香坊区"], ["中央大街"]),
]

STREETS = [
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "和平路",
    "新华路",
    "文化路",
    "长江路",
    "黄河路",
    "友谊路",
    "光明路",
    "胜利路",
    "青年路",
    "朝阳路",
    "花园路",
    "复兴路",
    "民主路",
    "学府路",
    "滨江路",
    "湖滨路",
]
COMPOUNDS = ["花园", "小区", "公寓", "家园", "新村", "苑", "大厦", "城"]

CATEGORIES = [
    (
        "menswear",
        "男装",
        "Menswear",
        "MEN",
        [
            ("衬衫", 199, 499),
            ("T恤", 79, 199),
            ("夹克", 399, 999),
            ("羊毛大衣", 899, 2499),
            ("西装", 999, 2999),
            ("休闲裤", 199, 399),
            ("牛仔裤", 199, 499),
            ("羽绒服", 599, 1899),
            ("卫衣", 199, 399),
            ("针织衫", 199, 599),
        ],
    ),
    (
        "womenswear",
        "女装",
        "Womenswear",
        "WMN",
        [
            ("连衣裙", 299, 999),
            ("半身裙", 199, 599),
            ("衬衫", 199, 499),
            ("针织开衫", 259, 699),
            ("风衣", 599, 1599),
            ("羊绒大衣", 1299, 3599),
            ("阔腿裤", 199, 459),
            ("羽绒服", 699, 1999),
            ("T恤", 79, 199),
            ("西装外套", 499, 1299),
        ],
    ),
    (
        "kids",
        "童装",
        "Kidswear",
        "KID",
        [
            ("儿童T恤", 59, 129),
            ("儿童卫衣", 99, 229),
            ("儿童羽绒服", 299, 699),
            ("儿童运动套装", 159, 359),
            ("儿童牛仔裤", 99, 199),
            ("婴儿连体衣", 69, 159),
            ("儿童外套", 199, 459),
            ("儿童睡衣", 69, 149),
        ],
    ),
    (
        "shoes",
        "鞋履",
        "Shoes",
        "SHO",
        [
            ("休闲运动鞋", 299, 799),
            ("皮鞋", 499, 1299),
            ("乐福鞋", 399, 999),
            ("高跟鞋", 399, 1099),
            ("短靴", 499, 1299),
            ("帆布鞋", 129, 299),
            ("凉鞋", 159, 459),
            ("跑步鞋", 399, 999),
        ],
    ),
    (
        "accessories",
        "配饰",
        "Accessories",
        "ACC",
        [
            ("真丝围巾", 199, 599),
            ("羊绒围巾", 299, 899),
            ("皮带", 159, 459),
            ("棒球帽", 79, 199),
            ("托特包", 299, 1299),
            ("双肩包", 259, 799),
            ("钱包", 199, 599),
            ("袜子三双装", 39, 89),
            ("太阳镜", 199, 699),
            ("手套", 99, 259),
        ],
    ),
    (
        "home",
        "家居",
        "Home",
        "HOM",
        [
            ("纯棉四件套", 299, 899),
            ("羽绒被", 599, 1999),
            ("浴巾", 59, 159),
            ("香薰蜡烛", 79, 199),
            ("抱枕", 59, 159),
            ("家居服", 159, 399),
            ("居家拖鞋", 39, 99),
            ("羊毛毯", 299, 799),
        ],
    ),
]
PRODUCTS_PER_CATEGORY = 50
STYLES = [
    "经典",
    "简约",
    "复古",
    "修身",
    "宽松",
    "轻薄",
    "加厚",
    "法式",
    "通勤",
    "休闲",
    "商务",
    "纯棉",
    "亚麻",
    "真丝",
    "羊毛",
    "新款",
    "基础款",
    "设计师款",
]
COLOURS = ["黑色", "白色", "藏青", "驼色", "米白", "灰色", "酒红", "雾蓝", "卡其", "墨绿", "燕麦色", "浅粉"]

TAGS = [
    ("VIP", "gold"),
    ("高潜力", "green"),
    ("价格敏感", "orange"),
    ("直播粉丝", "purple"),
    ("会员日常客", "blue"),
    ("企业团购", "cyan"),
    ("穿搭达人", "pink"),
]

# Demo staff, one per role; the store manager manages the first stores of Shanghai.
STAFF = [
    ("admin", Role.ADMIN, "王", "立"),
    ("marketing", Role.MARKETING, "李", "娜"),
    ("sales", Role.SALES, "张", "伟"),
    ("service", Role.SERVICE, "刘", "芳"),
    ("store_manager", Role.STORE_MANAGER, "陈", "静"),
    ("analyst", Role.ANALYST, "杨", "洋"),
]
STORE_MANAGER_STORES = ["sh-001", "sh-002", "hz-001"]


def store_plan() -> list[tuple[str, str, int, str]]:
    """(store code, name, city index, street address) for each demo store: about fifty stores, more
    in the big cities."""
    plan: list[tuple[str, str, int, str]] = []
    for city_index, (city, _prov, _region, prefix, _w, _post, districts, landmarks) in enumerate(CITIES):
        for n, landmark in enumerate(landmarks, start=1):
            district = districts[(n - 1) % len(districts)]
            plan.append((f"{prefix}-{n:03d}", f"{city}{landmark}店", city_index, f"{district}{landmark}{n * 17 + 1}号"))
    return plan


@dataclass
class Reference:
    """Ids and attributes of the reference rows, as arrays indexed the way the simulation draws them."""

    channel_ids: np.ndarray
    channel_labels: list[str]
    store_ids: np.ndarray
    store_city: np.ndarray
    store_codes: list[str]
    city_region: np.ndarray
    product_ids: np.ndarray
    product_category: np.ndarray
    product_price_cents: np.ndarray
    product_skus: list[str]
    product_names: list[str]
    tag_ids: dict[str, int]
    salesperson_id: int | None = None
    store_manager_id: int | None = None
    managed_store_ids: set[int] = field(default_factory=set)


def _product_rows() -> list[tuple[str, str, int, Decimal, Decimal]]:
    """(sku, name, category index, price, cost); drawn from a fixed seed so reruns agree."""
    rng = np.random.default_rng(20240618)
    rows = []
    for cat_index, (_code, _name, _en, prefix, items) in enumerate(CATEGORIES):
        for n in range(1, PRODUCTS_PER_CATEGORY + 1):
            item, low, high = items[int(rng.integers(len(items)))]
            style = STYLES[int(rng.integers(len(STYLES)))]
            colour = COLOURS[int(rng.integers(len(COLOURS)))]
            # Prices end in 9 like real price tags.
            price = int(rng.integers(low // 10, high // 10 + 1)) * 10 - 1
            cost = (Decimal(price) * Decimal(str(round(float(rng.uniform(0.3, 0.55)), 2)))).quantize(Decimal("0.01"))
            rows.append((f"{prefix}-{n:04d}", f"{style}{item} {colour}", cat_index, Decimal(price), cost))
    return rows


@transaction.atomic
def ensure_reference_data() -> Reference:
    """Create what is missing of the demo's channels, regions, stores, categories, products and
    tags (existing rows are kept as they are) and return their ids."""
    channels = [
        Channel.objects.get_or_create(code=code, defaults={"name": name, "name_en": en, "kind": kind})[0]
        for code, name, en, kind in CHANNELS
    ]
    regions = {
        code: Region.objects.get_or_create(code=code, defaults={"name": name, "name_en": en})[0]
        for code, name, en in REGIONS
    }
    existing_stores = {s.code: s for s in Store.objects.filter(code__in=[p[0] for p in store_plan()])}
    new_stores = []
    for code, name, city_index, address in store_plan():
        if code not in existing_stores:
            city, province, region, *_ = CITIES[city_index]
            new_stores.append(
                Store(code=code, name=name, region=regions[region], province=province, city=city, address=address)
            )
    Store.objects.bulk_create(new_stores)
    stores = {s.code: s for s in Store.objects.filter(code__in=[p[0] for p in store_plan()])}
    categories = [
        ProductCategory.objects.get_or_create(code=code, defaults={"name": name, "name_en": en})[0]
        for code, name, en, _prefix, _items in CATEGORIES
    ]
    rows = _product_rows()
    have = set(Product.objects.filter(sku__in=[r[0] for r in rows]).values_list("sku", flat=True))
    Product.objects.bulk_create(
        [
            Product(sku=sku, name=name, category=categories[cat], price=price, cost=cost)
            for sku, name, cat, price, cost in rows
            if sku not in have
        ]
    )
    products = {p.sku: p for p in Product.objects.filter(sku__in=[r[0] for r in rows])}
    tags = {name: Tag.objects.get_or_create(name=name, defaults={"color": colour})[0].pk for name, colour in TAGS}
    plan = store_plan()
    city_codes = {c[2] for c in CITIES}
    region_index = {code: i for i, (code, *_rest) in enumerate(REGIONS)}
    assert city_codes <= set(region_index)
    # A product's price in the database wins over the plan (an admin may have changed it).
    product_list = [products[r[0]] for r in rows]
    return Reference(
        channel_ids=np.array([c.pk for c in channels], dtype=np.int64),
        channel_labels=[str(ChannelKind(c.kind).label) for c in channels],
        store_ids=np.array([stores[p[0]].pk for p in plan], dtype=np.int64),
        store_city=np.array([p[2] for p in plan], dtype=np.int64),
        store_codes=[p[0] for p in plan],
        city_region=np.array([region_index[c[2]] for c in CITIES], dtype=np.int64),
        product_ids=np.array([p.pk for p in product_list], dtype=np.int64),
        product_category=np.array([r[2] for r in rows], dtype=np.int64),
        product_price_cents=np.array([int(p.price * 100) for p in product_list], dtype=np.int64),
        product_skus=[p.sku for p in product_list],
        product_names=[p.name for p in product_list],
        tag_ids=tags,
    )


def attach_staff(reference: Reference) -> None:
    """Let the demo's sales user and store manager appear as salespeople, when they exist."""
    users = {u.username: u for u in User.objects.filter(username__in=["sales", "store_manager"], is_active=True)}
    sales, manager = users.get("sales"), users.get("store_manager")
    reference.salesperson_id = sales.pk if sales is not None and sales.role == Role.SALES else None
    if manager is not None and manager.role == Role.STORE_MANAGER:
        reference.store_manager_id = manager.pk
        reference.managed_store_ids = set(manager.stores.values_list("pk", flat=True))


@transaction.atomic
def ensure_demo_staff(password: str) -> list[User]:
    """One demo user per role (usernames `admin`, `marketing`, `sales`, `service`, `store_manager`,
    `analyst`), created with `password` if they do not exist; existing users are left unchanged.
    Creates the demo stores first so the store manager has stores to manage."""
    ensure_reference_data()
    staff = []
    for username, role, surname, given in STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                password=password,
                role=role,
                email=f"{username}@demo.kehu.invalid",
                first_name=given,
                last_name=surname,
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
            )
            if role == Role.STORE_MANAGER:
                user.stores.set(Store.objects.filter(code__in=STORE_MANAGER_STORES))
        staff.append(user)
    return staff
