"""`Item`: one thing to evaluate, as datasets produce it and graders and records see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Item:
    """An item's id, its position in the suite, its mapped fields (incl. `gold`), the subset it belongs
    to in a suite family (None otherwise), and its row in the dataset file (few-shot pools drawn from the
    evaluated split leave it out)."""

    id: str
    index: int
    fields: dict[str, Any]
    subset: str | None = None
    row: int | None = None

    @property
    def gold(self) -> Any:
        return self.fields.get("gold")
