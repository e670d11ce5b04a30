"""What several commands share."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "EVALHARNESS_CACHE"


def cache_path(args) -> Path:
    return args.cache or Path(os.environ.get(CACHE_ENV) or Path("reports") / "cache.sqlite")
