"""``tracker-block rules check|list|stats|validate|coverage|update``: explain, audit and update the rules."""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter

from tracker_block.engine import heuristics as H
from tracker_block.engine.detect import Detector
from tracker_block.engine.rules import RuleError, Rules, load_rules
from tracker_block.engine.urls import clean_link, is_remote, normalise, parts


def _load(extra: list[str], config: str | None) -> Rules:
    """The bundled rules, the user config's extra rule files and filter lists, then ``--rules`` files."""
    from tracker_block.cli.config import filter_list_paths, load
    cfg = load(config)
    return load_rules(tuple(cfg.extra_rules) + filter_list_paths(cfg) + tuple(extra))


class UsageError(ValueError):
    """Bad input to a rules subcommand: one line on stderr, exit 2."""


_BARE_HOST = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+\.?(:[0-9]+)?([/?#].*)?$", re.IGNORECASE)


def as_url(text: str) -> tuple[str, str | None]:
    """(URL to judge, note) for what the user typed: a web URL, or a bare host name judged as
    ``https://host/``. Raises UsageError for anything else (the engine would never fetch it)."""
    t = normalise(text)
    if not t:
        raise UsageError("rules check: give a URL or a host name (got an empty string)")
    if is_remote(t):
        if not parts(t).host:
            raise UsageError(f"rules check: {text!r} has no host name")
        return t, None
    if _BARE_HOST.match(t) and " " not in t:
        return "https://" + t, f"no scheme: judged as https://{t}"
    raise UsageError(f"rules check: {text!r} is not a web URL (http, https, //host) or a host name")


def explain(url: str, rules: Rules, recipients: tuple[str, ...] = ()) -> dict:
    """Everything the engine would conclude about one URL, as an image and as a link."""
    url = normalise(url)
    host, target = parts(url)
    det = Detector(rules, H.Identity(recipients))
    out: dict = {"url": url, "host": host, "target": target, "remote": is_remote(url)}
    for use, verdict in (("as_image", det.load(url)), ("as_link", det.link(url))):
        out[use] = None if verdict is None else {
            "tracker": verdict.tracker, "reason": verdict.reason, "certainty": verdict.certainty,
            "company": verdict.company}
    hit = rules.match_load(host, target) or rules.match_click(host, target)
    if hit is not None:
        v = hit.vendor
        out["vendor"] = {"id": v.id, "name": v.name, "company": v.company, "category": v.category,
                         "uses": list(v.uses), "file": v.file, "provenance": list(v.provenance)}
    out["heuristic_signals"] = H.path_signals(target)
    cleaned = clean_link(url, rules)
    out["link_cleaning"] = {"cleaned": cleaned.url, "unwrapped_by": cleaned.unwrapped_by,
                            "stripped": list(cleaned.stripped)}
    return out


def validate(rules: Rules) -> list[str]:
    """Problems that make a rule set unfit to ship (empty list when fine)."""
    problems: list[str] = rules.compile_all()
    for v in rules.vendors.values():
        where = f"{v.file}: vendor {v.id}"
        if not v.provenance:
            problems.append(f"{where}: no provenance")
        for rec in v.provenance:
            if rec.get("source") not in rules.sources:
                problems.append(f"{where}: provenance names unknown source {rec.get('source')!r}")
        if not (v.open or v.click or v.tracking_hosts):
            problems.append(f"{where}: no open/click pattern and no tracking host")
        for url in v.examples.get("open", []):
            host, target = parts(url)
            hit = rules.match_load(host, target)
            if hit is None or hit.use != "open":
                problems.append(f"{where}: open example does not match: {url}")
        for url in v.examples.get("click", []):
            host, target = parts(url)
            if rules.match_click(host, target) is None:
                problems.append(f"{where}: click example does not match: {url}")
        for url in v.examples.get("content", []):
            host, target = parts(url)
            hit = rules.match_load(host, target)
            if hit is not None and hit.use == "open":
                problems.append(f"{where}: content example is judged a tracker: {url}")
        if "open" in v.uses and not (v.examples.get("open") or v.tracking_hosts):
            problems.append(f"{where}: declares 'open' but has no open example")
        if "click" in v.uses and not v.examples.get("click"):
            problems.append(f"{where}: declares 'click' but has no click example")
    problems += validate_lists(rules)
    for r in rules.redirects:
        for pair in r.examples:
            wrapped, expected = pair[0], pair[1]
            got = clean_link(wrapped, rules).url
            if got != expected and clean_link(expected, rules).url != got:
                problems.append(f"{r.file}: redirect {r.id}: {wrapped} -> {got}, expected {expected}")
    return problems


def validate_lists(rules: Rules) -> list[str]:
    """The bundled filter lists: each named in the manifest with its licence (and, when taken
    from upstream, repo, path and commit), loaded, with filters in it."""
    from tracker_block.engine.rules import bundled_lists
    problems = []
    for entry in bundled_lists():
        name = entry.get("file", "?")
        where = f"filterlists.toml: {name}"
        if not entry.get("license"):
            problems.append(f"{where}: no license")
        if entry.get("update_url") and not all(entry.get(k) for k in ("repo", "path", "commit")):
            problems.append(f"{where}: upstream list without repo/path/commit provenance")
        res = rules.filters.lists.get(name)
        if res is None or not res.loaded:
            problems.append(f"{where}: not loaded or no filters")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tracker-block rules", description=__doc__)
    ap.add_argument("--rules", action="append", default=[], metavar="FILE", help="extra rule file (repeatable)")
    ap.add_argument("--config", metavar="FILE", help="user config whose extra_rules and filter_lists are loaded too")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="explain the verdict for one URL (or host name)")
    c.add_argument("url", help="a web URL, or a bare host name (judged as https://HOST/)")
    c.add_argument("--recipient", action="append", default=[])
    c.add_argument("--json", action="store_true")
    li = sub.add_parser("list", help="list vendors")
    li.add_argument("--category")
    li.add_argument("--json", action="store_true")
    sub.add_parser("stats", help="counts by file, source and category")
    sub.add_parser("validate", help="compile, check provenance and examples")
    co = sub.add_parser("coverage", help="how many of a list's domains and filters the rules recognise")
    co.add_argument("file", help="Adblock Plus filters, plain domains (or hosts file), or a Disconnect services.json")
    co.add_argument("--show", type=int, default=50, metavar="N", help="list at most N unrecognised entries (default 50)")
    co.add_argument("--dropped", action="store_true", help="list every dropped filter with its reason")
    up = sub.add_parser("update", help="download newer filter lists from their upstream URLs (explicit, user-run)")
    up.add_argument("lists", nargs="*", metavar="NAME_OR_URL",
                    help="only these lists (a bundled file name or a filter_lists URL); default: all")
    up.add_argument("--rollback", action="store_true", help="put back the copies the last update replaced")
    up.add_argument("--max-bytes", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    from tracker_block.cli.config import ConfigError
    if args.cmd == "update":
        return _update(args)
    try:
        rules = _load(args.rules, args.config)
    except (RuleError, ConfigError) as exc:
        print(f"tracker-block: rules: {exc}", file=sys.stderr)
        return 1
    try:
        return _run(args, rules)
    except UsageError as exc:
        print(f"tracker-block: {exc}", file=sys.stderr)
        return 2


def _update(args: argparse.Namespace) -> int:
    """Fetch every list with an upstream URL; a failure keeps the old copy and sets exit 1."""
    from tracker_block.cli import listupdate as U
    from tracker_block.cli.config import ConfigError, load
    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"tracker-block: rules: {exc}", file=sys.stderr)
        return 1
    failed = 0
    chosen = U.targets(cfg.filter_lists)
    if args.lists:
        unknown = [n for n in args.lists if n not in {name for name, _, _ in chosen}]
        if unknown:
            names = ", ".join(name for name, _, _ in chosen)
            print(f"tracker-block: rules update: unknown list {unknown[0]!r} (known: {names})", file=sys.stderr)
            return 2
        chosen = [t for t in chosen if t[0] in args.lists]
    for name, url, dest in chosen:
        if args.rollback:
            print(f"{name}: {'rolled back' if U.rollback(dest) else 'nothing to roll back'}")
            continue
        kw = {"max_bytes": args.max_bytes} if args.max_bytes else {}
        out = U.fetch(url, dest, **kw)
        failed += out.status.startswith("kept")
        print(f"{name}: {out.status}" + (f" ({out.filters} filters)" if out.filters else ""))
    load_rules.cache_clear()
    return 1 if failed else 0


def _run(args: argparse.Namespace, rules: Rules) -> int:
    if args.cmd == "coverage":
        from tracker_block.cli.coverage import coverage_main
        return coverage_main(args.file, rules, args.show, args.dropped)
    if args.cmd == "check":
        url, note = as_url(args.url)
        info = explain(url, rules, tuple(args.recipient))
        if note:
            info["note"] = note
        if args.json:
            print(json.dumps(info, indent=2))
            return 0
        print(f"URL      {info['url']}" + (f"  ({note})" if note else "") + f"\nhost     {info['host']}")
        for use in ("as_image", "as_link"):
            v = info[use]
            label = "image" if use == "as_image" else "link"
            print(f"{label:<8} " + ("content / unknown (kept)" if v is None else
                                   f"TRACKER  {v['reason']}  [{v['certainty']}]  {v['company'] or '-'}"))
        if "vendor" in info:
            v = info["vendor"]
            prov = ", ".join(f"{p.get('source')}:{p.get('upstream_name', '')}" for p in v["provenance"])
            print(f"vendor   {v['name']} ({v['company']}), {v['category']}, uses {'/'.join(v['uses'])}\n"
                  f"source   {v['file']}  {prov}")
        print(f"signals  {', '.join(info['heuristic_signals']) or '-'}")
        lc = info["link_cleaning"]
        if lc["cleaned"] != info["url"]:
            print(f"cleaned  {lc['cleaned']}" + (f"  (unwrapped by {lc['unwrapped_by']})" if lc["unwrapped_by"] else "")
                  + (f"  (stripped {', '.join(lc['stripped'])})" if lc["stripped"] else ""))
        return 0
    if args.cmd == "list":
        known = sorted({v.category for v in rules.vendors.values()})
        if args.category is not None and args.category not in known:
            raise UsageError(f"rules list: unknown category {args.category!r} (valid: {', '.join(known)})")
        vendors = [v for v in rules.vendors.values() if not args.category or v.category == args.category]
        if args.json:
            print(json.dumps([{"id": v.id, "name": v.name, "company": v.company, "category": v.category,
                               "uses": list(v.uses), "domains": list(v.domains)} for v in vendors], indent=2))
        else:
            for v in sorted(vendors, key=lambda v: v.id):
                print(f"{v.id:<28} {v.name[:28]:<28} {v.category:<22} {'/'.join(v.uses):<10} {', '.join(v.domains)[:60]}")
        return 0
    if args.cmd == "stats":
        print(f"vendors    {len(rules.vendors)}")
        print(f"redirects  {len(rules.redirects)}")
        print(f"params     {len(rules.params)}")
        print(f"filters    {len(rules.filters)} loaded, {sum(1 for _ in rules.filters.dropped())} dropped "
              f"(from {len(rules.filters.lists)} lists: `rules coverage FILE --dropped` gives the reasons)")
        print("by file:   " + ", ".join(f"{k} {n}" for k, n in Counter(v.file for v in rules.vendors.values()).items()))
        print("by source: " + ", ".join(f"{k} {n}" for k, n in Counter(
            p.get("source") for v in rules.vendors.values() for p in v.provenance).most_common()))
        print("by category: " + ", ".join(f"{k} {n}" for k, n in Counter(
            v.category for v in rules.vendors.values()).most_common()))
        return 0
    problems = validate(rules)
    for p in problems:
        print(p)
    print(f"{len(rules.vendors)} vendors, {len(rules.redirects)} redirects, {len(rules.params)} params, "
          f"{len(rules.filters)} list filters: "
          + ("OK" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
