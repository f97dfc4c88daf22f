"""Consistent backups and restores of the CRM's database: the SQLite online-backup API (never a
copy of a live file) or pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connection


class BackupError(Exception):
    pass


def default_backup_path() -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    suffix = "dump" if connection.vendor == "postgresql" else "sqlite3"
    return settings.VAR_DIR / "backups" / f"kehu-{stamp}.{suffix}"


def _pg_env_and_url() -> tuple[dict[str, str], str]:
    db = settings.DATABASES["default"]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    url = f"postgresql://{db.get('USER') or ''}@{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"
    return env, url


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found; install the PostgreSQL client tools.")
    return path


def backup(target: Path | None = None) -> Path:
    """Write a consistent copy of the database to `target` and return its path."""
    target = Path(target or default_backup_path())
    target.parent.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        destination = sqlite3.connect(target)
        try:
            connection.connection.backup(destination)
        finally:
            destination.close()
    elif connection.vendor == "postgresql":
        env, url = _pg_env_and_url()
        result = subprocess.run(  # noqa: S603 - fixed argument list
            [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", url],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(result.stderr.strip() or "pg_dump failed")
    else:
        raise BackupError(f"Backups are not supported for {connection.vendor}.")
    return target


def restore(source: Path) -> None:
    """Replace the database's contents with a backup made by `backup`. Stop the web server and
    workers first."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"{source} does not exist.")
    if connection.vendor == "sqlite":
        try:
            origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            origin.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite backup: {exc}") from exc
        connection.ensure_connection()
        try:
            origin.backup(connection.connection)
        finally:
            origin.close()
    elif connection.vendor == "postgresql":
        env, url = _pg_env_and_url()
        connection.close()
        result = subprocess.run(  # noqa: S603 - fixed argument list
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={url}",
                str(source),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(result.stderr.strip() or "pg_restore failed")
    else:
        raise BackupError(f"Restores are not supported for {connection.vendor}.")
