"""Persistent response cache (SQLite, WAL), so a re-run of a finished suite sends zero requests.

Key = SHA-256 of the canonical JSON of:
- the provider's `identity()`: base URL (trailing slash dropped) and model name for HTTP endpoints; the model
  file's size + header hash for a local GGUF;
- the full message list, exactly as sent;
- every generation parameter that changes the output: temperature, max_tokens, top_p, stop, seed (whatever
  the suite sends, after the per-sample seed is applied);
- the sample index, for the 2nd..nth completion of a prompt (sample 0 shares the key of a single sample);
- the tools offered, when a request offers any (requests without tools keep the keys they always had).
Never in the key, never stored: the API key or any header, concurrency, timeouts, retry settings.

Stored value: the response text, the tool calls it made, finish reason, token usage and the original latency /
time to first token.
Only successful responses are stored; errors never are. WAL mode plus a busy timeout make it safe for two
runs (or processes) to share one file. Every response is committed the moment it arrives, before its
sample record is written, so a `kill -9` at any moment loses no paid answer: `--resume` (or a re-run) finds
it here. With WAL and synchronous=NORMAL a commit is a write to the log, not an fsync: measured 28 us per
response against 6 us batched (benchmarks/bench_run.py: no change in wall time).
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable

import msgspec

from evalharness.chat import ChatRequest, ChatResponse
from evalharness.errors import UserError

DEFAULT_CACHE_PATH = Path("reports") / "cache.sqlite"
_encode = msgspec.json.Encoder().encode
_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses for every str


def cache_key(identity: dict[str, Any], request: ChatRequest, memo: dict[int, tuple[Any, str]] | None = None) -> str:
    """The request's cache key (see the module docstring for what goes in and what stays out).

    The key hashes the canonical JSON of `{messages, model, params, sample?, tools?}` (sorted keys, no
    spaces). With a `memo`, each message/identity/params object shared between requests (few-shot
    exemplars are the same dicts in every prompt of a run) is serialised once; the bytes are the same."""
    if memo is None:
        payload: dict[str, Any] = {"model": identity, "messages": request.messages, "params": request.params}
        if request.sample_index:
            payload["sample"] = request.sample_index
        if request.tools:
            payload["tools"] = request.tools
        return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()
    parts = ['{"messages":[', ",".join(_memo_json(m, memo) for m in request.messages), '],"model":',
             _memo_json(identity, memo), ',"params":', _memo_json(request.params, memo)]
    if request.sample_index:
        parts.append(f',"sample":{int(request.sample_index)}')
    if request.tools:
        parts += [',"tools":', _canonical(request.tools)]
    parts.append("}")
    return hashlib.sha256("".join(parts).encode("utf-8")).hexdigest()


def _canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces, as the json module writes it (the keys of every cache ever
    written depend on these bytes). A message of string keys and values, the common case, is written
    directly with the json module's own string encoder: the same bytes, ~10x faster."""
    if type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        return "{" + ",".join(f"{_string(k)}:{_string(v)}" for k, v in sorted(value.items())) + "}"
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _memo_json(value: Any, memo: dict[int, tuple[Any, str]]) -> str:
    found = memo.get(id(value))
    if found is None or found[0] is not value:
        found = memo[id(value)] = (value, _canonical(value))  # the object is kept, so its id stays unique
    return found[1]


class ResponseCache:
    """A SQLite file of `key -> response`; use `get_many` up front and `put` as responses arrive."""

    def __init__(self, path: str | Path = DEFAULT_CACHE_PATH):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._setup_with_retry()
        except (sqlite3.Error, OSError) as exc:
            raise UserError(f"cache {self.path}: cannot open ({exc}); pass --cache PATH or --no-cache") from None


    def _setup_with_retry(self, deadline_s: float = 30.0) -> None:
        """Switch to WAL and create the table. Two runs opening a brand-new file at the same moment can get
        "database is locked" here without SQLite's busy handler being consulted, so retry with backoff."""
        started = time.monotonic()
        delay = 0.01
        while True:
            try:
                if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS responses ("
                    " key TEXT PRIMARY KEY, model TEXT NOT NULL, value TEXT NOT NULL, created REAL NOT NULL)"
                )
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() - started > deadline_s:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def get_many(self, keys: Iterable[str]) -> dict[str, ChatResponse]:
        """Cached responses for whichever of `keys` are present."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, ChatResponse] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk)
            for key, value in rows:
                found[key] = ChatResponse.from_cache(json.loads(value))
        return found

    def get(self, key: str) -> ChatResponse | None:
        """One cached response, or None (a solver's later turns are looked up one by one)."""
        row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return ChatResponse.from_cache(json.loads(row[0])) if row else None

    def put(self, key: str, model: str, response: ChatResponse) -> None:
        """Store a successful response, committed at once (durable against a killed process): one
        autocommitted statement, ~20 us."""
        value = _encode(response.to_cache()).decode("utf-8")
        self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)", (key, model, value, time.time()))

    def flush(self) -> None:
        """Nothing to do: every `put` is committed when it is made (kept for callers that flush at the end)."""

    def stats(self) -> dict[str, Any]:
        count, oldest, newest = self._db.execute(
            "SELECT COUNT(*), MIN(created), MAX(created) FROM responses").fetchone()
        models = dict(self._db.execute("SELECT model, COUNT(*) FROM responses GROUP BY model ORDER BY 2 DESC"))
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {"path": str(self.path), "entries": count, "bytes": size, "oldest": oldest, "newest": newest,
                "models": models}

    def clear(self) -> int:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            deleted = self._db.execute("DELETE FROM responses").rowcount
        self._db.execute("VACUUM")
        return deleted

    def close(self) -> None:
        self.flush()
        self._db.close()
