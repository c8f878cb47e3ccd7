"""Imports every table module of this package so `metadata` knows all tables before `create_all`."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

for _info in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__package__}.{_info.name}")
