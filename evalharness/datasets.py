"""Dataset resolution and loading: a suite's `dataset` -> rows -> `Item`s.

Resolution order for a suite's items (first hit wins):
1. `--data FILE` given on the command line;
2. `dataset.path`, a file shipped next to the suite (e.g. the quickstart's own questions);
3. `$EVALHARNESS_DATA_DIR/<dataset.local>` when that file exists (lay it out like ../shared/data);
4. the Hugging Face hub (`dataset.hf`), through the `datasets` library (imported only here, only then), or,
   with `hf.file`, one raw file of the hub repository fetched by `huggingface_hub` and read like a local file.
When nothing works, one `UserError` names every place tried. Local formats: JSON Lines, JSON (an array, an
object with the rows under `records`, or JSON Lines saved as .json), parquet, CSV and TSV; `.gz` is fine.
`dataset.join` adds the columns of a second file to each row, matched 1:1 on a key column (BFCL keeps its
answers in a file beside the questions). `dataset.filter` then keeps the rows whose column has one of the
given values (e.g. one MMLU-Pro category). Dotted columns reach into nested records, list positions too
(`question.0.0.content`).
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable

import msgspec

from evalharness.errors import UserError
from evalharness.items import Item
from evalharness.specs import DatasetSpec, FieldSpec, JoinSpec

DATA_DIR_ENV = "EVALHARNESS_DATA_DIR"


def load_items(
    spec: DatasetSpec, fields: dict[str, FieldSpec], *, data_file: str | Path | None = None,
    limit: int | None = None, source: str = "suite", subset: str | None = None, start: int = 0,
) -> list[Item]:
    """Resolve the dataset, read its rows, keep those `dataset.filter` selects, and map them to items (the
    first `limit` in dataset order). Items of a subset get ids `subset/id` and indices from `start`."""
    loaded = load_rows(spec, data_file=data_file, source=source)
    fields = fields_for(spec, loaded, fields)
    rows = list(enumerate(loaded))
    if spec.filter:
        rows = [(i, row) for i, row in rows if _selected(row, spec.filter)]
    if limit is not None:
        rows = rows[:limit]
    items = []
    for index, (position, row) in enumerate(rows):
        item = map_row(row, position, fields, source)  # an item without an id is named by its row
        item_id = f"{subset}/{item.id}" if subset is not None else item.id
        items.append(Item(id=item_id, index=start + index, fields=item.fields, subset=subset, row=position))
    return items


def _selected(row: dict, wanted: dict[str, Any]) -> bool:
    for column, value in wanted.items():
        allowed = value if isinstance(value, list) else [value]
        if row.get(column) not in allowed and str(row.get(column)) not in map(str, allowed):
            return False
    return True


class HubRows(list):
    """Rows that came from the Hugging Face hub (their layout is the hub's: `hf.fields` maps them)."""


def load_rows(spec: DatasetSpec, *, data_file: str | Path | None = None, source: str = "suite") -> list[dict]:
    """The dataset's rows, with the `join` file's columns added when the spec has one."""
    rows = _source_rows(spec, data_file, source)
    if spec.join is not None:
        rows = join_rows(rows, spec.join, source)
    return rows


def _source_rows(spec: DatasetSpec, data_file: str | Path | None, source: str) -> list[dict]:
    tried: list[str] = []
    for candidate in _local_candidates(spec, data_file, tried):
        return _with_labels(read_file(candidate, spec), spec, candidate, source)
    if spec.hf_path:
        return HubRows(_load_hub(spec, tried, source))
    raise UserError(f"{source}: dataset not found; tried {'; '.join(tried)}")


def join_rows(rows: list[dict], join: JoinSpec, source: str = "suite") -> list[dict]:
    """Each row merged with the one row of the join file whose `key` column has the same value. A row without
    a partner, a key used twice in the join file, or (without `into`) a column name both files have is a
    UserError: a silently missing or overwritten reference answer would corrupt every score."""
    label = f"{source}: dataset.join"
    others = _source_rows(join.source, None, f"{source} (dataset.join)")
    by_key: dict[Any, dict] = {}
    for position, other in enumerate(others):
        if not isinstance(other, dict) or join.key not in other:
            raise UserError(f"{label}: row {position} of the join file has no column {join.key!r} (dataset.join.key)")
        key = _join_key(other[join.key])
        if key in by_key:
            raise UserError(f"{label}: {join.key} {other[join.key]!r} appears twice in the join file")
        by_key[key] = other
    joined = []
    for position, row in enumerate(rows):
        if join.key not in row:
            raise UserError(f"{label}: dataset row {position} has no column {join.key!r} (dataset.join.key)")
        other = by_key.get(_join_key(row[join.key]))
        if other is None:
            raise UserError(f"{label}: no row of the join file has {join.key} {row[join.key]!r}")
        joined.append(_merge_row(row, other, join, label))
    return joined


def _join_key(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else repr(value)


def _merge_row(row: dict, other: dict, join: JoinSpec, label: str) -> dict:
    if join.into:
        if join.into in row:
            raise UserError(f"{label}: into: the dataset already has a column {join.into!r}; pick another name")
        return {**row, join.into: other}
    extra = {k: v for k, v in other.items() if k != join.key}
    clash = next((k for k in extra if k in row), None)
    if clash is not None:
        raise UserError(f"{label}: both files have a column {clash!r}; set dataset.join.into to keep the join "
                        "file's columns apart")
    return {**row, **extra}


def fields_for(spec: DatasetSpec, rows: list[dict], fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
    """The field mapping for these rows: the suite's, with `hf.fields` over it when they came from the hub."""
    if isinstance(rows, HubRows) and spec.hf_fields:
        return {**fields, **spec.hf_fields}
    return fields


def _with_labels(rows: list[dict], spec: DatasetSpec, rows_file: Path, source: str) -> list[dict]:
    """Local rows joined by line with `dataset.labels` (one label a line), unless they carry the column."""
    if not (spec.labels_local or spec.labels_path) or (rows and spec.labels_column in rows[0]):
        return rows
    path = spec.labels_path
    if path is None or not path.is_file():
        data_dir = os.environ.get(DATA_DIR_ENV)
        path = Path(data_dir) / spec.labels_local if data_dir and spec.labels_local else path
    if path is None or not path.is_file():
        raise UserError(f"{source}: dataset.labels: file not found ({path or spec.labels_local}); it holds the "
                        f"gold labels of {rows_file.name}, one a line")
    labels = [line.strip() for line in _read_text(path).splitlines() if line.strip()]
    if len(labels) != len(rows):
        raise UserError(f"{source}: dataset.labels: {path} has {len(labels)} labels for {len(rows)} rows of "
                        f"{rows_file}; they must align line by line")
    return [{**row, spec.labels_column: label} for row, label in zip(rows, labels)]


def _local_candidates(spec: DatasetSpec, data_file: str | Path | None, tried: list[str]) -> Iterable[Path]:
    if data_file is not None:
        path = Path(data_file)
        if not path.is_file():
            raise UserError(f"--data {path}: file not found")
        yield path
        return
    if spec.path is not None:
        if spec.path.is_file():
            yield spec.path
            return
        tried.append(f"{spec.path} (missing)")
    if spec.local:
        data_dir = os.environ.get(DATA_DIR_ENV)
        if data_dir:
            path = Path(data_dir) / spec.local
            if path.is_file():
                yield path
                return
            tried.append(f"${DATA_DIR_ENV}/{spec.local} = {path} (missing)")
        else:
            tried.append(f"${DATA_DIR_ENV}/{spec.local} (${DATA_DIR_ENV} is not set)")


def _load_hub(spec: DatasetSpec, tried: list[str], source: str) -> list[dict]:
    if spec.hf_file:
        return _load_hub_file(spec, tried, source)
    label = f"Hugging Face hub {spec.hf_path}" + (f" ({spec.hf_name})" if spec.hf_name else "")
    label += f" split {spec.hf_split}"
    try:
        import datasets  # heavy: imported only when a suite really goes to the hub

        ds = datasets.load_dataset(spec.hf_path, spec.hf_name, split=spec.hf_split)
    except Exception as exc:  # the hub raises many types (connection, auth, missing config)
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        if spec.hf_gated or "gated" in str(exc).lower():
            raise UserError(_gated_message(spec, source, reason)) from None
        tried.append(f"{label} ({reason})")
        hint = f" Set {DATA_DIR_ENV} to a folder holding {spec.local}, or pass --data FILE." if spec.local else \
            " Pass --data FILE."
        raise UserError(f"{source}: dataset not found; tried {'; '.join(tried)}.{hint}") from None
    return [dict(row) for row in ds]


def _load_hub_file(spec: DatasetSpec, tried: list[str], source: str) -> list[dict]:
    """One file of a hub dataset repository (`hf.file`), downloaded once into the Hugging Face cache (or
    found there offline) and read like a local file."""
    label = f"Hugging Face hub {spec.hf_path} file {spec.hf_file}"
    try:
        from huggingface_hub import hf_hub_download  # comes with `datasets`; imported only here

        path = hf_hub_download(repo_id=spec.hf_path, filename=spec.hf_file, repo_type="dataset")
    except Exception as exc:  # connection, auth, missing file: the hub raises many types
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        tried.append(f"{label} ({reason})")
        hint = f" Set {DATA_DIR_ENV} to a folder holding {spec.local}, or pass --data FILE." if spec.local else \
            " Pass --data FILE."
        raise UserError(f"{source}: dataset not found; tried {'; '.join(tried)}.{hint}") from None
    return read_file(Path(path), spec)


def _gated_message(spec: DatasetSpec, source: str, reason: str) -> str:
    """One line for a gated hub dataset that did not load: which token variable, where to ask for access."""
    page = f"https://huggingface.co/datasets/{spec.hf_path}"
    token = "HF_TOKEN is set but its token was refused or could not be used" if os.environ.get("HF_TOKEN") else \
        "set HF_TOKEN to a Hugging Face access token"
    local = f", or set {DATA_DIR_ENV} to a folder holding {spec.local}" if spec.local else ""
    return (f"{source}: {spec.hf_path} is gated on the Hugging Face hub and did not load ({reason}); accept its "
            f"terms at {page} and {token}{local}")


def read_file(path: Path, spec: DatasetSpec | None = None) -> list[dict]:
    """Read a local data file into a list of row dicts; the format comes from the spec or the extension."""
    fmt = (spec.format if spec else None) or _format_from_name(path)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
        text = _read_text(path)
        if fmt == "jsonl":
            return _parse_jsonl(text, path)
        if fmt == "json":
            return _parse_json(text, path, spec.records if spec else None)
        if fmt in {"csv", "tsv"}:
            return _parse_csv(text, "\t" if fmt == "tsv" else ",", spec.columns if spec else None)
    except UserError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read as {fmt}: {exc}") from None
    raise UserError(f"{path}: unknown data format {fmt!r}; use .jsonl, .json, .parquet, .csv or .tsv")


def _format_from_name(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return suffixes[-1].lstrip(".") if suffixes else ""


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8-sig")


def _parse_jsonl(text: str, path: Path) -> list[dict]:
    """JSON Lines, decoded by msgspec (~2x the json module on GSM8K's 7,473 train rows); a bad line is named."""
    rows = []
    decode = msgspec.json.decode
    for lineno, line in enumerate(text.split("\n"), 1):  # not splitlines(): U+0085 and U+2028 may sit in a string
        if line.strip():
            try:
                rows.append(decode(line))
            except msgspec.DecodeError:
                try:
                    rows.append(json.loads(line))  # the json module reads a few things msgspec does not
                except json.JSONDecodeError as exc:
                    raise UserError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
    return rows


def _parse_json(text: str, path: Path, records_key: str | None) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return _parse_jsonl(text, path)  # JSON Lines saved as .json (e.g. BFCL)
    if records_key:
        if not isinstance(data, dict) or records_key not in data:
            raise UserError(f"{path}: has no top-level key {records_key!r} (dataset.records)")
        data = data[records_key]
    if isinstance(data, dict):
        raise UserError(f"{path}: rows are under one of the keys {list(data)[:5]}; set dataset.records")
    return list(data)


def _parse_csv(text: str, delimiter: str, columns: tuple[str, ...] | None) -> list[dict]:
    if columns:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter, quoting=csv.QUOTE_NONE)
        return [dict(zip(columns, row)) for row in reader if row]
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


# ---- field mapping ---------------------------------------------------------------------------------------

def map_row(row: dict, index: int, fields: dict[str, FieldSpec], source: str = "suite") -> Item:
    mapped = {name: _apply_ops(_field_value(row, spec, name, source, index), spec.ops)
              for name, spec in fields.items()}
    item_id = mapped.pop("id", None)
    return Item(id=str(item_id) if item_id is not None else str(index), index=index, fields=mapped)


def _field_value(row: dict, spec: FieldSpec, name: str, source: str, index: int) -> Any:
    if spec.value is not msgspec.UNSET:
        return spec.value
    if spec.file is not None:
        return _text_file(spec.file, os.environ.get(DATA_DIR_ENV), f"{source}: fields.{name}")
    if spec.columns is not None:
        return [_column(row, column, name, source, index) for column in spec.columns]
    return _column(row, spec.column, name, source, index)


def _column(row: dict, column: str, name: str, source: str, index: int) -> Any:
    """A (dotted) column of a row; a dotted part reaches into every record of a list (`choices.text` of
    `choices: [{text, label}, ...]` is the list of texts)."""
    value: Any = row
    for part in column.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, list) and value and all(isinstance(v, dict) and part in v for v in value):
            value = [v[part] for v in value]
        else:
            raise UserError(
                f"{source}: fields.{name}: column {column!r} not in dataset row {index} "
                f"(columns: {', '.join(map(str, row))})"
            )
    return value


@functools.lru_cache(maxsize=64)
def _text_file(name: str, data_dir: str | None, where: str) -> str:
    """A field's text file (read once): absolute, or under $EVALHARNESS_DATA_DIR like `dataset.local`."""
    if Path(name).is_absolute() or data_dir:
        path = Path(name) if Path(name).is_absolute() else Path(data_dir or ".") / name
        if path.is_file():
            return _read_text(path)
        raise UserError(f"{where}: file not found: {path}")
    raise UserError(f"{where}: needs ${DATA_DIR_ENV}/{name}, but ${DATA_DIR_ENV} is not set")


def _apply_ops(value: Any, ops: tuple[Any, ...]) -> Any:
    for op in ops:
        value = _apply_op(value, op)
    return value


def _apply_op(value: Any, op: Any) -> Any:
    """One op as written in the suite (checked when it loaded): a name, or a one-key mapping."""
    kind, arg = (op, None) if isinstance(op, str) else next(iter(op.items()))
    if kind == "str":
        return "" if value is None else str(value)
    if kind == "last_boxed":
        from evalharness.extract import last_boxed

        return last_boxed(str(value))
    text = str(value)
    if kind == "strip":
        return text.strip()
    if kind == "lower":
        return text.lower()
    if kind == "remove_commas":
        return text.replace(",", "")
    if kind == "after":
        return text.rsplit(arg, 1)[-1] if arg in text else text
    if kind == "regex":
        match = re.search(arg, text, flags=re.S)
        return (match.group(1) if match and match.groups() else match.group(0)) if match else text
    if kind == "sub":
        return re.sub(arg[0], arg[1], text)
    if kind == "index":
        return arg[int(value)]
    raise AssertionError(f"unvalidated op {op!r}")
