"""Data checks for rules/*.toml, independent of the engine (tomllib + re only).

Why: the rule files are curated from upstreams written for other regex engines;
these checks prove every rule compiles under Python re, every example matches
the rule it documents, and the index domains cover what the regexes can match.
"""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

RULES = Path(__file__).resolve().parent.parent / "rules"
CATEGORIES = {
    "email-service-provider", "sales-tracker", "marketing-automation", "crm", "analytics",
    "advertising", "social", "transactional", "support", "survey", "personal-tracker", "other",
}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def load(name: str) -> dict:
    with open(RULES / name, "rb") as f:
        return tomllib.load(f)


TRACKERS = load("trackers.toml")
PARAMS = load("params.toml")
BRAVE = load("brave.toml")
CLEARURLS = load("clearurls.toml")
VENDORS = TRACKERS["vendor"]
ALL_PARAM_FILES = {"params.toml": PARAMS, "brave.toml": BRAVE, "clearurls.toml": CLEARURLS}


def target(url: str) -> str:
    p = urlsplit(url)
    return (p.hostname or "").lower() + (p.path or "/") + (("?" + p.query) if p.query else "")


def under(host: str, domains: list[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def search(rx: str, s: str) -> bool:
    return re.search(rx, s, re.IGNORECASE) is not None


def all_regexes():
    for v in VENDORS:
        for k in ("open", "click", "content"):
            for rx in v[k]:
                yield f"vendor {v['id']}.{k}", rx
    for k in ("open_paths", "spacer_allowlist"):
        for rx in TRACKERS["generic"][k]:
            yield f"generic.{k}", rx
    for fname, data in ALL_PARAM_FILES.items():
        for p in data.get("param", []):
            for k in ("pattern", "keep_if_url"):
                if p.get(k):
                    yield f"{fname} param {p.get('name') or p.get('pattern')}.{k}", p[k]
        for r in data.get("redirect", []):
            for k in ("match", "extract"):
                if r.get(k):
                    yield f"{fname} redirect {r['id']}.{k}", r[k]


def strip_classes(rx: str) -> str:
    """Remove [...] character classes (where '.' is literal) and escaped characters."""
    out, i, in_class = [], 0, False
    while i < len(rx):
        c = rx[i]
        if c == "\\":
            out.append("  " if not in_class else "")
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        else:
            out.append(c)
        i += 1
    return "".join(out)


def test_files_parse_and_have_sources():
    for data in (TRACKERS, PARAMS, BRAVE, CLEARURLS):
        assert data["sources"], "every rule file declares its sources"
    assert BRAVE["exempt_hosts"] == ["urldefense.com"]


def test_the_core_reads_every_bundled_rule_file_as_tomllib_does():
    """Start-up reads the bundled files with the core's TOML parser: it must give tomllib's values, in
    tomllib's order; a date (tomllib's datetime) or a syntax error is left to tomllib."""
    import tomllib

    from tracker_block import _core
    from tracker_block.engine.rules import read_bundled_toml
    for path in sorted(RULES.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        mine, theirs = _core.parse_toml(text), tomllib.loads(text)
        assert mine == theirs and list(mine) == list(theirs), path.name
        assert json.dumps(mine) == json.dumps(theirs), path.name      # nested key order too
    assert _core.parse_toml("when = 1979-05-27T07:32:00Z") is None
    assert read_bundled_toml("when = 1979-05-27")["when"].year == 1979
    assert _core.parse_toml("a = ") is None
    with pytest.raises(tomllib.TOMLDecodeError):
        read_bundled_toml("a = ")


def test_copyleft_files_are_labelled():
    assert "MPL-2.0" in (RULES / "brave.toml").read_text().splitlines()[0]
    assert "LGPL-3.0" in (RULES / "clearurls.toml").read_text().splitlines()[0]
    for lic in ("LICENSE.MPL-2.0.txt", "LICENSE.LGPL-3.0.txt", "LICENSE.GPL-3.0.txt", "NOTICE"):
        assert (RULES / lic).stat().st_size > 1000


def test_every_regex_compiles():
    bad = []
    for where, rx in all_regexes():
        try:
            re.compile(rx, re.IGNORECASE)
        except re.error as e:
            bad.append(f"{where}: {rx!r}: {e}")
    assert not bad, "\n".join(bad)


def test_no_unescaped_literal_dots():
    """A bare '.' between two word characters is almost always a host/file dot meant literally."""
    bad = [f"{w}: {rx!r}" for w, rx in all_regexes() if re.search(r"\w\.\w", strip_classes(rx))]
    assert not bad, "\n".join(bad)


def test_lint_catches_unescaped_dot():
    assert re.search(r"\w\.\w", strip_classes("list-manage.com/track"))
    assert not re.search(r"\w\.\w", strip_classes(r"list-manage\.com/[a-z.]+/.+\.gif"))


def test_vendor_ids_unique_and_well_formed():
    ids = [v["id"] for v in VENDORS]
    assert len(ids) == len(set(ids))
    assert all(ID_RE.match(i) for i in ids)
    assert len(VENDORS) >= 300


def test_vendor_fields():
    sources = set(TRACKERS["sources"])
    for v in VENDORS:
        assert v["name"] and v["company"], v["id"]
        assert v["category"] in CATEGORIES, v["id"]
        assert v["domains"], v["id"]
        assert all(d == d.lower() and "/" not in d and ":" not in d for d in v["domains"]), v["id"]
        assert set(v["uses"]) <= {"open", "click"} and v["uses"], v["id"]
        assert v["open"] or v["click"] or v["tracking_hosts"], v["id"]
        assert v["provenance"] and all(p["source"] in sources for p in v["provenance"]), v["id"]
        if "open" in v["uses"]:
            assert v["examples_open"], v["id"]
        if "click" in v["uses"]:
            assert v["examples_click"], v["id"]
    gp = TRACKERS["generic"]["provenance"]
    assert gp and all(p["source"] in sources for p in gp)


_LIT_HOST = re.compile(r"\^(?:\(\[a-z0-9-\]\+\\\.\)\*)?((?:[a-z0-9-]+\\\.)+[a-z0-9-]+)/", re.I)


def test_domains_cover_literal_hosts():
    """The loader only runs a vendor's regexes under its domains: each anchored host must be covered."""
    bad = []
    for v in VENDORS:
        for rx in v["open"] + v["click"]:
            m = _LIT_HOST.match(rx)
            if not rx.startswith("^"):
                bad.append(f"{v['id']}: unanchored vendor regex {rx!r}")
            elif m and not under(m.group(1).replace("\\.", ".").lower(), v["domains"]):
                bad.append(f"{v['id']}: {rx!r} host outside {v['domains']}")
        for h in v["tracking_hosts"]:
            if not under(h, v["domains"]):
                bad.append(f"{v['id']}: tracking host {h} outside domains")
    assert not bad, "\n".join(bad)


def test_examples_open_match_own_vendor():
    bad = []
    for v in VENDORS:
        for e in v["examples_open"]:
            t = target(e)
            host = t.split("/")[0]
            if not under(host, v["domains"]):
                bad.append(f"{v['id']}: {e} host not under domains")
            if not (any(search(rx, t) for rx in v["open"]) or under(host, v["tracking_hosts"])):
                bad.append(f"{v['id']}: {e} matches no open rule")
    assert not bad, "\n".join(bad)


def test_examples_click_match_own_vendor():
    bad = []
    for v in VENDORS:
        for e in v["examples_click"]:
            t = target(e)
            if not under(t.split("/")[0], v["domains"]):
                bad.append(f"{v['id']}: {e} host not under domains")
            if not any(search(rx, t) for rx in v["click"]):
                bad.append(f"{v['id']}: {e} matches no click rule")
    assert not bad, "\n".join(bad)


def test_examples_content_are_not_open_tracking():
    generic = TRACKERS["generic"]["open_paths"]
    bad = []
    n = 0
    for v in VENDORS:
        for e in v["examples_content"]:
            n += 1
            t = target(e)
            host = t.split("/")[0]
            own = under(host, v["domains"]) and (any(search(rx, t) for rx in v["open"]) or under(host, v["tracking_hosts"]))
            if own or any(search(rx, t) for rx in generic):
                bad.append(f"{v['id']}: content example {e} would be judged open-tracking")
    assert n >= 5
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("url", [
    "https://lh3.googleusercontent.com/a/photo=s96",
    "https://d1234abcd.cloudfront.net/images/logo.png",
    "https://s3.amazonaws.com/bucket/banner.jpg",
    "https://i.imgur.com/abc123.png",
    "https://www.gravatar.com/avatar/0123456789abcdef?s=80",
    "https://example.org/images/logo.png",
])
def test_common_content_hosts_are_not_open_tracking(url):
    t = target(url)
    host = t.split("/")[0]
    hits = [v["id"] for v in VENDORS if under(host, v["domains"])
            and (any(search(rx, t) for rx in v["open"]) or under(host, v["tracking_hosts"]))]
    hits += [rx for rx in TRACKERS["generic"]["open_paths"] if search(rx, t)]
    assert not hits


def test_params_schema_and_no_duplicates():
    seen: dict[str, str] = {}
    for fname, data in ALL_PARAM_FILES.items():
        srcs = set(data["sources"])
        for p in data.get("param", []):
            assert bool(p.get("name")) != bool(p.get("pattern")), p
            assert p["provenance"] and all(x["source"] in srcs for x in p["provenance"]), p
            if p.get("name") and not p.get("hosts"):
                key = p["name"].lower()
                assert key not in seen, f"{key} in {fname} and {seen[key]}"
                seen[key] = fname
    own = {p["name"].lower() for p in PARAMS["param"] if p.get("name")}
    for data in (BRAVE, CLEARURLS):
        for p in data["param"]:
            assert not (p.get("name") and p["name"].lower() in own), p


def test_conditional_params_keep_unsubscribe_links():
    mkt = next(p for p in PARAMS["param"] if p.get("name") == "mkt_tok")
    assert re.search(mkt["keep_if_url"], "https://example.org/unsubscribe?mkt_tok=abc")
    assert not re.search(mkt["keep_if_url"], "https://example.org/blog?mkt_tok=abc")
    utm = next(p for p in PARAMS["param"] if p.get("pattern", "").startswith("utm"))
    assert re.fullmatch(utm["pattern"], "UTM_Source", re.I)


def test_redirects():
    ids = []
    for fname, data in (("params.toml", PARAMS), ("clearurls.toml", CLEARURLS)):
        srcs = set(data["sources"])
        for r in data.get("redirect", []):
            ids.append(r["id"])
            assert r["domains"] and r["examples"], r["id"]
            assert bool(r.get("param")) != bool(r.get("extract")) or r.get("decode"), r["id"]
            assert r["provenance"] and all(x["source"] in srcs for x in r["provenance"]), r["id"]
            for wrapped, want in r["examples"]:
                t = target(wrapped)
                assert "*" in r["domains"] or under(t.split("/")[0], r["domains"]), (r["id"], wrapped)
                assert re.search(r["match"], t, re.I), (r["id"], wrapped)
                if r.get("decode"):
                    assert r["decode"] in {"base64url", "proofpoint-v2", "proofpoint-v3", "awstrack", "base64-json-href", "https-join"}
                    continue
                if r.get("param"):
                    from urllib.parse import parse_qs
                    got = parse_qs(urlsplit(wrapped).query)[r["param"]][0]
                else:
                    m = re.search(r["extract"], t, re.I)
                    assert m, (r["id"], wrapped)
                    got = unquote(m.group(1))
                assert got == want, (r["id"], got, want)
    assert len(ids) == len(set(ids))
    own = {r["id"] for r in PARAMS["redirect"]}
    assert {"outlook-safelinks", "google-url", "proofpoint-v2", "proofpoint-v3", "amazon-ses"} <= own
