"""The `kehu` console command.

`kehu analytics …` runs the Django-free analytics CLI; `kehu serve` runs the web server and the
task worker together; everything else is a Django management command, with dashes allowed in
names (`kehu demo-data` runs `demo_data`)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "analytics":
        from kehu.analytics.cli import main as analytics_main

        return analytics_main(args[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    if args and args[0] == "serve":
        from kehu.web.serve import serve

        return serve(args[1:])
    from django.core.management import execute_from_command_line

    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    execute_from_command_line(["kehu", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
