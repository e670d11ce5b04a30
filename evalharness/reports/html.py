"""Self-contained HTML pages: one file, works offline, safe with hostile model and dataset text.

Safety contract (every page goes through `page`):
- All text from runs goes through `esc` (html.escape, quotes included) or, in the explorer, is embedded as
  JSON in `<script type="application/json">` with `<`, `>`, `&`, U+2028/9 written as \\u escapes (so
  `</script>` cannot close the block) and put on screen only with `textContent`, never `innerHTML`.
- A Content-Security-Policy meta tag allows only inline style, data: images and the one explorer script,
  by its SHA-256 hash (not 'unsafe-inline'): no request can leave the page (no fetch, no remote image, no
  form post), and even text that somehow became markup could not run a script or an event handler.
- Plots are embedded as base64 PNG data URIs; no CDN, no external font.
"""

from __future__ import annotations

import base64
import html
import json
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Iterable, Sequence

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src {scripts}; "
    "base-uri 'none'; form-action 'none'"
)


class Raw(str):
    """Markup built by this package (already escaped); `table` inserts it as is."""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` characters survive literally."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return text


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure(png: bytes, alt: str, caption: str, file_name: str) -> Raw:
    """An embedded chart with a one-line reading guide; the same PNG is written to plots/<file_name>."""
    return Raw(
        f'<figure><img src="{png_data_uri(png)}" alt="{esc(alt)}" loading="lazy">'
        f"<figcaption>{esc(caption)} <span class=muted>(plots/{esc(file_name)})</span></figcaption></figure>"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> Raw:
    """A scrollable table; plain cells are escaped, `Raw` cells inserted as they are."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if isinstance(c, Raw) else esc(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return Raw(f'<div class="scroll"><table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>')


def card(label: str, value: str, note: str = "") -> Raw:
    return Raw(f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>'
               f'<div class="note">{esc(note)}</div></div>')


def pct(value: float, digits: int = 1) -> str:
    return f"{value * 100:.{digits}f}%"


def pct_ci(ci: tuple[float, float], digits: int = 1) -> str:
    return f"{ci[0] * 100:.{digits}f}–{ci[1] * 100:.{digits}f}%"


def page(title: str, body: str, explorer_data: Any | None = None) -> str:
    """The whole document. With `explorer_data`, the per-sample explorer script is included and fed it."""
    return "".join(_page_parts(title, body, explorer_data))


def write_page(target: Path, title: str, body: str, explorer_data: Any | None = None) -> None:
    """Write the document piece by piece: a 50,000-sample explorer is tens of MB of JSON, and building it
    as one string (then escaping it, then encoding it) would hold several copies at once."""
    with open(target, "w", encoding="utf-8") as handle:
        for part in _page_parts(title, body, explorer_data):
            handle.write(part)


def _page_parts(title: str, body: str, explorer_data: Any | None) -> Iterator[str]:
    allowed = "'none'"
    code = _asset("explorer.js") if explorer_data is not None else ""
    if explorer_data is not None:
        allowed = f"'{_sha256(code)}'"
    yield ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
           f'<meta http-equiv="Content-Security-Policy" content="{CSP.format(scripts=allowed)}">'
           '<meta name=viewport content="width=device-width, initial-scale=1">'
           '<meta name=referrer content="no-referrer">'
           f"<title>{esc(title)}</title><style>{_asset('report.css')}</style></head>"
           f"<body><main>{body}</main>")
    if explorer_data is not None:
        yield '<script type="application/json" id="explorer-data">'
        yield from _script_json_parts(explorer_data)
        yield f"</script><script>{code}</script>"
    yield "</body></html>\n"


def _script_json_parts(data: dict[str, Any], batch: int = 2000) -> Iterator[str]:
    """`script_json(data)` for a mapping, in pieces: long lists are written `batch` elements at a time."""
    yield "{"
    for n, (key, value) in enumerate(data.items()):
        yield ("," if n else "") + script_json(key) + ":"
        if isinstance(value, list) and len(value) > batch:
            yield "["
            for start in range(0, len(value), batch):
                chunk = script_json(value[start:start + batch])[1:-1]
                yield ("," if start else "") + chunk
            yield "]"
        else:
            yield script_json(value)
    yield "}"


def _sha256(code: str) -> str:
    import hashlib

    return "sha256-" + base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode("ascii")


def _asset(name: str) -> str:
    return resources.files("evalharness.reports").joinpath("assets", name).read_text(encoding="utf-8")
