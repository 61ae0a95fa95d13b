"""Pipe mode for local delivery agents: message on stdin, cleaned message on stdout.

Used by procmail (``:0 fw``), maildrop (``xfilter``), fdm (``rewrite``) and Dovecot Sieve's
``vnd.dovecot.filter``. Every one of them keeps the original message when a filter exits
non-zero, so the exit status is the whole contract:

* ``0``  a complete message was written to stdout: cleaned, or (when it could not be cleaned)
  the original with an ``X-Tracker-Block: error ...`` header. Use it.
* ``75`` (EX_TEMPFAIL) something is wrong with the setup (bad ``--config``) or stdin/stdout
  failed. The tool must fall back to the original; the original, flagged, is still written
  when possible, so a plain shell pipeline delivers it too.

The report goes to stderr as one JSON line (or appended to ``--log FILE``), never into the mail.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tracker_block.integrations.mailfilter.delivery import add_header, filter_message
from tracker_block.integrations.mailfilter.orgpolicy import PolicyError, load
from tracker_block.engine.report import SCHEMA_VERSION

EX_OK, EX_TEMPFAIL = 0, 75
PROG = "tracker-block pipe"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Clean one message from stdin to stdout for procmail, maildrop, fdm or Sieve. "
                               "Exit 0: use stdout. Exit 75: keep the original.")
    p.add_argument("--config", metavar="ORG.TOML", help="organisation policy (see docs/mail-server.md)")
    p.add_argument("--recipient", action="append", default=[], metavar="ADDR",
                   help="envelope recipient (repeatable; default: $RECIPIENT if set)")
    p.add_argument("--sender", metavar="ADDR", help="envelope sender (default: $SENDER if set)")
    p.add_argument("--log", type=Path, metavar="FILE", help="append the JSON report here instead of stderr")
    p.add_argument("--quiet", action="store_true", help="write no report")
    return p


def _write_report(args: argparse.Namespace, line: str) -> None:
    if args.quiet:
        return
    try:
        if args.log:
            with open(args.log, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
    except OSError as exc:
        sys.stderr.write(f"{PROG}: cannot write report ({exc})\n")


def cli_main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        raw = sys.stdin.buffer.read()
    except OSError as exc:
        sys.stderr.write(f"{PROG}: cannot read stdin ({exc})\n")
        return EX_TEMPFAIL
    status = EX_OK
    try:
        policy = load(args.config)
    except PolicyError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        data, status = add_header(raw, f"error config: {' '.join(str(exc).split())[:150]}"), EX_TEMPFAIL
    else:
        recipients = args.recipient or [r for r in [os.environ.get("RECIPIENT", "")] if r]
        sender = args.sender if args.sender is not None else os.environ.get("SENDER", "")
        result = filter_message(raw, policy, recipients, sender)
        data = result.data
        if result.report is not None:
            from tracker_block.engine.report import to_json
            _write_report(args, to_json([result.report], indent=None))
        elif result.error:
            import json
            _write_report(args, json.dumps({"schema": SCHEMA_VERSION, "error": result.error}))
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except OSError as exc:   # includes BrokenPipeError: the caller did not get a whole message
        try:
            sys.stderr.write(f"{PROG}: cannot write stdout ({exc})\n")
        except OSError:
            pass
        return EX_TEMPFAIL
    return status


if __name__ == "__main__":
    sys.exit(cli_main())
