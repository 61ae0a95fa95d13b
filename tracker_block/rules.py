"""The curated rule set: loaded from TOML once, indexed by host suffix, asked a few cheap questions.

The engine never tries every regex on every URL: a URL's host is looked up label by label
(``a.b.list-manage.com`` -> ``b.list-manage.com`` -> ``list-manage.com``) in a dict of vendor
domains, and only those vendors' few patterns run. See ``rules/README.md`` for the file format.
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import parse_qsl

from .filterlist import Filter, FilterSet, FilterSyntaxError, suffixes

BUNDLED = ("trackers.toml", "params.toml", "brave.toml", "clearurls.toml")
FILTER_MANIFEST = "filterlists.toml"   # the bundled Adblock Plus lists (rules/README.md)


class RuleError(ValueError):
    """A rule file that cannot be loaded (bad TOML, bad regex, missing field)."""


@dataclass
class Vendor:
    id: str
    name: str
    company: str
    category: str
    uses: tuple[str, ...]
    domains: tuple[str, ...]
    open: re.Pattern[str] | None
    click: re.Pattern[str] | None
    content: re.Pattern[str] | None
    tracking_hosts: tuple[str, ...]
    provenance: tuple[dict, ...]
    examples: dict[str, list[str]] = field(default_factory=dict)
    file: str = ""


@dataclass
class Redirect:
    id: str
    name: str
    domains: tuple[str, ...]
    match: re.Pattern[str]
    param: str
    extract: re.Pattern[str] | None
    decode: str
    examples: list[list[str]]
    provenance: tuple[dict, ...]
    file: str = ""


@dataclass
class Param:
    name: str | None
    pattern: re.Pattern[str] | None
    hosts: tuple[str, ...]
    keep_if_url: re.Pattern[str] | None
    provenance: tuple[dict, ...]
    file: str = ""


class Verdict(tuple):
    """(vendor, rule_id, use) — use is "open", "click" or "content"."""

    __slots__ = ()

    def __new__(cls, vendor: Vendor, rule_id: str, use: str) -> "Verdict":
        return tuple.__new__(cls, (vendor, rule_id, use))

    vendor = property(lambda self: self[0])
    rule_id = property(lambda self: self[1])
    use = property(lambda self: self[2])


class LazyPattern:
    """A regex compiled on first use: start-up pays only for the vendors a message touches.

    Bundled rules are compiled lazily (their tests and ``rules validate`` compile all of them);
    user rule files are compiled eagerly so a typo is reported at once. After the first use,
    ``search``/``match``/``fullmatch`` are the compiled pattern's own (C) methods.
    """

    __slots__ = ("pattern", "flags", "where", "_rx", "_anchored", "search", "match", "fullmatch")

    def __init__(self, pattern: str, flags: int, where: str, anchored: bool = False) -> None:
        self.pattern, self.flags, self.where, self._rx, self._anchored = pattern, flags, where, None, anchored
        self.search = lambda text: self._bind().search(text)
        self.match = lambda text: self._bind().match(text)
        self.fullmatch = lambda text: self._bind().fullmatch(text)

    @property
    def rx(self) -> re.Pattern[str]:
        if self._rx is None:
            try:
                self._rx = re.compile(self.pattern, self.flags)
            except re.error as exc:
                raise RuleError(f"{self.where}: bad regex: {exc}") from None
        return self._rx

    def _bind(self) -> re.Pattern[str]:
        rx = self.rx
        # Every alternative anchored with "^": search equals match, which does not retry at every position.
        self.search, self.match, self.fullmatch = (rx.match if self._anchored else rx.search), rx.match, rx.fullmatch
        return rx


_LAZY = False   # set while loading bundled files


def _union(patterns: Iterable[str], where: str) -> re.Pattern[str] | None:
    patterns = list(patterns)
    if not patterns:
        return None
    if _LAZY:
        return LazyPattern("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE, where)  # type: ignore[return-value]
    try:
        for p in patterns:
            re.compile(p)
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    except re.error as exc:
        raise RuleError(f"{where}: bad regex: {exc}") from None


def _sre():
    try:
        from re import _parser as sre  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - older layouts
        import sre_parse as sre  # type: ignore[no-redef]
    return sre


@functools.lru_cache(maxsize=64)
def _anchored(pattern: str) -> bool:
    """Does every alternative start with ``^``? Then ``search`` equals ``match``, which does not
    retry at every position (ClearURLs' long exception lists are all anchored)."""
    try:
        items = list(_sre().parse(pattern))
    except Exception:  # noqa: BLE001 - unparseable here: keep search
        return False
    if not items:
        return False
    op, arg = items[0]
    if str(op) == "BRANCH" and len(items) == 1:
        return all(branch and str(branch[0][0]) == "AT" and str(branch[0][1]) == "AT_BEGINNING"
                   for branch in arg[1])
    return str(op) == "AT" and str(arg) == "AT_BEGINNING"


def _required_literal(pattern: str) -> str:
    """The longest literal run every match of ``pattern`` must contain ("" when there is none)."""
    try:
        items = list(_sre().parse(pattern))
    except Exception:  # noqa: BLE001 - any parse trouble: no prefilter for this pattern
        return ""
    best, run = "", ""
    for op, arg in items:
        if str(op) == "LITERAL":
            run += chr(arg)
            continue
        best, run = max(best, run, key=len), ""
    return max(best, run, key=len).lower()


class AnyOf:
    """Search many regexes fast: each runs only when the literal it requires is in the text.

    Most required literals are path pieces starting with "/": they are bucketed by their first
    three characters and only the buckets of the text's own "/xy" pieces are tried, instead of
    testing ~90 literals one by one on every image URL.
    """

    def __init__(self, patterns: list[str], where: str) -> None:
        self.gated: list[tuple[str, re.Pattern[str]]] = []
        self._by_slash: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
        self._other: list[tuple[str, re.Pattern[str]]] = []
        ungated = []
        for p in patterns:
            lit = _required_literal(p)
            if len(lit) >= 3:
                entry = (lit, _compile(p, where))
                self.gated.append(entry)
                if lit[0] == "/":
                    self._by_slash.setdefault(lit[:3], []).append(entry)
                else:
                    self._other.append(entry)
            else:
                ungated.append(p)
        self.rest = _union(ungated, where)
        self.pattern = "|".join(patterns)   # for display only

    def search(self, text: str) -> bool:
        low = text.lower()
        for lit, rx in self._other:
            if lit in low and rx.search(text):
                return True
        buckets = self._by_slash
        i = low.find("/")
        while i >= 0:
            bucket = buckets.get(low[i:i + 3])
            if bucket is not None:
                for lit, rx in bucket:
                    if low.startswith(lit, i) and rx.search(text):
                        return True
            i = low.find("/", i + 1)
        return self.rest is not None and self.rest.search(text) is not None


def _compile(pattern: str, where: str, flags: int = re.IGNORECASE, anchored: bool = False) -> re.Pattern[str]:
    """``anchored``: every alternative starts with ``^``, so a lazy pattern may search with ``match``."""
    if _LAZY:
        return LazyPattern(pattern, flags, where, anchored)  # type: ignore[return-value]
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise RuleError(f"{where}: bad regex {pattern!r}: {exc}") from None


@functools.lru_cache(maxsize=256)
def _param_union(plain: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for a set of parameter-name patterns (most hosts share the unscoped set)."""
    return re.compile("|".join(f"(?:{x})" for x in plain), re.IGNORECASE) if plain else None


class Rules:
    """Compiled, indexed rule set."""

    def __init__(self) -> None:
        self.vendors: dict[str, Vendor] = {}
        self.redirects: list[Redirect] = []
        self.params: list[Param] = []
        self.sources: dict[str, dict] = {}
        self._by_domain: dict[str, list[Vendor]] = {}
        self._tracking_host: dict[str, Vendor] = {}
        self._redirect_by_domain: dict[str, list[Redirect]] = {}
        self._param_exact: dict[str, list[Param]] = {}
        self._param_patterns: list[Param] = []          # unscoped name patterns (few)
        self._param_scoped: dict[str, list[Param]] = {}  # host suffix -> scoped name patterns
        self._exempt_hosts: set[str] = set()
        self.generic_open: AnyOf | None = None
        self.spacer: re.Pattern[str] | None = None
        self._generic_open_src: list[str] = []
        self._spacer_src: list[str] = []
        self.files: list[str] = []
        self.filters = FilterSet()
        self._list_vendors: dict[tuple[str, str], Vendor] = {}

    # ------------------------------------------------------------ loading
    def add_filter_list(self, name: str, text: str, label: str, links: bool = False) -> None:
        """An Adblock Plus list (EasyPrivacy, the user's own): compiled into the filter index."""
        try:
            self.filters.add(name, text, label, links)
        except FilterSyntaxError as exc:
            raise RuleError(f"{name}: {exc}") from None
        self.files.append(name)

    def add_file(self, name: str, text: str) -> None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RuleError(f"{name}: {exc}") from None
        self.files.append(name)
        for sid, meta in data.get("sources", {}).items():
            self.sources.setdefault(sid, dict(meta, file=name))
        for i, v in enumerate(data.get("vendor", [])):
            self._add_vendor(name, i, v)
        for i, r in enumerate(data.get("redirect", [])):
            self._add_redirect(name, i, r)
        for i, p in enumerate(data.get("param", [])):
            self._add_param(name, i, p)
        self._exempt_hosts.update(h.lower() for h in data.get("exempt_hosts", []))
        generic = data.get("generic", {})
        self._generic_open_src += list(generic.get("open_paths", []))
        self._spacer_src += list(generic.get("spacer_allowlist", []))
        if not _LAZY:
            _union(self._generic_open_src, f"{name}: generic.open_paths")   # validates every pattern
        self.generic_open = AnyOf(self._generic_open_src, f"{name}: generic.open_paths") if self._generic_open_src else None
        self.spacer = _union(self._spacer_src, f"{name}: generic.spacer_allowlist")

    def _add_vendor(self, file: str, i: int, v: dict) -> None:
        where = f"{file}: vendor #{i} ({v.get('id', '?')})"
        try:
            vid = v["id"]
            domains = tuple(d.lower().strip(".") for d in v["domains"])
        except KeyError as exc:
            raise RuleError(f"{where}: missing {exc}") from None
        if vid in self.vendors:
            raise RuleError(f"{where}: duplicate vendor id {vid!r}")
        vendor = Vendor(
            id=vid, name=v.get("name", vid), company=v.get("company", v.get("name", vid)),
            category=v.get("category", "other"), uses=tuple(v.get("uses", ())), domains=domains,
            open=_union(v.get("open", ()), where), click=_union(v.get("click", ()), where),
            content=_union(v.get("content", ()), where),
            tracking_hosts=tuple(h.lower() for h in v.get("tracking_hosts", ())),
            provenance=tuple(v.get("provenance", ())),
            examples={k: list(v.get(f"examples_{k}", ())) for k in ("open", "click", "content")},
            file=file,
        )
        self.vendors[vid] = vendor
        for d in set(domains) | set(vendor.tracking_hosts):
            self._by_domain.setdefault(d, []).append(vendor)
        for h in vendor.tracking_hosts:
            self._tracking_host[h] = vendor

    def _add_redirect(self, file: str, i: int, r: dict) -> None:
        where = f"{file}: redirect #{i} ({r.get('id', '?')})"
        try:
            red = Redirect(
                id=r["id"], name=r.get("name", r["id"]), domains=tuple(d.lower() for d in r["domains"]),
                match=_compile(r["match"], where), param=r.get("param", ""),
                extract=_compile(r["extract"], where) if r.get("extract") else None,
                decode=r.get("decode", ""), examples=list(r.get("examples", ())),
                provenance=tuple(r.get("provenance", ())), file=file,
            )
        except KeyError as exc:
            raise RuleError(f"{where}: missing {exc}") from None
        if not red.param and not red.extract:
            raise RuleError(f"{where}: needs 'param' or 'extract'")
        self.redirects.append(red)
        for d in red.domains:
            self._redirect_by_domain.setdefault(d, []).append(red)

    def _add_param(self, file: str, i: int, p: dict) -> None:
        where = f"{file}: param #{i} ({p.get('name') or p.get('pattern')})"
        name = p.get("name")
        pattern = _compile(p["pattern"], where) if p.get("pattern") else None
        if not name and not pattern:
            raise RuleError(f"{where}: needs 'name' or 'pattern'")
        keep = p.get("keep_if_url")
        keep_rx = _compile(keep, where, anchored=_anchored(keep)) if keep else None
        param = Param(
            name=name.lower() if name else None, pattern=pattern,
            hosts=tuple(h.lower() for h in p.get("hosts", ())),
            keep_if_url=keep_rx, provenance=tuple(p.get("provenance", ())), file=file,
        )
        self.params.append(param)
        if param.name:
            self._param_exact.setdefault(param.name, []).append(param)
        elif param.hosts:
            for h in param.hosts:
                self._param_scoped.setdefault(h, []).append(param)
        else:
            self._param_patterns.append(param)

    # ------------------------------------------------------------ questions
    @functools.lru_cache(maxsize=4096)
    def candidates(self, host: str) -> tuple[Vendor, ...]:
        out: list[Vendor] = []
        for s in suffixes(host):
            vs = self._by_domain.get(s)
            if vs:
                out.extend(vs)
        return tuple(out)

    def match_load(self, host: str, target: str, kind: str = "image") -> Verdict | None:
        """Is a remote load (image, CSS url, …) a known tracker, or known content of a tracker vendor?

        ``kind`` is the filter-list load type (``filterlist.KINDS``): images unless told otherwise.
        """
        for vendor in self.candidates(host):
            if vendor.content is not None and vendor.content.search(target):
                return Verdict(vendor, f"rule:{vendor.id}/content", "content")
            if vendor.open is not None and vendor.open.search(target):
                return Verdict(vendor, f"rule:{vendor.id}/open", "open")
            for s in suffixes(host):
                if self._tracking_host.get(s) is vendor:
                    return Verdict(vendor, f"rule:{vendor.id}/host", "open")
        return self._match_list(host, target, kind, "open")

    def match_click(self, host: str, target: str) -> Verdict | None:
        """Is a link a known click-tracking URL?"""
        for vendor in self.candidates(host):
            if vendor.click is not None and vendor.click.search(target):
                return Verdict(vendor, f"rule:{vendor.id}/click", "click")
        return self._match_list(host, target, "link", "click")

    def _match_list(self, host: str, target: str, kind: str, use: str) -> Verdict | None:
        """A filter-list hit, named after the vendor owning the host when there is one."""
        f = self.filters.match("https://" + target, host, kind)
        return None if f is None else Verdict(self._list_vendor(host, f), f.reason, use)

    def _list_vendor(self, host: str, f: Filter) -> Vendor:
        owner = self.vendor_for_host(host)
        if owner is not None:
            return owner
        from .detect import registrable_domain   # detect imports this module
        domain = registrable_domain(host)
        key = (domain, f.file)
        v = self._list_vendors.get(key)
        if v is None:
            v = self._list_vendors[key] = Vendor(
                id=f"list-{f.list_id}", name=domain, company=domain, category="other", uses=("open",),
                domains=(), open=None, click=None, content=None, tracking_hosts=(),
                provenance=({"source": f.list_id, "upstream_name": f.text},), file=f.file)
        return v

    @functools.lru_cache(maxsize=4096)
    def _redirects_for(self, host: str) -> tuple[Redirect, ...]:
        """Redirect rules whose domains cover ``host``, most specific suffix first."""
        own = tuple(red for s in suffixes(host) for red in self._redirect_by_domain.get(s, ()))
        # "*": the wrapper also runs on senders' own tracking domains (its match regex is strict)
        return own + tuple(red for red in self._redirect_by_domain.get("*", ()) if red not in own)

    def match_redirect(self, host: str, target: str, url: str) -> tuple[str, str, str] | None:
        """(rule id, raw destination, decoder) for a redirect wrapper whose destination is in the URL."""
        for red in self._redirects_for(host):
            if not red.match.search(target):
                continue
            if red.extract is not None:
                m = red.extract.search(target)
                if m and m.group(1):
                    raw = "".join(g for g in m.groups() if g) if red.decode == "https-join" else m.group(1)
                    return red.id, raw, red.decode
            elif red.param:
                q = url.split("?", 1)[1].split("#", 1)[0] if "?" in url else ""
                for k, val in parse_qsl(q, keep_blank_values=False):
                    if k == red.param and val:
                        return red.id, val, red.decode
        return None

    @functools.lru_cache(maxsize=2048)
    def _host_params(self, host: str) -> tuple[bool, re.Pattern[str] | None, tuple[Param, ...]]:
        """(exempt, one regex for the unconditional name patterns, conditional patterns) per host."""
        hosts = tuple(suffixes(host))
        exempt = any(s in self._exempt_hosts for s in hosts)
        patterns = list(self._param_patterns) + [p for s in hosts for p in self._param_scoped.get(s, ())]
        return exempt, _param_union(tuple(p.pattern.pattern for p in patterns if p.keep_if_url is None)), tuple(
            p for p in patterns if p.keep_if_url is not None)

    def is_tracking_param(self, name: str, host: str, url: str, memo: dict | None = None) -> bool:
        """Is parameter ``name`` of ``url`` (on ``host``) a tracking parameter?

        ``memo`` (one per URL) keeps the answers of URL-wide exceptions: ClearURLs scopes a dozen
        parameter rules (utm_*, mc_*, …) with the same long exception list.
        """
        verdict = self._param_verdict(name.lower(), host)
        if verdict is True or verdict is False:
            return verdict
        for keep in verdict:   # tracking unless every candidate rule's exception covers the URL
            kept = memo.get(keep.pattern) if memo is not None else None
            if kept is None:
                kept = keep.search(url) is not None
                if memo is not None:
                    memo[keep.pattern] = kept
            if not kept:
                return True
        return False

    @functools.lru_cache(maxsize=16384)
    def _param_verdict(self, low: str, host: str) -> "bool | tuple[re.Pattern[str], ...]":
        """True/False when the verdict does not depend on the rest of the URL, else the candidate
        rules' ``keep_if_url`` exceptions."""
        exempt, union, conditional = self._host_params(host)
        if exempt:
            return False
        if union is not None and union.fullmatch(low):
            return True
        cands = [p for p in self._param_exact.get(low, ()) if not p.hosts or any(s in p.hosts for s in suffixes(host))]
        cands += [p for p in conditional if p.pattern.fullmatch(low)]
        if not cands:
            return False
        if any(p.keep_if_url is None for p in cands):
            return True
        return tuple(p.keep_if_url for p in cands)

    def compile_all(self) -> list[str]:
        """Compile every lazily loaded pattern; the problems found (empty when all compile)."""
        problems = []
        pats = [p for v in self.vendors.values() for p in (v.open, v.click, v.content)]
        pats += [p for r in self.redirects for p in (r.match, r.extract)]
        pats += [p for q in self.params for p in (q.pattern, q.keep_if_url)]
        if self.generic_open is not None:
            pats += [rx for _, rx in self.generic_open.gated] + [self.generic_open.rest]
        pats.append(self.spacer)
        for p in pats:
            if isinstance(p, LazyPattern):
                try:
                    p.rx
                except RuleError as exc:
                    problems.append(str(exc))
        return problems

    def vendor_for_host(self, host: str) -> Vendor | None:
        """The vendor owning a host, if any (for attributing heuristic findings)."""
        c = self.candidates(host)
        return c[0] if c else None


def _bundled_texts() -> Iterator[tuple[str, str]]:
    base = resources.files("tracker_block.ruledata")
    for name in BUNDLED:
        f = base / name
        if f.is_file():
            yield name, f.read_text(encoding="utf-8")


def bundled_lists() -> list[dict]:
    """The bundled filter lists' manifest entries (file, label, links, licence, upstream)."""
    f = resources.files("tracker_block.ruledata") / FILTER_MANIFEST
    return list(tomllib.loads(f.read_text(encoding="utf-8")).get("list", [])) if f.is_file() else []


def _add_bundled_lists(rules: Rules) -> None:
    """Each bundled list, or the newer copy ``tracker-block rules update`` fetched, if any."""
    from .listupdate import updated_copy
    base = resources.files("tracker_block.ruledata")
    for entry in bundled_lists():
        name = entry["file"]
        newer = updated_copy(name)
        text = newer.read_text(encoding="utf-8") if newer else (base / name).read_text(encoding="utf-8")
        rules.add_filter_list(name, text, entry.get("label", name), bool(entry.get("links")))


@functools.lru_cache(maxsize=8)
def load_rules(extra: tuple[str, ...] = ()) -> Rules:
    """The bundled rule set plus extra files; compiled once per process."""
    global _LAZY
    rules = Rules()
    _LAZY = True
    try:
        for name, text in _bundled_texts():
            rules.add_file(name, text)
    finally:
        _LAZY = False
    _add_bundled_lists(rules)
    for path in extra:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            from .listupdate import cache_dir
            if Path(path).parent == cache_dir():
                raise RuleError(f"{path}: filter list not downloaded yet: run `tracker-block rules update`") from None
            raise RuleError(f"{path}: file not found") from None
        except OSError as exc:
            raise RuleError(f"{path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise RuleError(f"{path}: not UTF-8 text") from None
        if path.endswith(".toml"):
            rules.add_file(str(path), text)
        else:                      # anything else is an Adblock Plus filter list (config filter_lists)
            rules.add_filter_list(str(path), text, Path(path).stem)
    return rules
