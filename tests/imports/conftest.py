"""Helpers for import tests: write real files and run the importer like the CLI does."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from kehu.imports.actions import check_create_job, do_run_import
from kehu.imports.models import ImportJob


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def run(kind: str, path: Path, **options: Any) -> ImportJob:
    chunk_rows = options.pop("chunk_rows", 1000)
    job = check_create_job(None, kind, path, **options)
    return do_run_import(job, chunk_rows=chunk_rows)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Assertions read the English messages, whatever the deployment's language."""
    from django.utils import translation

    with translation.override("en"):
        yield
