"""The curated rule set: loaded from TOML once, indexed by host suffix, asked a few cheap questions.

This module loads and validates the rule files (TOML and Adblock Plus lists; see
``rules/README.md`` for the format) and hands them once to the Rust core's judge
(``core/src/rules.rs``), which answers every per-URL question: a URL's host is looked up label by
label (``a.b.list-manage.com`` -> ``b.list-manage.com`` -> ``list-manage.com``) in a map of vendor
domains, and only those vendors' few patterns run.
"""
from __future__ import annotations

import functools
import importlib.util
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

from tracker_block import _core
from tracker_block.engine.filterlist import Filter, FilterSet, FilterSyntaxError

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
    open: Pattern | None
    click: Pattern | None
    content: Pattern | None
    tracking_hosts: tuple[str, ...]
    provenance: tuple[dict, ...]
    examples: dict[str, list[str]] = field(default_factory=dict)
    file: str = ""


@dataclass
class Redirect:
    id: str
    name: str
    domains: tuple[str, ...]
    match: Pattern
    param: str
    extract: Pattern | None
    decode: str
    examples: list[list[str]]
    provenance: tuple[dict, ...]
    file: str = ""


@dataclass
class Param:
    name: str | None
    pattern: Pattern | None
    hosts: tuple[str, ...]
    keep_if_url: Pattern | None
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


class Pattern:
    """A rule regex as written in the data; the Rust judge compiles and runs it."""

    __slots__ = ("pattern",)

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r})"


_LAZY = False   # set while loading bundled files: their patterns are checked by their tests and `rules validate`


def _check(pattern: str, where: str) -> None:
    """User rule files are checked at once, so a typo is reported when the file is loaded."""
    if not _LAZY:
        problem = _core.regex_problem(pattern)
        if problem is not None:
            raise RuleError(f"{where}: bad regex {pattern!r}: {problem}")


def _union(patterns: Iterable[str], where: str) -> Pattern | None:
    patterns = list(patterns)
    for p in patterns:
        _check(p, where)
    return Pattern("|".join(f"(?:{p})" for p in patterns)) if patterns else None


def _compile(pattern: str, where: str) -> Pattern:
    _check(pattern, where)
    return Pattern(pattern)


class RulePatterns:
    """Patterns of one kind (generic open paths, spacer names): their sources, asked through the judge."""

    def __init__(self, rules: "Rules", sources: list[str], question: str) -> None:
        self._rules, self._question = rules, question
        self.pattern = "|".join(sources)   # for display only

    def search(self, text: str) -> bool:
        return getattr(self._rules.judge, self._question)(text)


@functools.lru_cache(maxsize=1)
def ensure_public_suffixes() -> None:
    """Give the core the public-suffix snapshot tldextract bundles (offline by design: never a fetch).

    The file is read where the package lies, without importing tldextract (its imports, requests
    among them, cost a few hundred ms of start-up and nothing else of it is used)."""
    spec = importlib.util.find_spec("tldextract")
    if spec is None or not spec.submodule_search_locations:   # pragma: no cover - a declared dependency
        raise RuleError("tldextract (its public-suffix snapshot) is not installed")
    snapshot = Path(next(iter(spec.submodule_search_locations))) / ".tld_set_snapshot"
    _core.load_public_suffixes(snapshot.read_text(encoding="utf-8"))


class Rules:
    """The loaded rule set (validated data); its judge in the core answers the per-URL questions."""

    def __init__(self) -> None:
        self.vendors: dict[str, Vendor] = {}
        self.redirects: list[Redirect] = []
        self.params: list[Param] = []
        self.sources: dict[str, dict] = {}
        self._exempt_hosts: set[str] = set()
        self.generic_open: RulePatterns | None = None
        self.spacer: RulePatterns | None = None
        self._generic_open_src: list[str] = []
        self._spacer_src: list[str] = []
        self.files: list[str] = []
        self.filters = FilterSet()
        self._list_vendors: dict[tuple[str, str], Vendor] = {}   # by (domain, file) and by (host, file)
        self._judge: _core.Judge | None = None
        self._judge_filters: _core.FilterIndex | None = None
        self._vendor_list: list[Vendor] = []

    # ------------------------------------------------------------ loading
    def add_filter_list(self, name: str, text: str, label: str, links: bool = False) -> None:
        """An Adblock Plus list (EasyPrivacy, the user's own): compiled into the filter index."""
        try:
            self.filters.add(name, text, label, links)
        except FilterSyntaxError as exc:
            raise RuleError(f"{name}: {exc}") from None
        self.files.append(name)
        self._judge = None

    def add_file(self, name: str, text: str) -> None:
        """A rule file (TOML) the user gave: read by tomllib, whose messages name what is wrong."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RuleError(f"{name}: {exc}") from None
        self.add_data(name, data)

    def add_data(self, name: str, data: dict[str, Any]) -> None:
        """A rule file's content, already read."""
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
        _union(self._generic_open_src, f"{name}: generic.open_paths")       # validates every pattern
        _union(self._spacer_src, f"{name}: generic.spacer_allowlist")
        self.generic_open = RulePatterns(self, self._generic_open_src, "generic_open") if self._generic_open_src else None
        self.spacer = RulePatterns(self, self._spacer_src, "spacer") if self._spacer_src else None
        self._judge = None

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

    def _add_param(self, file: str, i: int, p: dict) -> None:
        where = f"{file}: param #{i} ({p.get('name') or p.get('pattern')})"
        name = p.get("name")
        pattern = _compile(p["pattern"], where) if p.get("pattern") else None
        if not name and not pattern:
            raise RuleError(f"{where}: needs 'name' or 'pattern'")
        keep = p.get("keep_if_url")
        keep_rx = _compile(keep, where) if keep else None
        param = Param(
            name=name.lower() if name else None, pattern=pattern,
            hosts=tuple(h.lower() for h in p.get("hosts", ())),
            keep_if_url=keep_rx, provenance=tuple(p.get("provenance", ())), file=file,
        )
        self.params.append(param)

    # ------------------------------------------------------------ questions (answered by the core)
    @property
    def judge(self) -> _core.Judge:
        """The compiled rule set in the Rust core, built once (again only after a file is added)."""
        judge = self._judge
        if judge is None or self._judge_filters is not self.filters.compiled:
            judge = self._build_judge()
        return judge

    def _build_judge(self) -> _core.Judge:
        ensure_public_suffixes()
        src = lambda p: [p.pattern] if p is not None else []   # noqa: E731
        self._vendor_list = list(self.vendors.values())
        self._judge_filters = self.filters.index()
        self._judge = _core.Judge(
            [(v.id, v.name, v.category, src(v.open), src(v.click), src(v.content), list(v.domains),
              list(v.tracking_hosts)) for v in self._vendor_list],
            [(r.id, list(r.domains), r.match.pattern, r.param, r.extract.pattern if r.extract else None, r.decode)
             for r in self.redirects],
            [(p.name, p.pattern.pattern if p.pattern else None, list(p.hosts),
              p.keep_if_url.pattern if p.keep_if_url else None) for p in self.params],
            sorted(self._exempt_hosts), list(self._generic_open_src), list(self._spacer_src), self._judge_filters)
        return self._judge

    def candidates(self, host: str) -> tuple[Vendor, ...]:
        """Vendors whose domains cover ``host``, most specific suffix first."""
        judge = self.judge
        return tuple(self._vendor_list[i] for i in judge.candidates(host))

    def _verdict(self, host: str, hit: tuple | None) -> Verdict | None:
        if hit is None:
            return None
        vendor_index, file, filter_index, rule_id, use = hit
        if vendor_index >= 0:
            return Verdict(self._vendor_list[vendor_index], rule_id, use)
        return Verdict(self._list_vendor(host, self.filters.lists[file].loaded[filter_index]), rule_id, use)

    def match_load(self, host: str, target: str, kind: str = "image") -> Verdict | None:
        """Is a remote load (image, CSS url, …) a known tracker, or known content of a tracker vendor?

        ``kind`` is the filter-list load type (``filterlist.KINDS``): images unless told otherwise.
        """
        return self._verdict(host, self.judge.match_load(host, target, kind))

    def match_click(self, host: str, target: str) -> Verdict | None:
        """Is a link a known click-tracking URL?"""
        return self._verdict(host, self.judge.match_click(host, target))

    def _list_vendor(self, host: str, f: Filter) -> Vendor:
        """The vendor a filter-list hit on a host no vendor owns is shown as: the host's domain."""
        v = self._list_vendors.get((host, f.file))
        if v is not None:
            return v
        domain = _core.registrable_domain(host)
        key = (domain, f.file)
        v = self._list_vendors.get(key)
        if v is None:
            v = self._list_vendors[key] = self._list_vendors[(host, f.file)] = Vendor(
                id=f"list-{f.list_id}", name=domain, company=domain, category="other", uses=("open",),
                domains=(), open=None, click=None, content=None, tracking_hosts=(),
                provenance=({"source": f.list_id, "upstream_name": f.text},), file=f.file)
        self._list_vendors[(host, f.file)] = v
        return v

    def match_redirect(self, host: str, target: str, url: str) -> tuple[str, str, str] | None:
        """(rule id, raw destination, decoder) for a redirect wrapper whose destination is in the URL."""
        return self.judge.match_redirect(host, target, url)

    def is_tracking_param(self, name: str, host: str, url: str) -> bool:
        """Is parameter ``name`` of ``url`` (on ``host``) a tracking parameter?"""
        return self.judge.is_tracking_param(name, host, url)

    def compile_all(self) -> list[str]:
        """Compile every pattern (in the core); the problems found (empty when all compile)."""
        return self.judge.problems()

    def vendor_for_host(self, host: str) -> Vendor | None:
        """The vendor owning a host, if any (for attributing heuristic findings)."""
        c = self.candidates(host)
        return c[0] if c else None


def read_bundled_toml(text: str) -> dict[str, Any]:
    """One of the bundled rule files, read by the core: tomllib costs ~40 ms of every process's start
    on them (the core ~10), and a one-process-per-message ``pipe`` filter pays that per message.
    Only for the bundled files, which a test reads both ways: the core's parser also accepts TOML 1.1,
    so a user's file goes to tomllib, the reading and the error messages users know. Whatever the
    core does not give (a date, which tomllib makes a ``datetime``) is read by tomllib too."""
    data = _core.parse_toml(text)
    return data if data is not None else tomllib.loads(text)


def _bundled_texts() -> Iterator[tuple[str, str]]:
    base = resources.files("tracker_block.ruledata")
    for name in BUNDLED:
        f = base / name
        if f.is_file():
            yield name, f.read_text(encoding="utf-8")


def bundled_lists() -> list[dict]:
    """The bundled filter lists' manifest entries (file, label, links, licence, upstream)."""
    f = resources.files("tracker_block.ruledata") / FILTER_MANIFEST
    return list(read_bundled_toml(f.read_text(encoding="utf-8")).get("list", [])) if f.is_file() else []


def _add_bundled_lists(rules: Rules) -> None:
    """Each bundled list, or the newer copy ``tracker-block rules update`` fetched, if any."""
    from tracker_block.cli.listupdate import updated_copy
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
            rules.add_data(name, read_bundled_toml(text))
    finally:
        _LAZY = False
    _add_bundled_lists(rules)
    for path in extra:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            from tracker_block.cli.listupdate import cache_dir
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
