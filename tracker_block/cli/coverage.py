"""``tracker-block rules coverage FILE``: how much of someone else's tracker list our rules recognise.

Reads the three common formats: Adblock Plus filters, plain domain lists (one per line, or a
hosts file), and a Disconnect-style ``services.json``. A domain is *recognised* when an image
loaded from it would be judged a tracker by rule or list, or a vendor rule covers the host.
A filter is *loaded* when this matcher can apply it to mail, else *dropped* with its reason.
"""
from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

from tracker_block.engine.filterlist import FilterSyntaxError, parse
from tracker_block.engine.rules import Rules

_HOST = re.compile(r"^(?:[a-z0-9_-]+\.)+[a-z0-9-]+$")
_HOSTS_PREFIX = re.compile(r"^(?:0\.0\.0\.0|127\.0\.0\.1|::1?)\s+")


def recognised(rules: Rules, domain: str) -> bool:
    """Would the rules call a load from ``domain`` (or its vendor) a tracker?"""
    hit = rules.match_load(domain, domain + "/")
    if hit is not None and hit.use != "content":
        return True
    return bool(rules.candidates(domain))


def read_domains(text: str) -> dict[str, list[str]] | None:
    """Domains by category from a Disconnect ``services.json``; None when ``text`` is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    cats = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(cats, dict):
        return None
    out: dict[str, list[str]] = defaultdict(list)
    for cat, entries in cats.items():
        for entry in entries if isinstance(entries, list) else ():
            for _org, sites in (entry.items() if isinstance(entry, dict) else ()):
                for _home, domains in (sites.items() if isinstance(sites, dict) else ()):
                    if isinstance(domains, list):
                        out[cat] += [d.lower().strip(".") for d in domains if isinstance(d, str)]
    return dict(out)


def plain_domains(text: str) -> list[str] | None:
    """Domains from a plain list or hosts file; None when most lines are something else."""
    out, other = [], 0
    for line in text.splitlines():
        line = _HOSTS_PREFIX.sub("", line.split("#", 1)[0].strip()).strip().lower().rstrip(".")
        if not line:
            continue
        if _HOST.match(line):
            out.append(line)
        else:
            other += 1
    return out if out and other <= len(out) // 10 else None


def coverage_main(path: str, rules: Rules, show: int = 50, dropped: bool = False) -> int:
    """Print the figures; exit 0, or 2 when the file cannot be read as any of the formats."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"tracker-block: rules coverage: {path}: cannot read ({getattr(exc, 'strerror', None) or exc})",
              file=sys.stderr)
        return 2
    cats = read_domains(text)
    if cats is not None:
        print(f"{path}: Disconnect-style services.json, {len(cats)} categories")
        for cat, domains in sorted(cats.items()):
            _domains_report(cat, sorted(set(domains)), rules, show)
        return 0
    domains = plain_domains(text)
    if domains is not None:
        print(f"{path}: plain domain list")
        _domains_report("domains", sorted(set(domains)), rules, show)
        return 0
    try:
        res = parse(text, Path(path).stem)
    except FilterSyntaxError as exc:
        print(f"tracker-block: rules coverage: {path}: {exc}", file=sys.stderr)
        return 2
    if not res.loaded and not res.dropped:
        print(f"tracker-block: rules coverage: {path}: no filters, domains or services found", file=sys.stderr)
        return 2
    total = len(res.loaded) + len(res.dropped)
    print(f"{path}: Adblock Plus list, {total} filters ({res.comments} comment lines)")
    print(f"  loaded   {len(res.loaded)} ({_pct(len(res.loaded), total)})  applied to mail as written")
    print(f"  dropped  {len(res.dropped)} ({_pct(len(res.dropped), total)})  cannot apply to mail"
          + (":" if res.dropped else ""))
    reasons: dict[str, int] = defaultdict(int)
    for _t, why in res.dropped:
        reasons[why] += 1
    for why, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        print(f"    {n:>5}  {why}")
    if dropped:
        for t, why in res.dropped:
            print(f"    {t}\t! {why}")
    hosts = sorted({f.host for f in res.loaded if f.host})
    if hosts:
        _domains_report("host filters (||host^)", hosts, rules, show)
    return 0


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f} %" if total else "-"


def _domains_report(title: str, domains: list[str], rules: Rules, show: int) -> None:
    missing = [d for d in domains if not recognised(rules, d)]
    known = len(domains) - len(missing)
    print(f"  {title}: {known} of {len(domains)} recognised ({_pct(known, len(domains))})")
    if missing:
        listed = missing[:show]
        more = f" (first {len(listed)} of {len(missing)})" if len(missing) > len(listed) else ""
        print(f"    not recognised{more}: {', '.join(listed)}")
