"""Masking of personal data for roles that may not see it (phone 138****5678)."""

from __future__ import annotations


def mask_phone(e164: str) -> str:
    """`+8613800138000` → `138****8000`; other countries keep their code and last four digits."""
    if not e164:
        return ""
    digits = e164.lstrip("+")
    if e164.startswith("+86") and len(digits) == 13:
        national = digits[2:]
        return f"{national[:3]}****{national[-4:]}"
    if len(digits) <= 4:
        return "*" * len(digits)
    head = "+" + digits[:2] if e164.startswith("+") else digits[:2]
    return f"{head}****{digits[-4:]}"


def mask_email(email: str) -> str:
    """`zhang.wei@example.com` → `z***@example.com`."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    if not domain:
        return local[:1] + "***"
    return f"{local[:1]}***@{domain}"


def mask_text(value: str, keep: int = 0) -> str:
    """Mask free text such as a street address or an ID number, keeping `keep` leading characters."""
    if not value:
        return ""
    return value[:keep] + "****"


def mask_identity(kind: str, value: str) -> str:
    if kind == "phone":
        return mask_phone(value)
    if kind == "email":
        return mask_email(value)
    return value
