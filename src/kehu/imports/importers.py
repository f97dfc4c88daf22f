"""The built-in importers: customers, orders (one row per order line), products and stores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.commerce.bulk_ingest import (
    LineRow,
    OrderBatch,
    OrderRow,
    PendingPurchaseStats,
    do_bulk_ingest_order_batch,
)
from kehu.commerce.models import Channel, OrderStatus, Product, ProductCategory, Region, Store
from kehu.customers.bulk_upsert import Change, CustomerRow, do_bulk_upsert_customers, jsonable
from kehu.customers.models import CustomerKind
from kehu.customers.normalise import normalise_email, normalise_name, normalise_phone
from kehu.imports import bulksql, columns
from kehu.imports.cleansing import (
    CellError,
    fold,
    parse_date_text,
    parse_datetime_text,
    parse_money,
    parse_quantity,
    split_address,
)
from kehu.imports.registry import ChunkResult, Field, Importer, MappedRow, RowError, register_importer


@lru_cache(maxsize=262144)
def _phone(text: str) -> str:
    return normalise_phone(text)


@lru_cache(maxsize=65536)
def _email(text: str) -> str:
    return normalise_email(text)


NAME = Field("name", ("姓名", "客户姓名", "客户名称", "会员姓名", "名字", "customer_name", "full_name", "buyer"))
PHONE = Field("phone", ("手机", "手机号", "手机号码", "电话", "联系电话", "联系方式", "mobile", "mobile_phone", "tel",
                        "telephone", "cellphone", "phone_number"))  # fmt: skip
EMAIL = Field("email", ("邮箱", "电子邮箱", "电子邮件", "邮件", "e-mail", "mail", "email_address"))
CARD = Field("member_card", ("会员卡号", "会员卡", "卡号", "card_no", "member_card_no", "membership_card"))
ADDRESS_FIELDS = (
    Field("province", ("省", "省份", "所在省")),
    Field("city", ("市", "城市", "所在市")),
    Field("district", ("区", "区县", "县区", "所在区")),
    Field("address", ("地址", "详细地址", "收货地址", "联系地址", "street", "address_line")),
)

GENDERS = {"男": "M", "m": "M", "male": "M", "女": "F", "f": "F", "female": "F", "其他": "O", "o": "O", "other": "O",
           "": "", "未知": "", "unknown": ""}  # fmt: skip
STATUSES = {"待付款": "pending", "已付款": "paid", "已支付": "paid", "已发货": "shipped", "已完成": "completed",
            "交易成功": "completed", "已取消": "cancelled", "交易关闭": "cancelled", "部分退款": "partially_refunded",
            "已退款": "refunded"}  # fmt: skip
STATUS_VALUES = frozenset(OrderStatus.values)


def customer_from_cells(importer: Importer, row: MappedRow, source: str, errors: list[RowError]) -> CustomerRow:
    """The buyer or customer columns of one row, cleansed; problems are appended to `errors`."""
    cells = row.cells
    customer = CustomerRow(row=row.number, source_system=source, name=normalise_name(cells.get("name", "")))
    if len(customer.name) > 200:
        errors.append(importer.error(row, "name", "name_too_long", _("A name has at most 200 characters.")))
    checks: list[tuple[str, Callable[[str], str], str]] = [("phone", _phone, "phone_invalid"),
                                                          ("email", _email, "email_invalid")]  # fmt: skip
    for name, parse, code in checks:
        raw = cells.get(name, "").strip()
        if raw:
            try:
                setattr(customer, name, parse(raw))
            except ValidationError as exc:
                errors.append(importer.error(row, name, code, exc.messages[0]))
    customer.member_card = fold(cells.get("member_card", ""))[:200]
    address = cells.get("address", "")
    province, city, district = (fold(cells.get(k, "")) for k in ("province", "city", "district"))
    if address and not (province or city or district):
        province, city, district, address = split_address(address)
    customer.province, customer.city, customer.district = province[:50], city[:50], district[:50]
    customer.detail = fold(address)[:300]
    return customer


class CustomerImporter(Importer):
    kind = "customers"
    validates_offline = True
    fields = (
        Field("source_system", ("来源系统", "来源")),
        Field("source_id", ("客户编号", "客户id", "客户号", "会员编号", "会员id", "customer_id", "customer_no", "id",
                            "编号")),
        NAME, PHONE, EMAIL, CARD,
        Field("gender", ("性别", "sex")),
        Field("birthday", ("生日", "出生日期", "birth_date", "date_of_birth", "dob")),
        Field("kind", ("客户类型", "类型", "customer_kind", "type")),
        *ADDRESS_FIELDS,
    )  # fmt: skip

    def validate(self, rows: Sequence[MappedRow]) -> tuple[list[Any], list[RowError]]:
        records: list[CustomerRow] = []
        errors: list[RowError] = []
        today = timezone.localdate()
        for row in rows:
            row_errors: list[RowError] = []
            customer = customer_from_cells(self, row, self.source, row_errors)
            cells = row.cells
            customer.source_system = fold(cells.get("source_system", ""))[:40] or self.source
            customer.source_id = fold(cells.get("source_id", ""))[:100]
            if not customer.name:
                row_errors.append(self.error(row, "name", "required", _("Enter a name.")))
            gender = GENDERS.get(fold(cells.get("gender", "")).casefold())
            if gender is None:
                row_errors.append(self.error(row, "gender", "gender_invalid", _("Unknown gender.")))
            customer.gender = gender or ""
            kind = fold(cells.get("kind", ""))
            if kind and kind not in CustomerKind.values:
                row_errors.append(self.error(row, "kind", "kind_invalid", _("Unknown customer kind.")))
            customer.kind = kind
            if cells.get("birthday", "").strip():
                try:
                    customer.birthday = parse_date_text(cells["birthday"])
                    if customer.birthday > today:
                        raise CellError("date_invalid", _("A birthday cannot be in the future."))
                except CellError as exc:
                    row_errors.append(self.error(row, "birthday", exc.code, exc.message))
            if not (customer.source_id or customer.phone or customer.email or customer.member_card) and not row_errors:
                row_errors.append(
                    self.error(row, "phone", "no_key", _("Give a customer id, phone, email or member card."))
                )
            if row_errors:
                errors.extend(row_errors)
            else:
                records.append(customer)
        return records, errors

    def write(self, records: list[CustomerRow]) -> ChunkResult:
        already = set(self.settled)
        outcome = do_bulk_upsert_customers(records, settled=self.settled, ref_id=self.job.pk)
        return ChunkResult(
            created=len(outcome.created),
            updated=len(outcome.updated - already),
            unchanged=len(outcome.unchanged - already - outcome.updated - outcome.created),
            changes=outcome.changes,
        )


def _by_code_or_name(objects: Sequence[Any]) -> dict[str, Any]:
    """Reference objects found by code, name or English name, case-insensitively."""
    found: dict[str, Any] = {}
    for obj in objects:
        for label in (getattr(obj, "name_en", ""), obj.name, obj.code):
            if label:
                found[fold(label).casefold()] = obj
    return found


class OrderImporter(Importer):
    """One row per order line; the lines of one order are adjacent rows with the same order number."""

    kind = "orders"
    group_field = "order_no"
    fields = (
        Field("order_no", ("订单号", "订单编号", "单号", "order_number", "order_id", "source_id", "外部订单号"), True),
        Field("ordered_at", ("下单时间", "订单时间", "下单日期", "成交时间", "付款时间", "order_time", "order_date",
                             "created", "date", "time"), True),
        Field("amount", ("金额", "实付金额", "订单金额", "实付", "应付金额", "paid_amount", "total", "total_amount",
                         "order_amount")),
        Field("channel", ("渠道", "销售渠道", "来源渠道", "channel_code")),
        Field("store", ("门店", "门店编码", "门店代码", "店铺", "store_code")),
        Field("status", ("状态", "订单状态", "order_status")),
        Field("sku", ("商品编码", "货号", "商品sku", "product_code", "item_code"), True),
        Field("product_name", ("商品名称", "品名", "商品", "item_name", "product")),
        Field("quantity", ("数量", "qty", "件数")),
        Field("unit_price", ("单价", "价格", "price")),
        Field("line_amount", ("行金额", "小计", "商品金额", "subtotal")),
        Field("line_no", ("行号", "序号", "line")),
        NAME, PHONE, EMAIL, CARD, *ADDRESS_FIELDS,
    )  # fmt: skip

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channels = _by_code_or_name(list(Channel.objects.all()))
        self.stores = _by_code_or_name(list(Store.objects.all()))
        self.seen_orders: set[str] = set()
        # Buyers' purchase figures are recomputed once at the end of the import (`finish`).
        self.pending_purchases = PendingPurchaseStats()

    columnar = True
    validates_offline = True

    def validate(self, rows: Sequence[MappedRow]) -> tuple[list[Any], list[RowError]]:
        groups: list[tuple[str, list[MappedRow]]] = []
        for row in rows:
            number = fold(row.cells.get("order_no", ""))
            if groups and groups[-1][0] == number:
                groups[-1][1].append(row)
            else:
                groups.append((number, [row]))
        return self._validate_groups(groups)

    def _validate_groups(self, groups: list[tuple[str, list[MappedRow]]]) -> tuple[list[OrderRow], list[RowError]]:
        records: list[OrderRow] = []
        errors: list[RowError] = []
        for number, group in groups:
            order, group_errors = self._order(number, group)
            if group_errors:
                bad = {e.row for e in group_errors}
                errors.extend(group_errors)
                errors.extend(
                    self.error(r, "order_no", "order_has_errors",
                               _("Another line of order %(number)s has an error.") % {"number": number})
                    for r in group if r.number not in bad
                )  # fmt: skip
            elif order is not None:
                records.append(order)
            if number:
                self.seen_orders.add(number)
        return records, errors

    def _order(self, number: str, rows: list[MappedRow]) -> tuple[OrderRow | None, list[RowError]]:
        errors: list[RowError] = []
        first = rows[0]
        cells = first.cells
        if not number:
            return None, [self.error(r, "order_no", "required", _("This value is required.")) for r in rows]
        if number in self.seen_orders:
            message = _("Order %(number)s appeared earlier in the file; keep the lines of one order together.")
            return None, [self.error(r, "order_no", "order_not_contiguous", message % {"number": number}) for r in rows]
        if len(number) > 100:
            errors.append(self.error(first, "order_no", "too_long", _("At most 100 characters.")))
        try:
            ordered_at = parse_datetime_text(cells.get("ordered_at", ""))
        except CellError as exc:
            errors.append(self.error(first, "ordered_at", exc.code, exc.message))
        channel = self.channels.get(fold(cells.get("channel", "")).casefold())
        if channel is None:
            errors.append(self.error(first, "channel", "unknown_channel",
                                     _("Unknown channel “%(value)s”.") % {"value": cells.get("channel", "")},
                                     ))  # fmt: skip
        store = None
        if cells.get("store", "").strip():
            store = self.stores.get(fold(cells["store"]).casefold())
            if store is None:
                errors.append(self.error(first, "store", "unknown_store",
                                         _("Unknown store “%(value)s”.") % {"value": cells["store"]}))  # fmt: skip
        raw_status = fold(cells.get("status", ""))
        status = STATUSES.get(raw_status, raw_status.casefold()) or OrderStatus.PAID.value
        if status not in STATUS_VALUES:
            errors.append(self.error(first, "status", "status_invalid", _("Unknown status.")))
        customer = customer_from_cells(self, first, self.source, errors)
        if not (customer.phone or customer.email or customer.member_card) and not errors:
            errors.append(self.error(first, "phone", "customer_missing",
                                     _("Give the buyer's phone, email or member card.")))  # fmt: skip
        lines: list[LineRow] = []
        for position, row in enumerate(rows, start=1):
            line = self._line(row, position, errors)
            if line is not None:
                lines.append(line)
        if len({ln.line_no for ln in lines}) != len(lines):
            errors.append(self.error(first, "line_no", "line_no_duplicate", _("Two lines have the same line number.")))
        amount = None
        if cells.get("amount", "").strip():
            try:
                amount = parse_money(cells["amount"])
            except CellError as exc:
                errors.append(self.error(first, "amount", exc.code, exc.message))
        if errors:
            return None, errors
        total = amount if amount is not None else sum((ln.amount for ln in lines), Decimal("0.00"))
        customer.preferred_channel_id = channel.pk  # type: ignore[union-attr]
        customer.home_store_id = store.pk if store else None
        return OrderRow(
            source_system=self.source,
            source_id=number,
            number=number,
            channel_id=channel.pk,  # type: ignore[union-attr]
            store_id=store.pk if store else None,
            status=status,
            ordered_at=ordered_at,
            total_amount=total,
            paid_amount=total if status != OrderStatus.PENDING else Decimal("0.00"),
            customer=customer,
            lines=lines,
        ), []

    def _line(self, row: MappedRow, position: int, errors: list[RowError]) -> LineRow | None:
        cells = row.cells
        count = len(errors)
        sku = fold(cells.get("sku", ""))
        if not sku:
            errors.append(self.error(row, "sku", "required", _("This value is required.")))
        elif len(sku) > 64:
            errors.append(self.error(row, "sku", "too_long", _("At most 64 characters.")))
        values: dict[str, Any] = {"quantity": 1, "unit_price": None, "line_amount": None, "line_no": position}
        parsers: dict[str, Callable[[str], Any]] = {"quantity": parse_quantity, "unit_price": parse_money,
                                                    "line_amount": parse_money, "line_no": parse_quantity}  # fmt: skip
        for name, parse in parsers.items():
            if cells.get(name, "").strip():
                try:
                    values[name] = parse(cells[name])
                except CellError as exc:
                    errors.append(self.error(row, name, exc.code, exc.message))
        if len(errors) > count:
            return None
        unit = values["unit_price"]
        amount = values["line_amount"]
        if unit is None and amount is None:
            errors.append(self.error(row, "unit_price", "required", _("Give the unit price or the line amount.")))
            return None
        if unit is None:
            unit = (amount / values["quantity"]).quantize(Decimal("0.01"))
        if amount is None:
            amount = unit * values["quantity"]
        return LineRow(
            values["line_no"],
            sku,
            values["quantity"],
            unit,
            amount,
            normalise_name(cells.get("product_name", ""))[:200],
        )

    def validate_columns(self, chunk: columns.ColumnChunk) -> tuple[OrderBatch, list[RowError]]:
        """`validate` a column at a time. Orders whose every cell passes the vectorised fast
        checks are assembled from arrays; any order with a cell the fast path does not accept
        (an error, or a rare spelling such as a Chinese date or a landline) goes through the
        per-row `_order` with its rows, which yields the same records and the same errors."""
        import numpy as np
        import pandas as pd

        size = len(chunk)
        number = columns.strings(columns.fold(chunk.column("order_no")))
        starts = np.ones(size, dtype=bool)
        starts[1:] = number[1:] != number[:-1]
        group = np.cumsum(starts) - 1
        first = np.flatnonzero(starts)
        group_number = number[first]

        # Row checks (every line).
        sku = columns.fold(chunk.column("sku"))
        sku_text = columns.strings(sku)
        sku_length = np.asarray(pc.utf8_length(sku).to_numpy(zero_copy_only=False))
        quantity, quantity_given, quantity_ok = columns.positive_integers(chunk.column("quantity"))
        line_no, line_no_given, line_no_ok = columns.positive_integers(chunk.column("line_no"))
        unit, unit_given, unit_ok = columns.money_cents(chunk.column("unit_price"))
        amount, amount_given, amount_ok = columns.money_cents(chunk.column("line_amount"))
        row_ok = (sku_length > 0) & (sku_length <= 64) & quantity_ok & line_no_ok & unit_ok & amount_ok & unit_given
        quantity = np.where(quantity_given, quantity, 1)
        position = np.arange(size) - first[group] + 1
        line_no = np.where(line_no_given, line_no, position)
        amount = np.where(amount_given, amount, unit * quantity)
        duplicate_line = pd.DataFrame({"g": group, "n": line_no}).duplicated().to_numpy()
        group_ok = np.logical_and.reduceat(row_ok & ~duplicate_line, first) if size else np.zeros(0, bool)

        # Order checks (the first line's cells).
        head = chunk.take(first)
        ordered_at, time_ok = columns.datetimes(head.column("ordered_at"))
        channel_id = _lookup_ids(head.column("channel"), self.channels)
        store_blank = columns.blank(head.column("store"))
        store_id = _lookup_ids(head.column("store"), self.stores)
        status = _statuses(head.column("status"))
        phone, phone_ok = columns.phones(head.column("phone"))
        email, email_ok = columns.emails(head.column("email"))
        name = columns.nfc_strip(head.column("name"))
        name_length = np.asarray(pc.utf8_length(name).to_numpy(zero_copy_only=False))
        card = columns.strings(pc.utf8_slice_codeunits(columns.fold(head.column("member_card")), 0, 200))
        order_amount, order_amount_given, order_amount_ok = columns.money_cents(head.column("amount"))
        number_length = np.array([len(n) for n in group_number.tolist()], dtype=np.int64)
        group_ok &= (
            (number_length <= 100) & time_ok & (channel_id >= 0) & (store_blank | (store_id >= 0)) & (status != "")
            & phone_ok & email_ok & order_amount_ok & (name_length <= 200)
            & ((phone != "") | (email != "") | (card != ""))
        )  # fmt: skip
        # Order numbers that are blank or repeated (earlier in the file, or twice in this chunk)
        # take the per-row path, which reports them.
        seen = self.seen_orders
        repeated = pd.Series(group_number, dtype=object).duplicated().to_numpy(copy=True)
        repeated |= np.array([n in seen for n in group_number.tolist()], dtype=bool)
        group_ok &= (group_number != "") & ~repeated

        fast = np.flatnonzero(group_ok)
        line_rows = np.flatnonzero(group_ok[group])
        total = np.add.reduceat(amount, first) if size else np.zeros(0, np.int64)
        total = np.where(order_amount_given, order_amount, total)
        paid = np.where(status == OrderStatus.PENDING.value, 0, total)
        product_name = columns.nfc_strip(chunk.column("product_name").take(pa.array(line_rows, pa.int64())))
        batches = [
            OrderBatch(
                source_system=self.source, first_row=head.numbers[fast], number=group_number[fast],
                channel_id=channel_id[fast],
                store_id=np.array([int(v) if v >= 0 else None for v in store_id[fast].tolist()], dtype=object),
                status=status[fast], ordered_at=ordered_at[fast], total_cents=total[fast], paid_cents=paid[fast],
                buyer={"name": columns.strings(name)[fast], "phone": phone[fast], "email": email[fast],
                       "member_card": card[fast], **_addresses(head, fast)},
                line_order=np.searchsorted(fast, group[line_rows]), line_no=line_no[line_rows],
                line_sku=sku_text[line_rows],
                line_name=columns.strings(pc.utf8_slice_codeunits(product_name, 0, 200)),
                line_quantity=quantity[line_rows], line_unit_cents=unit[line_rows],
                line_amount_cents=amount[line_rows],
            )
        ]  # fmt: skip
        errors: list[RowError] = []
        slow = np.flatnonzero(~group_ok)
        if len(slow):
            ends = np.append(first[1:], size)
            slow_records: list[OrderRow] = []
            slow_firsts: list[int] = []
            added = 0
            for g in slow.tolist():
                # Numbers of earlier orders of this chunk count as seen, as in the per-row loop.
                seen.update(n for n in group_number[added:g].tolist() if n)
                added = g
                part = chunk.take(np.arange(first[g], ends[g]))
                values = {f: c.to_pylist() for f, c in part.cells.items()}
                mapped = [
                    MappedRow(n, {f: v[i] for f, v in values.items()}) for i, n in enumerate(part.numbers.tolist())
                ]
                records, group_errors = self._validate_groups([(group_number[g], mapped)])
                errors.extend(group_errors)
                if records:
                    slow_records.extend(records)
                    slow_firsts.append(mapped[0].number)
            if slow_records:
                batches.append(OrderBatch.from_rows(self.source, slow_records, slow_firsts))
        seen.update(n for n in group_number.tolist() if n)
        return OrderBatch.concat(batches), errors

    def write(self, records: OrderBatch | list[OrderRow]) -> ChunkResult:
        if isinstance(records, list):
            records = OrderBatch.from_rows(self.source, records, list(range(len(records))))
        outcome = do_bulk_ingest_order_batch(
            records, settled=self.settled, ref_id=self.job.pk, pending=self.pending_purchases
        )
        return ChunkResult(
            created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged, changes=outcome.changes
        )

    def finish(self) -> None:
        self.pending_purchases.refresh()


def _lookup_ids(column: Any, found: dict[str, Any]) -> Any:
    """Ids of reference objects named in a column (by code or name, as `_by_code_or_name`), -1
    where none matches; each distinct spelling is looked up once."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(columns.strings(column))
    ids = np.array([getattr(found.get(fold(u).casefold()), "pk", -1) for u in uniques.tolist()], dtype=np.int64)
    return ids[codes] if len(codes) else np.zeros(0, dtype=np.int64)


def _statuses(column: Any) -> Any:
    """Order statuses from a column ("" where unknown), as `OrderImporter._order` reads them."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(columns.strings(column))
    values = []
    for text in uniques.tolist():
        raw = fold(text)
        status = STATUSES.get(raw, raw.casefold()) or OrderStatus.PAID.value
        values.append(status if status in STATUS_VALUES else "")
    return np.array(values, dtype=object)[codes] if len(codes) else np.zeros(0, dtype=object)


def _addresses(head: columns.ColumnChunk, rows: Any) -> dict[str, Any]:
    """The buyer address columns of these rows, as `customer_from_cells` cleanses them."""
    import numpy as np

    count = len(rows)
    if not any(f in head.cells for f in ("address", "province", "city", "district")):
        return {f: np.full(count, "", dtype=object) for f in ("province", "city", "district", "detail")}
    picked = head.take(rows)
    address = picked.column("address").to_pylist()
    parts = [picked.column(f).to_pylist() for f in ("province", "city", "district")]
    out: dict[str, list[str]] = {"province": [], "city": [], "district": [], "detail": []}
    for index, text in enumerate(address):
        province, city, district = (fold(p[index]) for p in parts)
        if text and not (province or city or district):
            province, city, district, text = split_address(text)
        out["province"].append(province[:50])
        out["city"].append(city[:50])
        out["district"].append(district[:50])
        out["detail"].append(fold(text)[:300])
    return {f: np.array(v, dtype=object) for f, v in out.items()}


class _ReferenceImporter(Importer):
    """Shared write path of small reference tables keyed on a unique code: set-based upsert that
    rewrites only rows whose values changed, previous values kept for revert."""

    model: ClassVar[type[Any]]
    key: ClassVar[str]
    db_columns: ClassVar[tuple[str, ...]]
    validates_offline = True

    def write(self, records: list[dict[str, Any]]) -> ChunkResult:
        records = list({r[self.key]: r for r in records}.values())  # last row of a key wins, as a spreadsheet would
        all_columns = self.db_columns
        # Columns the file does not have keep their stored values (new rows get the defaults).
        present = [c for c in all_columns if c.removesuffix("_id") in self.columns]
        stored = {
            v[self.key]: v
            for part in bulksql.batched([r[self.key] for r in records], bulksql.IN_BATCH)
            for v in self.model.objects.filter(**{f"{self.key}__in": part}).values("id", self.key, *all_columns)
        }
        result = ChunkResult()
        to_write = []
        for record in records:
            before = stored.get(record[self.key])
            if before is not None and all(before[c] == record[c] for c in present):
                result.unchanged += 1
                continue
            if before is not None:
                result.updated += 1
                result.changes.append(Change(self.model._meta.label_lower, before["id"], False, jsonable(before)))
            to_write.append((record[self.key], *(record[c] for c in all_columns)))
        written = bulksql.upsert_returning(
            self.model, [self.key, *all_columns], to_write, conflict=[self.key], update=present,
            returning=["id", self.key],
        )  # fmt: skip
        for object_id, key in written:
            if key not in stored:
                result.created += 1
                result.changes.append(Change(self.model._meta.label_lower, object_id, True))
        return result


class ProductImporter(_ReferenceImporter):
    kind = "products"
    model = Product
    key = "sku"
    db_columns = ("name", "category_id", "price", "cost", "is_active")
    fields = (
        Field("sku", ("商品编码", "货号", "商品sku", "product_code", "item_code"), True),
        Field("name", ("商品名称", "名称", "品名", "product_name"), True),
        Field("category", ("类目", "品类", "分类", "商品分类", "category_code"), True),
        Field("price", ("价格", "售价", "单价", "零售价", "unit_price")),
        Field("cost", ("成本", "成本价")),
        Field("is_active", ("是否上架", "上架", "active", "在售")),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.categories = _by_code_or_name(list(ProductCategory.objects.all()))

    def validate(self, rows: Sequence[MappedRow]) -> tuple[list[Any], list[RowError]]:
        records, errors = [], []
        for row in rows:
            cells = row.cells
            row_errors: list[RowError] = []
            sku = fold(cells.get("sku", ""))
            name = normalise_name(cells.get("name", ""))
            for field_name, value, limit in (("sku", sku, 64), ("name", name, 200)):
                if not value:
                    row_errors.append(self.error(row, field_name, "required", _("This value is required.")))
                elif len(value) > limit:
                    row_errors.append(self.error(row, field_name, "too_long", _("Too long.")))
            category = self.categories.get(fold(cells.get("category", "")).casefold())
            if category is None:
                row_errors.append(self.error(row, "category", "unknown_category", _("Unknown category.")))
            money: dict[str, Decimal] = {}
            for field_name in ("price", "cost"):
                try:
                    money[field_name] = parse_money(cells.get(field_name) or "0")
                except CellError as exc:
                    row_errors.append(self.error(row, field_name, exc.code, exc.message))
            active = _boolean(cells.get("is_active", ""))
            if active is None:
                row_errors.append(self.error(row, "is_active", "boolean_invalid", _("Enter yes or no.")))
            if row_errors:
                errors.extend(row_errors)
                continue
            records.append({"sku": sku, "name": name, "category_id": category.pk, "is_active": active, **money})
        return records, errors


class StoreImporter(_ReferenceImporter):
    kind = "stores"
    model = Store
    key = "code"
    db_columns = ("name", "region_id", "province", "city", "address", "opened_on", "is_active")
    fields = (
        Field("code", ("门店编码", "门店代码", "编码", "代码", "store_code"), True),
        Field("name", ("门店名称", "名称", "店名", "store_name"), True),
        Field("region", ("区域", "大区", "region_code"), True),
        Field("province", ("省", "省份")),
        Field("city", ("市", "城市")),
        Field("address", ("地址", "详细地址")),
        Field("opened_on", ("开业日期", "开店日期", "opened")),
        Field("is_active", ("是否营业", "营业中", "active")),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.regions = _by_code_or_name(list(Region.objects.all()))

    def validate(self, rows: Sequence[MappedRow]) -> tuple[list[Any], list[RowError]]:
        records, errors = [], []
        for row in rows:
            cells = row.cells
            row_errors: list[RowError] = []
            code = fold(cells.get("code", ""))
            name = normalise_name(cells.get("name", ""))
            for field_name, value, limit in (("code", code, 40), ("name", name, 100)):
                if not value:
                    row_errors.append(self.error(row, field_name, "required", _("This value is required.")))
                elif len(value) > limit:
                    row_errors.append(self.error(row, field_name, "too_long", _("Too long.")))
            region = self.regions.get(fold(cells.get("region", "")).casefold())
            if region is None:
                row_errors.append(self.error(row, "region", "unknown_region", _("Unknown region.")))
            opened_on = None
            if cells.get("opened_on", "").strip():
                try:
                    opened_on = parse_date_text(cells["opened_on"])
                except CellError as exc:
                    row_errors.append(self.error(row, "opened_on", exc.code, exc.message))
            active = _boolean(cells.get("is_active", ""))
            if active is None:
                row_errors.append(self.error(row, "is_active", "boolean_invalid", _("Enter yes or no.")))
            if row_errors:
                errors.extend(row_errors)
                continue
            address = fold(cells.get("address", ""))
            province, city = fold(cells.get("province", "")), fold(cells.get("city", ""))
            if address and not (province or city):
                province, city, district, rest = split_address(address)
                address = district + rest
            records.append({"code": code, "name": name, "region_id": region.pk, "province": province[:50],
                            "city": city[:50], "address": address[:200], "opened_on": opened_on,
                            "is_active": active})  # fmt: skip
        return records, errors


def _boolean(text: str) -> bool | None:
    value = fold(text).casefold()
    if value in {"", "1", "true", "yes", "y", "是", "有效", "启用", "上架", "营业"}:
        return True
    if value in {"0", "false", "no", "n", "否", "无效", "停用", "下架", "停业"}:
        return False
    return None


def register_builtin_importers() -> None:
    for importer in (CustomerImporter, OrderImporter, ProductImporter, StoreImporter):
        register_importer(importer.kind, importer)


__all__ = ["CustomerImporter", "OrderImporter", "ProductImporter", "StoreImporter", "register_builtin_importers"]
