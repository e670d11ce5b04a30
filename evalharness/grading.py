"""Offline grading (`evalharness grade NAME --input F.jsonl`): grade records written elsewhere.

Each input line is a JSON object with the response (`response`, or `pred` for a bare prediction), `gold`
(unless the grader needs none, like code_exec whose tests are the reference), and any item fields the
grader reads (`test`, `entry_point`, `prompt` for code; `functions` for tool_call_ast; `tool_calls`,
`messages` and `tools`, the natively offered tools, when present). The output keeps every input key and adds
`correct`, `extracted` and `grade_details`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.chat import ChatResponse, ToolCall
from evalharness.errors import UserError
from evalharness.graders import Exchange, make_grader
from evalharness.items import Item


@dataclass
class GradeSummary:
    correct: int
    total: int
    output: Path


def grade_file(grader_name: str, input_path: Path, output: Path | None, options: dict[str, Any]) -> GradeSummary:
    grader = make_grader(grader_name, options)
    try:
        rows = read_grade_input(input_path, needs_gold=grader.needs_gold)
        grades = grader.grade_many(exchange_of(row) for row in rows)
    finally:
        grader.close()
    output = output or input_path.with_name(input_path.name.removesuffix(".jsonl") + ".graded.jsonl")
    with open(output, "w", encoding="utf-8") as out:
        for row, grade in zip(rows, grades):
            row.pop("_response")
            row.update(correct=grade.correct, extracted=grade.extracted)
            if grade.details:
                row["grade_details"] = grade.details
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return GradeSummary(sum(g.correct for g in grades), len(grades), output)


def exchange_of(row: dict[str, Any]) -> Exchange:
    calls = [ToolCall.from_json(c) for c in row.get("tool_calls") or [] if isinstance(c, dict)]
    response = ChatResponse(content=row["_response"], tool_calls=calls)
    fields = {k: v for k, v in row.items() if k != "_response"}
    item = Item(id=str(row.get("id", "")), index=0, fields=fields, subset=row.get("subset"))
    messages = row.get("messages") if isinstance(row.get("messages"), list) else []
    tools = row.get("tools") if isinstance(row.get("tools"), list) else None
    return Exchange(item, messages, response, tools)


def read_grade_input(path: Path, needs_gold: bool = True) -> list[dict[str, Any]]:
    if not path.is_file():
        raise UserError(f"--input {path}: file not found")
    rows = []
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise UserError(f"{path}:{lineno}: expected a JSON object per line")
            if needs_gold and "gold" not in row:
                raise UserError(f"{path}:{lineno}: record needs a `gold` field")
            response = row.get("response", row.get("pred"))
            if response is None:
                raise UserError(f"{path}:{lineno}: record needs a `response` (or `pred`) field")
            row["_response"] = str(response)
            rows.append(row)
    if not rows:
        raise UserError(f"{path}: no records to grade")
    return rows
