"""`evalharness card`: the model card's rows against one endpoint (evalharness/card.py does the work).

Prints the table, a note for rows where answers could not be read, the card.html path and, last, the card
directory. Exit 1 when a fatal endpoint error stopped the card (the rows done so far are kept), or on
Ctrl-C (same policy as `run`).
"""

from __future__ import annotations

import sys

from evalharness.errors import UserError


def cmd_card(args) -> int:
    import asyncio

    from evalharness.card import CHECKOUT, DEFAULT_CARD, run_card, table
    from evalharness.cli.run import CtrlC, open_endpoint, run_options

    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {args.limit}")
    wanted = [name.strip() for text in args.suites for name in text.split(",") if name.strip()]
    swaps = dict(_parse_swap(text) for text in args.swaps)
    card_path = args.card or (DEFAULT_CARD if DEFAULT_CARD.is_file() else CHECKOUT / DEFAULT_CARD)
    endpoint, provider, cache = open_endpoint(args)
    options = run_options(args, endpoint, cache)
    ctrl_c = CtrlC()

    async def run_all():
        ctrl_c.attach(asyncio.current_task())
        return await run_card(card_path, wanted, swaps, provider, cache, options, args.overrides, args.output_dir,
                              endpoint.redacted())

    try:
        outcome = asyncio.run(run_all())
    finally:
        if cache is not None:
            cache.close()
    print(table(outcome.rows))
    for row in outcome.rows:
        if row.unextracted:
            print(f"note: {row.benchmark}: no answer found in {row.unextracted} of {row.n} responses (counted wrong)")
    if provider.notice():
        print(provider.notice())
    print(outcome.directory / "card.html")
    print(outcome.directory)
    if outcome.aborted:
        print(f"evalharness: error: {outcome.aborted} (rows done so far are in {outcome.directory})", file=sys.stderr)
        return 1
    return 0


def _parse_swap(text: str) -> tuple[str, str]:
    key, sep, path = text.partition("=")
    if not sep or not key.strip() or not path.strip():
        raise UserError(f"--set-suite {text!r}: expected KEY=SUITE.yaml, e.g. math=suites/math500.yaml")
    return key.strip(), path.strip()
