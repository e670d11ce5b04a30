"""The sympy side of math_equiv, run as `python -m evalharness.graders.math.worker` by math_pool.

Protocol (one JSON object per line): after its imports the worker prints `{"ready": true}`; then for each
request `{"gold": ..., "pred": ..., "rules": {...}}` (normalised answers; `rules` optional, see
compare.equivalent) it prints `{"equal": bool}`, or `{"equal": false,
"error": "..."}` when comparison raised. It caps its own address space (RLIMIT_AS) so a runaway expression
ends in MemoryError, not in the machine swapping, and it exits when its stdin closes, so it never outlives
the grader. The pool enforces the time limit by killing it.
"""

from __future__ import annotations

import json
import os
import sys

_WARM_UP = [
    ("\\frac{1}{2}", "x+1"), ("( 3, \\frac{\\pi}{2} )", "(3, \\pi/2)"), ("3\\sqrt{13}", "\\sqrt{117}"),
    ("[0,1)", "(0, \\infty)"), ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\{1, 2\\}"), ("x^2 + 2x - 1", "y = 2x + 3"),
    ("x \\leq 5", "-2 < x < 7"), ("6+9i", "\\sin^2 x + \\cos^2 x"),
]
MEMORY_LIMIT_BYTES = int(os.environ.get("EVALHARNESS_MATH_WORKER_MEM", str(2 * 1024**3)))


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform: the time limit still bounds the damage


def main() -> None:
    from evalharness.graders.math.compare import equivalent

    for gold, pred in _WARM_UP:  # fill the LaTeX parser's prediction caches before the first real item
        equivalent(gold, pred)
    _limit_memory()
    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            reply = {"equal": bool(equivalent(request["gold"], request["pred"], request.get("rules")))}
        except MemoryError:
            reply = {"equal": False, "error": "memory limit"}
        except Exception as err:  # a verdict must come back whatever the input did
            reply = {"equal": False, "error": f"{type(err).__name__}: {str(err)[:200]}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
