"""Orchestration: message -> parts -> sites -> verdicts -> actions -> rewritten message + report.

``clean_html`` is the per-document pipeline; ``clean_message`` runs it over every part of a MIME
message and rebuilds the message, touching nothing it did not need to change.
"""
from __future__ import annotations

import functools
import html as html_lib
import re
from email.utils import getaddresses
from typing import Callable, NamedTuple

from . import css, dataurl, html, mime, visibility
from .detect import Detector, ImageStats, Verdict, link_verdict
from .heuristics import Identity, parse_px, size_signal
from .mime import MessageError
from .policy import (COMMENT_NON_IMAGE_TAGS, Options, css_is_visible_image, is_visible_image, load_action,
                     sender_allowed)
from .report import Finding, MessageReport
from .rules import Rules, load_rules
from .urls import NETWORK_SCHEMES, SCRIPT_SCHEMES, absolute, canonical, clean_link, is_remote, normalise, scheme_of

__all__ = ["HtmlResult", "MessageError", "clean_html", "clean_text", "clean_message", "clean_for_report",
           "read_receipt_findings",
           "READ_RECEIPT_HEADERS", "RECIPIENT_HEADERS"]

READ_RECEIPT_HEADERS = ("Disposition-Notification-To", "Return-Receipt-To", "X-Confirm-Reading-To",
                        "Generate-Delivery-Report", "Read-Receipt-To")
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")
# Words that mark an unsubscribe / preferences link (cleaned conservatively), in several languages.
_UNSUBSCRIBE_HINTS = ("unsub", "opt-out", "optout", "opt out", "opt_out", "preferences", "subscription",
                      "abmelden", "abbestellen", "désabonner", "desabonner", "desinscri", "darse de baja",
                      "afmelden", "avregistrera", "disiscriv", "cancelar suscripci")


def _is_unsubscribe(text: str) -> bool:
    low = text.lower()
    for hint in _UNSUBSCRIBE_HINTS:   # a plain loop: cheaper than any() over a generator here
        if hint in low:
            return True
    return False


_TAG_NAME = re.compile(r"<\s*([\w:-]+)")
_HREF_BEFORE = re.compile(r"href\s*=\s*[\"']?$")
_TEXT_URL = re.compile(r"""(?:https?://|www\.)[^\s<>"'`]+""", re.IGNORECASE)


class HtmlResult(NamedTuple):
    html: str
    findings: list[Finding]
    changed: bool


class _LinkPlan(NamedTuple):
    new: str | None          # the rewritten link ("" to remove it), None to keep it as written
    findings: tuple          # (kind, url or None for "as written", action, reason, tracker, certainty, detail)
    asks_text: bool          # would strip parameters: an unsubscribe link text keeps them


@functools.lru_cache(maxsize=1024)
def _plan_link(rules: Rules, identity: Identity, unsubscribe: frozenset[str], clean_links: bool, url: str,
               text_unsubscribes: bool) -> _LinkPlan:
    """Everything about one link that does not depend on where it is: decided once per distinct
    link (a message repeats its links, and again in the text/plain alternative)."""
    scheme = scheme_of(url)
    if scheme in SCRIPT_SCHEMES or scheme == "data":
        return _LinkPlan("", (("script", None, "removed", "policy:script-url", None, "policy", None),), False)
    if scheme not in NETWORK_SCHEMES:
        return _LinkPlan(None, (), False)
    new, cleaned, asked = url, False, []
    if clean_links:
        explicit = absolute(url)

        def conservative(dest: str) -> bool:   # asked only when parameters would be stripped
            if url in unsubscribe or dest in unsubscribe or _is_unsubscribe(dest):
                return True
            asked.append(True)                 # the answer depends on the link's text
            return text_unsubscribes

        res = clean_link(explicit if scheme == "//" else url, rules, conservative)
        unwrapped_by, stripped = res.unwrapped_by, res.stripped
        if res.url != url and res.url != explicit:
            new, cleaned = res.url, True
    findings = []
    v = link_verdict(rules, identity, url)   # judged as written: that is what tells the sender
    if cleaned:
        company = v.company if v else None
        if unwrapped_by:
            findings.append(("link", None, "unwrapped", f"rule:{unwrapped_by}", company, "rule", new))
        else:
            findings.append(("link", None, "cleaned", "rule:tracking-params", company, "rule",
                             f"{new}  (removed: {', '.join(stripped)})"))
        if v is not None:
            v = link_verdict(rules, identity, new)   # what is left after cleaning
    if v is not None:
        detail = ("this link tells the sender it was you" if v.reason.startswith("heuristic:recipient")
                  else "click tracking: the destination cannot be recovered without following it")
        findings.append(("link", new if cleaned else None, "left-marked", v.reason, v.company, v.certainty, detail))
    return _LinkPlan(None if new == url else new, tuple(findings), bool(asked))


def _site_is_image(s: html.Site) -> bool:
    """Does this attribute site load an image the reader sees? (A ``<source>`` only inside ``<picture>``.)"""
    tag = s.node.tag or ""
    return is_visible_image(tag, s.attr or "") and (tag != "source" or s.kind == "image")


class _Cleaner:
    """One document's pass: decides and applies every site, collecting findings."""

    def __init__(self, options: Options, rules: Rules, identity: Identity, part: str,
                 unsubscribe: frozenset[str], sender: str | None = None) -> None:
        self.o, self.rules, self.identity, self.part = options, rules, identity, part
        self.unsubscribe = unsubscribe
        self.findings: list[Finding] = []
        self.comments: dict[str, str] = {}
        self.det = Detector(rules, identity, sender_domain=_domain_of(sender))

    # -------------------------------------------------------------- findings
    def _find(self, kind: str, url: str | None, where: str, action: str, reason: str,
              tracker: str | None = None, certainty: str = "policy", detail: str | None = None) -> None:
        self.findings.append(Finding(kind, url, where, action, reason, tracker, certainty, self.part, detail))

    def _verdict_finding(self, kind: str, url: str, where: str, action: str, v: Verdict | None,
                         policy_reason: str | None) -> None:
        if v is not None and v.tracker:
            kind = "pixel" if kind == "image" and v.use == "open" else kind
            self._find(kind, url, where, action, v.reason, v.company, v.certainty)
        else:
            self._find(kind, url, where, action, policy_reason or "policy", None, "policy")

    # -------------------------------------------------------------- loads
    def judge_load(self, raw: str, kind: str, where: str, width=None, height=None, hidden=False,
                   placeholder_ok: bool = False, image: bool = True) -> tuple[str, str | None]:
        """(action, new_url) for one URL that loads automatically. ``image``: it loads a visible image
        (``policy.is_visible_image``); any other remote load goes in every mode."""
        url = normalise(raw)
        scheme = scheme_of(url)
        if scheme in SCRIPT_SCHEMES:
            self._find("script", raw, where, "removed", "policy:script-url")
            return "remove", None
        if scheme == "data":
            why = dataurl.unsafe_reason(url)
            if why is None:
                return "keep", None
            self._find("script", raw if len(raw) <= 300 else raw[:300] + "…", where, "removed", why)
            return "remove", None
        if scheme in ("file", "smb", "afp", "nfs", "webdav"):
            # file://host/share makes Windows clients open an SMB connection (and send credentials).
            self._find(kind, raw, where, "removed", "policy:no-network-file-url")
            return "remove", None
        if scheme not in NETWORK_SCHEMES:   # not is_remote(url), without reading the scheme again
            return "keep", None
        if self.o.mode == "proxy" and self.o.keyring.target_of(url, self.o.proxy_base) is not None:
            return "keep", None   # already ours (a re-parse round, a forwarded cleaned message)
        v = self.det.load(url, width, height, hidden)
        action, why = load_action(kind, bool(v and v.tracker), self.o, placeholder_ok=placeholder_ok, image=image)
        if action == "keep":
            return "keep", None
        if action == "proxy":
            try:
                target = canonical(url)
            except ValueError:   # a URL no proxy could fetch (bad port, broken IPv6 literal): it goes
                self._find(kind, raw, where, "removed", "policy:unparseable-url")
                return "remove", None
            new = self.o.keyring.sign(target, self.o.proxy_base, self.o.proxy_ttl)
            self._find(kind, raw, where, "proxied", why or "policy:proxy", detail=new)   # detail: the signed URL
            return "proxy", new
        self._verdict_finding(kind, raw, where, "replaced" if action == "placeholder" else "removed", v, why)
        return action, None

    def css_judge(self, base_kind: str, where_prefix: str):
        def judge(url: str, kind: str, where: str):
            if kind == "script":   # expression(), behavior, -moz-binding: ``url`` is the declaration's value
                self._find("script", None, f"{where_prefix}{where}", "removed", "policy:css-script", detail=url)
                return False
            image = kind == "css" and css_is_visible_image(where)
            k = kind if kind != "css" else (base_kind if image else "css")
            action, new = self.judge_load(url, k, f"{where_prefix}{where}", image=image)
            if action == "keep":
                return None
            return new if action == "proxy" else False
        return judge

    # -------------------------------------------------------------- links
    def clean_link(self, raw: str, where: str, text: "str | Callable[[], str]" = "") -> str | None:
        """The cleaned link, or None to keep it as written; records findings.

        ``text`` (the link's text, or a function giving it) is only read when parameters would be
        stripped, to tell an unsubscribe link.
        """
        key = (self.rules, self.identity, self.unsubscribe, self.o.clean_links, normalise(raw))
        plan = _plan_link(*key, False)
        if plan.asks_text and _is_unsubscribe(text() if callable(text) else text):
            plan = _plan_link(*key, True)
        add, part = self.findings.append, self.part
        for kind, url, action, reason, tracker, certainty, detail in plan.findings:
            add(Finding(kind, raw if url is None else url, where, action, reason, tracker, certainty, part, detail))
        return plan.new

    # -------------------------------------------------------------- sites
    def site(self, s: html.Site, later: list) -> bool:
        """Decide and apply one site. Returns True when the document changed."""
        if s.always:
            if s.always == "policy:unwrap-noscript":
                later.append((html.unwrap, s))
                return True
            if s.always == "policy:xmp-as-pre":
                later.append((html.xmp_to_pre, s))
                return True
            url = s.url
            v = None
            if url and is_remote(normalise(url)):
                v = self.det.load(normalise(url))
            self._verdict_finding(s.kind, url, s.where, "removed", v, s.always)
            later.append((html.remove, s))
            return True
        if s.css_mode == "comment":
            return self._comment(s, later)
        if s.css is not None:
            judge = self.css_judge("image", s.where + ":")
            if s.css_mode == "sheet":
                new = css.clean_stylesheet(s.css, judge)
            elif s.css_mode == "block":
                new = css.clean_declarations(s.css, judge)
            else:
                new = css.clean_value(s.css, judge, s.where)
                if new is False:
                    later.append((html.remove, s))
                    return True
            if new is None:
                return False
            later.append((lambda site, text=new: html.set_css(site, text), s))
            return True
        if s.srcset is not None:
            kept, changed = [], False
            image = _site_is_image(s)
            for url, desc in s.srcset:   # each candidate judged on the element's evidence, like its src
                action, new = self.judge_load(url, s.kind, s.where, s.width, s.height, s.hidden, image=image)
                if action == "keep":
                    kept.append(f"{url} {desc}".strip())
                elif action == "proxy":
                    kept.append(f"{new} {desc}".strip())
                    changed = True
                else:
                    changed = True
            if not changed:
                return False
            value = ", ".join(kept)
            later.append((lambda site, v=value: html.set_attr(site, v) if v else html.remove(site), s))
            return True
        if not s.load:
            new = self.clean_link(s.url or "", s.where, lambda: html.link_text(s))
            if new is None:
                return False
            later.append((lambda site, v=new: html.set_attr(site, v) if v else html.remove(site), s))
            return True
        is_img = s.where.endswith("@src") and s.node.tag in ("img", "image")
        action, new = self.judge_load(s.url or "", s.kind, s.where, s.width, s.height, s.hidden,
                                      placeholder_ok=is_img,
                                      image=_site_is_image(s))
        if action == "keep":
            return False
        if action == "proxy":
            later.append((lambda site, v=new: html.set_attr(site, v), s))
        elif action == "placeholder":
            later.append((lambda site, u=s.url: html.placeholder(site, u), s))
        elif is_img or s.where == "input@src":
            later.append((html.remove_element, s))   # a pixel goes whole, not as a broken image
        else:
            later.append((html.remove, s))
        return True

    def _comment(self, s: html.Site, later: list) -> bool:
        """Outlook conditional comments carry markup (VML) with its own URLs: judge each one in place.

        Inside them an ``href`` is a link only on ``<a>``/``<area>`` and VML shapes; on anything else
        (``<link>``, ``<base>``, SVG) it loads, so it is judged as a load.
        """
        text = s.css or ""
        changed = False

        def repl(m: re.Match) -> str:
            nonlocal changed
            written = m.group(1)
            url = html_lib.unescape(written)
            before = text[max(0, m.start() - 12):m.start()].lower()
            lt = text.rfind("<", 0, m.start())
            tag_m = _TAG_NAME.match(text, lt) if lt >= 0 else None
            tag = tag_m.group(1).lower() if tag_m else ""
            if _HREF_BEFORE.search(before) and (tag in html.LINK_TAGS or tag in html.VML_LINK_SHAPES):
                new = self.clean_link(url, f"comment:{tag}@href")
            elif tag in html.DROP_ELEMENTS or tag in ("link", "meta"):
                kind = html.DROP_ELEMENTS.get(tag, "stylesheet" if tag == "link" else "meta")
                self._find(kind, url, f"comment:{tag}", "removed", f"policy:no-{tag}")
                new = ""
            else:
                w, h = _markup_size(text, lt) if tag in ("img", "v:image") else (None, None)
                action, new = self.judge_load(url, "image", f"comment:{tag or '?'}", w, h,
                                              image=tag not in COMMENT_NON_IMAGE_TAGS)
                new = None if action == "keep" else (new if action == "proxy" else "")
            if new is None:
                return written
            changed = True
            return html_lib.escape(new, quote=True)

        new_text = html._URL_IN_COMMENT.sub(repl, text)
        if html.comment_hides_url(new_text):   # a URL only character references reveal: the comment goes
            self._find("image", None, "comment", "removed", "policy:hidden-url-in-comment")
            new_text, changed = "", True
        if html.comment_runs_script(new_text):
            # Renamed so nothing reads it as script or a base URL (x-expression(, x-javascript:, <x-base);
            # if escapes still hide some, the comment goes whole.
            new_text = html.COMMENT_SCRIPT.sub(
                lambda m: "<x-" + m.group(0)[1:] if m.group(0)[0] == "<" else "x-" + m.group(0), new_text)
            if html.comment_runs_script(new_text):
                new_text = ""
            self._find("script", None, "comment", "removed", "policy:script-in-comment")
            changed = True
        if not changed:
            return False
        later.append((lambda site, t=new_text: html.set_comment(site, t, self.comments), s))
        return True

    # -------------------------------------------------------------- document
    def run(self, doc: str, normalize: bool = False) -> tuple[str, bool]:
        """Clean one document. Returns (html, whether it holds mutation-prone markup).

        A mutation-prone document (or any, with ``normalize``) is written back from the parsed tree
        even when no site changed, so that markup other parsers might read differently reaches the
        client exactly as we read it.
        """
        tree = html.parse(doc)
        sites, prone = html.collect(tree)
        _resolve_visibility(tree, sites, self.det)
        self.det.stats = ImageStats.build(
            (absolute(normalise(s.url)), s.width, s.height, s.hidden)
            for s in sites if s.url and s.where.endswith("@src") and s.load)
        later: list = []
        changed = False
        for s in sites:
            changed |= self.site(s, later)
        if not changed:
            return (html.serialize(tree) if normalize or prone else doc), prone
        # Element removals last, and placeholders after style rewrites of the same element.
        later.sort(key=lambda item: (item[0] is html.remove and item[1].attr is None)
                   or item[0] is html.remove_element)
        for fn, s in later:
            fn(s)
        return html.serialize(tree, self.comments), prone


def _resolve_visibility(tree, sites: list, det: Detector) -> None:
    """Hidden-ness and size of image sites as the template's own ``<style>`` draws them.

    Only when the document has remote image sites whose verdict the drawing can change (not
    settled by a rule or the recipient's identity) and a ``<style>`` that can hide, show or size
    something (``visibility.Resolver.for_document``); otherwise the inline reading stands.
    """
    images = [s for s in sites if s.load and s.kind == "image" and s.always is None and s.css is None
              and s.attr is not None and not _settled(det, s)]
    if not images:
        return
    resolver = visibility.Resolver.for_document(
        tree, any(s.hidden or size_signal(s.width, s.height) for s in images))
    if resolver is None:
        return
    for s in images:
        node = s.node
        if not resolver.touches(node, s.hidden):
            continue
        if node.tag in ("img", "image", "input"):
            attrs = node.attributes
            s.hidden, w, h = resolver.resolve(node, parse_px(attrs.get("width")), parse_px(attrs.get("height")))
            if size_signal(w, h) != size_signal(s.width, s.height):   # else the written size stands
                s.width, s.height = w, h                               # (placeholders are drawn with it)
            s.hidden = s.hidden or (node.tag == "input" and (attrs.get("type") or "").lower() == "hidden")
        else:
            s.hidden = resolver.resolve(node, None, None)[0]


_SIZE_ATTR = re.compile(r"""\b(width|height|style)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def _markup_size(text: str, start: int) -> tuple[float | None, float | None]:
    """Size of the image tag starting at ``start`` in comment markup (VML ``v:image``, ``<img>`` for
    Outlook): the same evidence an image outside a comment gets from its attributes and style."""
    end = text.find(">", start)
    attrs = {m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or ""
             for m in _SIZE_ATTR.finditer(text, start, end if end > 0 else len(text))}
    return html.element_size(attrs)


def _settled(det: Detector, s: html.Site) -> bool:
    urls = [u for u, _ in s.srcset] if s.srcset is not None else [s.url or ""]
    for u in urls:
        url = normalise(u)
        if scheme_of(url) in NETWORK_SCHEMES and not det.settled(url):
            return False
    return True


def _domain_of(address: str | None) -> str | None:
    """The domain of an e-mail address (None when there is none)."""
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().strip(">").lower() or None


def _default_rules(options: Options) -> Rules:
    return load_rules(tuple(options.extra_rules))


@functools.lru_cache(maxsize=32)
def _identity(addresses: tuple[str, ...]) -> Identity:
    """One Identity per recipient set: it is immutable, and the per-URL verdict caches in
    ``detect`` are keyed by it, so the parts of a message (and a mailbox for one person) share them."""
    return Identity(addresses)


def clean_html(html_text: str, options: Options | None = None, *, recipients: tuple[str, ...] = (),
               unsubscribe: frozenset[str] = frozenset(), part: str = "", sender: str | None = None) -> HtmlResult:
    """Clean one HTML document; the result keeps everything the policy allows, byte for byte when unchanged.

    ``sender`` (the From address) lets tracking subdomains of the sender's own domain count as a signal."""
    opts = options or Options()
    rules = _default_rules(opts)
    identity = _identity(tuple(recipients) + tuple(opts.recipients))
    cleaner = _Cleaner(opts, rules, identity, part, unsubscribe, sender)
    out, prone = cleaner.run(html_text)
    if prone:
        # Foreign content, forms, raw-text elements: a browser re-parsing our output must see no
        # more than we did. Re-parse and clean until the output is a fixed point.
        for _ in range(3):
            again = _Cleaner(opts, rules, identity, part, unsubscribe, sender)
            out2, _ = again.run(out, normalize=True)
            if out2 == out:
                break
            cleaner.findings.extend(f for f in again.findings if f.action != "left-marked")
            out = out2
        else:
            cleaner.findings.append(Finding("object", None, "document", "removed", "policy:unstable-markup",
                                            None, "policy", part))
            from html import escape
            out = f"<pre>{escape(html_text)}</pre>"
    return HtmlResult(out, cleaner.findings, out != html_text)


def clean_text(text: str, options: Options | None = None, *, recipients: tuple[str, ...] = (),
               unsubscribe: frozenset[str] = frozenset(), part: str = "") -> tuple[str, list[Finding]]:
    """Clean the links of a text/plain part (nothing in plain text loads by itself)."""
    opts = options or Options()
    cleaner = _Cleaner(opts, _default_rules(opts), _identity(tuple(recipients) + tuple(opts.recipients)), part,
                       unsubscribe)

    def repl(m: re.Match) -> str:
        url = m.group(0)
        trail = ""
        while url and url[-1] in ".,;:!?)]}>'\"":
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            trail, url = url[-1] + trail, url[:-1]
        if url.lower().startswith("www."):
            return m.group(0)
        line_start = text.rfind("\n", 0, m.start()) + 1
        new = cleaner.clean_link(url, "text", text[line_start:m.start()])
        return (new if new else url) + trail

    out = _TEXT_URL.sub(repl, text) if ("http" in text or "HTTP" in text) else text
    return out, cleaner.findings


def read_receipt_findings(get_all: Callable[[str], list], keep: bool) -> list[Finding]:
    """One finding per read-receipt request; ``get_all(name)`` gives a header's values (any case)."""
    return [Finding("header", str(value), f"header:{name}", "left-marked" if keep else "removed",
                    "rule:read-receipt-request", None, "rule", "")
            for name in READ_RECEIPT_HEADERS for value in get_all(name)]


def _raw_values(msg, name: str) -> list[str]:
    """A header's values as written (unfolded), without the stdlib's structured parsing, which can
    raise on malformed address headers (found by fuzzing)."""
    low = name.lower()
    return [" ".join(str(v).split()) for k, v in msg.raw_items() if k.lower() == low]


def _addresses(msg, names) -> list[str]:
    values = [v for n in names for v in _raw_values(msg, n)]
    try:
        return [a for _, a in getaddresses(values) if a and "@" in a]
    except Exception:  # noqa: BLE001 - a hostile header must not stop cleaning
        return []


def _header(msg, name: str) -> str | None:
    try:
        v = msg.get(name)
    except Exception:  # malformed header values must not stop cleaning
        return None
    return None if v is None else str(v)


def clean_message(raw: bytes, options: Options | None = None, *, path: str | None = None
                  ) -> tuple[bytes, MessageReport]:
    """Clean a whole MIME message. Raises MessageError if ``raw`` is not a mail message at all."""
    opts = options or Options()
    _default_rules(opts)   # a broken rule file is a configuration error, not a per-part one
    parsed = mime.parse(raw)
    msg = parsed.msg
    report = MessageReport(path=path, message_id=_header(msg, "Message-ID"), sender=_header(msg, "From"),
                           subject=_header(msg, "Subject"), date=_header(msg, "Date"))
    report.errors.extend(parsed.errors)
    sender = (_addresses(msg, ("From",)) or [None])[0]
    if sender_allowed(sender, opts):
        report.allowlisted = True   # "allowlisted, not checked": never shown as "no trackers found"
        return raw, report
    recipients = tuple(_addresses(msg, RECIPIENT_HEADERS))
    unsub = frozenset(re.findall(r"<(https?://[^>]+)>", _header(msg, "List-Unsubscribe") or ""))
    receipts = read_receipt_findings(lambda name: _raw_values(msg, name), opts.keep_read_receipts)
    report.findings.extend(receipts)
    drop = [] if opts.keep_read_receipts else sorted({f.where.split(":", 1)[1] for f in receipts})
    new_texts: dict[str, str] = {}
    for part in parsed.parts:
        if part.is_attachment:
            continue
        try:
            if part.subtype == "html":
                res = clean_html(part.text, opts, recipients=recipients, unsubscribe=unsub, part=part.path,
                                 sender=sender)
                new, findings, changed = res.html, res.findings, res.changed
            else:
                new, findings = clean_text(part.text, opts, recipients=recipients, unsubscribe=unsub,
                                           part=part.path)
                changed = new != part.text
        except Exception as exc:  # a bug on one part must not lose the message
            report.errors.append(f"part {part.path}: could not be cleaned ({type(exc).__name__}: {exc})")
            continue
        report.findings.extend(findings)
        if changed:
            new_texts[part.path] = new
    if not new_texts and not drop:
        return raw, report
    try:
        return mime.rebuild(parsed, new_texts, drop), report
    except MessageError as exc:
        # Cleaning found things but the message cannot be written back: say so, change nothing.
        report.errors.append(f"could not write the cleaned message ({exc}); left unchanged")
        return raw, report


def clean_for_report(raw: bytes, options: Options | None = None, *, path: str | None = None
                     ) -> tuple[bytes | None, MessageReport]:
    """``clean_message`` for callers that work through whole mailboxes (the CLI's workers, IMAP): it
    never raises. A message that cannot be read gives an ``unreadable`` report with its ``error``; a
    readable one also gets its identity leaks. The bytes are None when nothing changed."""
    from .report import find_leaks, recipients_of   # the report module imports this one lazily too
    try:
        cleaned, report = clean_message(raw, options, path=path)
    except MessageError as exc:
        error = "not a mail message: " + _without_path(str(exc), path)
    except RecursionError:
        error = "message too deeply nested to process"
    except Exception as exc:  # noqa: BLE001 - a bug must not end a 100,000-message run
        error = f"internal error ({type(exc).__name__}: {_without_path(str(exc), path)})"
    else:
        report.path = path
        if report.findings:
            report.leaks = find_leaks(report, recipients_of(raw, options))
        return (cleaned if cleaned != raw else None), report
    return None, MessageReport(path=path, unreadable=True, error=error)


def _without_path(text: str, path: str | None) -> str:
    """An error's text without the ``path: `` its caller will show anyway."""
    return text[len(path) + 2:] if path and text.startswith(path + ": ") else text or "unreadable"


def clear_caches() -> None:
    """Forget every per-URL and per-style cache (benchmarks use this to time mail as never seen)."""
    from . import heuristics, urls
    for module in (heuristics, html, urls, visibility):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()
    _identity.cache_clear()
    _plan_link.cache_clear()
