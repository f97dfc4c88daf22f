"""`kehu create-api-token`: issue an API token for a staff user and print its secret once."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.accounts.models import User
from kehu.accounts.tokens import SCOPES, issue_token, scopes_beyond_role


class Command(BaseCommand):
    help = "Issue an API token for a staff user. The secret is printed once and never stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="Username of the staff user the token acts as.")
        parser.add_argument("--name", required=True, help="What the token is for, e.g. 'web shop order sync'.")
        parser.add_argument("--scopes", required=True, help=f"Comma-separated scopes, from: {', '.join(SCOPES)}.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["user"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['user']!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {user.username!r} is disabled; their tokens would not work.")
        scopes = options["scopes"].split(",")
        try:
            token, secret = issue_token(user, options["name"], scopes, via="cli")
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        unusable = scopes_beyond_role(user, token.scopes)
        if unusable:
            # The role still wins at request time; say so now rather than let the caller find out by 403.
            self.stderr.write(
                f"Warning: the {user.role} role cannot use {', '.join(unusable)}; requests needing it will get 403."
            )
        self.stderr.write(f"Token {token.name!r} ({token.prefix}) for {user.username}: {', '.join(token.scopes)}")
        self.stderr.write("Store this secret now; it cannot be shown again:")
        self.stdout.write(secret)
