"""Save the Python HTML collector's answers for tests/test_html_core.py (the Rust pass is compared
with them; the Python implementation is deleted).

    python benchmarks/html_expectations.py      # writes tests/data/html_expectations.json.gz

The Python modules are loaded from git at ``REF`` (the last commit whose tracker_block/ holds
html.py and visibility.py's Resolver, on selectolax/lexbor), so the file can be made again after
they are gone; it is the same bytes on every run. For every document of the test corpus
(keyed by name and SHA-1 of its text) it records what lexbor and the Python code gave: the sites,
the mutation-prone flag, the attributes written without a value and whether a site sits inside a
``<textarea>`` (the two explained differences), lexbor's own serialisation, the rewrite of every
site by the test's deterministic plan, the visibility Resolver's answers with the rules it read,
and each site's link text.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REF = "62ec7fc820f1e9723835043e4de3c44f7eef14c4"
OUT = ROOT / "tests" / "data" / "html_expectations.json.gz"
sys.path.insert(0, str(ROOT / "tests"))


def load_reference() -> types.ModuleType:
    """tracker_block/{heuristics,html,visibility}.py at REF as the package ``tbref`` (its _core is
    today's: the sheet reading the old Resolver used lives there)."""
    from tracker_block import _core
    pkg = types.ModuleType("tbref")
    pkg.__path__ = []
    sys.modules["tbref"] = pkg
    sys.modules["tbref._core"] = pkg._core = _core
    for name in ("heuristics", "html", "visibility"):
        source = subprocess.run(["git", "show", f"{REF}:tracker_block/{name}.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
        module = types.ModuleType(f"tbref.{name}")
        module.__package__ = "tbref"
        sys.modules[module.__name__] = module
        exec(compile(source, f"{REF}:tracker_block/{name}.py", "exec"), module.__dict__)
        setattr(pkg, name, module)
    return pkg


def main() -> None:
    ref = load_reference()
    import test_html_core as t   # the corpus, the rewrite plan and the readers live with the test
    html, visibility, parse_px = ref.html, ref.visibility, ref.heuristics.parse_px
    out = {}
    for name, doc in t.CORPUS.items():
        tree = html.parse(doc)
        sites, prone = html.collect(tree)
        rows = [(s.kind, s.where, s.attr, s.url, s.load, s.width, s.height, s.hidden, s.always, s.css, s.css_mode,
                 s.srcset, s.text) for s in sites]
        entry = {
            "sha1": hashlib.sha1(doc.encode("utf-8", "surrogatepass")).hexdigest(),
            "sites": rows, "prone": prone,
            "textarea": [i for i, s in enumerate(sites) if _in_textarea(s)],
            "valueless": sorted(_valueless(tree)),
            "elements_in_textarea": _elements_in_textarea(tree),
            "link_texts": [html.link_text(s) for s in sites],
        }
        if name in t.TREE_CORPUS:
            entry["serialized"] = html.serialize(tree)
            entry["rewrite"] = _rewrite(html, t, doc)
        entry["resolve"] = _resolve(html, visibility, parse_px, doc)
        out[name] = entry
    OUT.parent.mkdir(exist_ok=True)
    data = json.dumps({"ref": REF, "documents": out}, sort_keys=True, ensure_ascii=False).encode()
    OUT.write_bytes(gzip.compress(data, mtime=0))
    print(f"{len(out)} documents -> {OUT.relative_to(ROOT)} ({OUT.stat().st_size // 1024} KiB)")


def _valueless(tree) -> set[str]:
    out = set()
    for node in tree.root.traverse(include_text=False) if tree.root is not None else ():
        if node.tag and node.tag[0] != "-":
            out.update(f"{node.tag}@{k}" for k, v in node.attributes.items() if v is None)
    return out


def _in_textarea(site) -> bool:
    n = site.node.parent
    while n is not None:
        if n.tag == "textarea":
            return True
        n = n.parent
    return False


def _elements_in_textarea(tree) -> bool:
    for node in tree.css("textarea"):
        if any(n.tag and n.tag[0] != "-" for n in node.traverse(include_text=False) if n is not node
               and n.mem_id != node.mem_id):
            return True
    return False


def _plan(i: int, s) -> tuple[str, str | None]:
    """A deterministic operation for a site, exercising every rewrite the engine has."""
    if s.always == "policy:unwrap-noscript":
        return "unwrap", None
    if s.always == "policy:xmp-as-pre":
        return "xmp_to_pre", None
    if s.always:
        return "remove", None
    if s.css_mode == "comment":
        return "set_comment", (s.css or "").replace("http", "hxxp")
    if s.css is not None:
        return "set_css", "" if i % 3 == 0 else (s.css or "").replace("url(", "x(")
    if s.srcset is not None:
        return "set_attr", "https://p.example/s.png 1x"
    if not s.load:
        return ("set_attr", "https://clean.example/") if i % 2 else ("remove", None)
    if s.where.endswith("@src") and s.attr == "src" and s.node.tag in ("img", "image"):
        return ("placeholder", s.url) if i % 2 else ("remove_element", None)
    return ("set_attr", "https://proxy.example/x") if i % 2 else ("remove", None)


def _rewrite(html, t, doc: str) -> dict:
    """lexbor's output after every site gets the test's planned operation (the engine's order)."""
    tree = html.parse(doc)
    sites, _ = html.collect(tree)
    comments: dict[str, str] = {}
    later, ops = [], []
    simple = {"remove": html.remove, "remove_element": html.remove_element, "unwrap": html.unwrap,
              "xmp_to_pre": html.xmp_to_pre}
    for i, s in enumerate(sites):
        name, arg = _plan(i, s)
        ops.append((i, name, arg))
        if name in simple:
            fn = simple[name]
        elif name == "set_comment":
            fn = lambda site, a=arg: html.set_comment(site, a, comments)   # noqa: E731
        else:
            fn = lambda site, f=getattr(html, name), a=arg: f(site, a)   # noqa: E731
        later.append((fn, s, name == "remove_element" or (name == "remove" and s.attr is None)))
    later.sort(key=lambda item: item[2])
    for fn, s, _ in later:
        fn(s)
    return {"ops": ops, "html": html.serialize(tree, comments)}


def _resolve(html, visibility, parse_px, doc: str):
    tree = html.parse(doc)
    sites, _ = html.collect(tree)
    sheets = tuple(x for x in (n.text(deep=True) or "" for n in tree.css("style"))
                   if x and visibility.sheet_matters(x))
    rules = visibility._rules(sheets) if sheets else ()
    if not rules:
        return None
    resolver = visibility.Resolver(tree, rules)
    answers = []
    for i, s in enumerate(sites):
        if not (s.load and s.kind == "image" and s.always is None and s.css is None and s.attr is not None):
            continue
        if s.node.tag in ("img", "image", "input"):
            attrs = s.node.attributes
            got = resolver.resolve(s.node, parse_px(attrs.get("width")), parse_px(attrs.get("height")))
        else:
            got = (resolver.resolve(s.node, None, None)[0], None, None)
        answers.append((i, resolver.touches(s.node, s.hidden), *got))
    return {"answers": answers,
            "rules": [(r.selector, r.context, [list(d) for d in r.decls], r.hides_or_shows, r.hides) for r in rules]}


if __name__ == "__main__":
    main()
