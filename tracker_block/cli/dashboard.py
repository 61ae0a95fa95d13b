"""``tracker-block report``: one self-contained HTML dashboard of who tracks your mail.

Self-contained on purpose: the dashboard is about privacy, so opening it must fetch nothing
(inline CSS and SVG, no fonts, no CDN; a Content-Security-Policy that forbids every remote
load and allows only the one inline script, by hash). Every string that comes from mail is
HTML-escaped; the dashboard must not become the injection vector it reports on.
Aggregates are streamed, so a 100,000-message mailbox costs counters, not copies; the
message table keeps the first ``max_rows`` messages.
"""
from __future__ import annotations

import base64
import hashlib
import html
import math
import os
import time
from collections import Counter
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker_block.engine.report import STATUS_NOTE, STATUS_WORDS, plural

if TYPE_CHECKING:
    from tracker_block.engine.report import MessageReport

_RECEIPTS = ("disposition-notification-to", "return-receipt-to", "x-confirm-reading-to")


def esc(value: Any) -> str:
    """Escape for HTML text and attribute values (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def _addr(sender: str | None) -> str:
    a = parseaddr(sender or "")[1]
    return (a or sender or "(unknown)").lower()


def _month(date: str | None) -> str | None:
    if not date:
        return None
    try:
        d = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return None
    if d is None or not 1970 <= d.year <= 2100:
        return None
    return f"{d.year:04d}-{d.month:02d}"


def _iso(date: str | None) -> str:
    try:
        d = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError, IndexError):
        d = None
    return d.strftime("%Y-%m-%d %H:%M") if d else ""


class Collector:
    """Streams per-message reports into the dashboard's aggregates.

    Aggregates (counts, charts, top lists) cover every message whatever the mailbox size;
    per-message detail is kept for the first ``max_rows`` messages only (``max_findings``
    findings each), and the page says so and points to the JSON report for the rest. That
    keeps a 10,000-message dashboard near 1 MB instead of 130 MB.
    """

    def __init__(self, max_rows: int = 250, max_findings: int = 10, max_leaks: int = 200,
                 max_errors: int = 200) -> None:
        self.max_rows, self.max_findings = max_rows, max_findings
        self.max_leaks, self.max_errors = max_leaks, max_errors
        # tracked: a tracking device was taken out; links_only: the only tracking left is links, marked
        self.messages = self.tracked = self.links_only = self.still_tracked = self.failed = self.allowlisted = 0
        self.receipts = self.leak_messages = 0
        self.totals: Counter[str] = Counter()           # report.summary() over every message
        self.months: dict[str, list[int]] = {}        # YYYY-MM -> [messages, with trackers]
        self.undated = [0, 0]
        self.companies: Counter[str] = Counter()        # messages per company named by a rule
        self.senders: Counter[str] = Counter()          # messages with trackers per sender
        self.kinds: Counter[str] = Counter()
        self.leaks: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.errors: list[tuple[str, str]] = []

    def add(self, rep: "MessageReport", failed: bool = False) -> None:
        if failed:
            self.failed += 1
            if len(self.errors) < self.max_errors:
                self.errors.append((rep.path or "-", rep.error or "; ".join(rep.errors)))
            return
        self.messages += 1
        status = rep.status
        trackers = rep.tracking
        tracked = rep.trackers_taken_out
        self.links_only += bool(trackers) and not tracked
        self.allowlisted += status == "allowlisted"
        self.still_tracked += status == "tracked"
        summary = rep.summary()
        summary["trackers_removed"] -= sum(1 for f in rep.findings if f.kind == "header" and f.outcome == "removed")
        self.totals.update(summary)
        sender = _addr(rep.sender)
        month = _month(rep.date)
        bucket = self.months.setdefault(month, [0, 0]) if month else self.undated
        bucket[0] += 1
        if trackers:
            self.senders[sender] += 1
            for f in trackers:
                self.kinds[f.kind] += 1
        if tracked:
            self.tracked += 1
            bucket[1] += 1
        self.companies.update(rep.companies())
        if any(f.kind == "header" and any(h in (f.where or "").lower() for h in _RECEIPTS) for f in rep.findings):
            self.receipts += 1
        if rep.leaks:
            self.leak_messages += 1
            by_url = {f.url: f for f in rep.findings if f.url}
            for url in rep.leaks:
                if len(self.leaks) < self.max_leaks:
                    f = by_url.get(url)
                    self.leaks.append({"date": _iso(rep.date), "sender": rep.sender, "subject": rep.subject,
                                       "url": url, "tracker": f.company if f else None,
                                       "outcome": f.outcome if f else ""})
        if len(self.rows) < self.max_rows:
            shown = rep.findings[: self.max_findings]
            self.rows.append({
                "path": rep.path, "date": _iso(rep.date), "sender": rep.sender, "subject": rep.subject,
                "status": status, "trackers": len(trackers), "companies": rep.companies(), "leak": bool(rep.leaks),
                "findings": [(f.kind, f.outcome, f.company, f.reason, f.url)
                             for f in shown],
                "more": len(rep.findings) - len(shown), "warnings": list(rep.errors),
            })

    # ------------------------------------------------------------ rendering

    def render(self, title: str = "Email tracking report", json_name: str | None = None) -> str:
        share = self.tracked / self.messages if self.messages else 0.0
        script = _SCRIPT
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        csp = (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
               f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")
        t = self.totals
        kpis = [
            ("messages", "Messages scanned", f"{self.messages:,}",
             f"{self.allowlisted:,} allowlisted, not checked" if self.allowlisted else ""),
            ("tracked", "With trackers", f"{self.tracked:,}", f"{share:.1%} of mail"),
            ("removed", "Trackers removed", f"{t['trackers_removed']:,}",
             f"{t['other_removed']:,} other remote loads removed" if t["other_removed"] else ""),
            ("cleaned", "Links cleaned", f"{t['links_cleaned']:,}", "tracking parts removed"),
            ("left", "Tracked links left, marked", f"{t['left_marked']:,}",
             f"in {self.still_tracked:,} {'message' if self.still_tracked == 1 else 'messages'}: still track if clicked"),
            ("companies", "Tracking companies", f"{len(self.companies):,}", "named by the rules"),
            ("leaks", "Identity leaks", f"{self.leak_messages:,}", "messages with your address in a URL"),
            ("receipts", "Read-receipt requests", f"{self.receipts:,}", ""),
            ("errors", "Could not read", f"{self.failed:,}", ""),
        ]
        cards = "".join(
            f'<div class="kpi{" warn" if key in ("tracked", "leaks", "left") and val != "0" else ""}">'
            f'<div class="kpi-label">{esc(label)}</div><div class="kpi-value" id="kpi-{key}">{esc(val)}</div>'
            f'<div class="kpi-sub">{esc(sub)}</div></div>'
            for key, label, val, sub in kpis)
        generated = time.strftime("%Y-%m-%d %H:%M")
        parts = [
            "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
            f'<header><h1>{esc(title)}</h1><p class="muted">Generated by tracker-block on {esc(generated)}. '
            "This file is self-contained: opening it loads nothing from the network.</p></header>",
            f'<section class="kpis">{cards}</section>',
            '<section class="grid">',
            _card("Share of mail with trackers", _donut(self.tracked, self.messages, self.links_only), "share"),
            _card("Trackers over time", self._timeline(), "timeline", wide=True),
            "</section>",
            '<section class="grid">',
            _card("Tracking companies", _hbars(self.companies.most_common(15), "company", "messages"), "companies"),
            _card("Senders of tracking mail", _hbars(self.senders.most_common(15), "sender", "messages"),
                  "senders"),
            _card("Trackers by kind", _hbars(self.kinds.most_common(10), "kind", "trackers (links cleaned of utm_ "
                                                                               "parameters are not counted)"), "kinds"),
            "</section>",
            self._leaks_html(),
            self._table_html(json_name),
            self._errors_html(),
            f"<script>{script}</script></body></html>",
        ]
        return "\n".join(parts)

    def _timeline(self) -> str:
        if not self.months:
            return '<p class="muted">No dated messages.</p>'
        first, last = min(self.months), max(self.months)
        months = []
        y, m = map(int, first.split("-"))
        while f"{y:04d}-{m:02d}" <= last and len(months) < 600:
            months.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        data = [(k, *self.months.get(k, [0, 0])) for k in months]
        peak = max(t for _k, t, _x in data) or 1
        tick = _nice_step(peak / 4)
        ticks = math.ceil(peak / tick)
        top = tick * ticks
        w, h, left, bottom = 720, 220, 40, 28
        bw = (w - left - 10) / len(data)
        out = [f'<svg viewBox="0 0 {w} {h}" class="chart" role="img" aria-label="messages per month">']
        for i in range(ticks + 1):
            v = tick * i
            yy = h - bottom - (h - bottom - 12) * i / ticks
            out.append(f'<line x1="{left}" x2="{w - 6}" y1="{yy:.1f}" y2="{yy:.1f}" class="gridline"/>'
                       f'<text x="{left - 6}" y="{yy + 4:.1f}" class="axis" text-anchor="end">{round(v):,}</text>')
        step = max(1, math.ceil(len(data) / 12))
        for i, (k, total, tracked) in enumerate(data):
            x = left + i * bw + bw * 0.12
            bwid = max(bw * 0.76, 1)
            ht = (h - bottom - 12) * total / top
            htr = (h - bottom - 12) * tracked / top
            base = h - bottom
            out.append(f'<g class="month" data-month="{esc(k)}" data-total="{total}" data-tracked="{tracked}">'
                       f"<title>{esc(k)}: {tracked} of {total} with trackers</title>"
                       f'<rect x="{x:.1f}" y="{base - ht:.1f}" width="{bwid:.1f}" height="{ht:.1f}" class="clean"/>'
                       f'<rect x="{x:.1f}" y="{base - htr:.1f}" width="{bwid:.1f}" height="{htr:.1f}" class="tracked"/></g>')
            if i % step == 0:
                out.append(f'<text x="{x + bwid / 2:.1f}" y="{h - 10}" class="axis" text-anchor="middle">{esc(k)}</text>')
        out.append("</svg>")
        legend = ('<div class="legend"><span class="sw tracked"></span>with trackers '
                  '<span class="sw clean"></span>without</div>')
        undated = f'<p class="muted">{plural(self.undated[0], "message")} without a readable date not shown.</p>' \
            if self.undated[0] else ""
        return "".join(out) + legend + undated

    def _leaks_html(self) -> str:
        if not self.leaks:
            body = '<p class="muted">No message carried your address (plain, encoded or hashed) in a URL.</p>'
        else:
            rows = "".join(
                f"<tr><td>{esc(x['date'])}</td><td>{esc(x['sender'])}</td><td>{esc(x['subject'])}</td>"
                f"<td>{esc(x['tracker'] or '-')}</td><td class=\"st\">{esc(x['outcome'])}</td>"
                f'<td class="url">{esc(x["url"])}</td></tr>' for x in self.leaks)
            shown = len(self.leaks)
            total = f" (the first {shown:,} links shown)" if shown == self.max_leaks else ""
            body = (f'<p>{plural(self.leak_messages, "message")} told the sender exactly who opened or clicked: '
                    f"your address was inside a URL, in plain, encoded or hashed form{total}. "
                    "Unsubscribe links, which have to name you, are not counted.</p>"
                    '<div class="scroll"><table class="sortable" id="leaks"><thead><tr><th>Date</th><th>From</th>'
                    f"<th>Subject</th><th>Tracker</th><th>Done</th><th>URL</th></tr></thead><tbody>{rows}</tbody>"
                    "</table></div>")
        return f'<section class="card" id="leaks-card"><h2>Recipient-identity leaks</h2>{body}</section>'

    def _table_html(self, json_name: str | None = None) -> str:
        rows = []
        for r in self.rows:
            finds = "".join(
                f"<li><b>{esc(outcome)}</b> {esc(kind)} · {esc(tracker or 'unnamed')} · "
                f'<span class="muted">{esc(reason)}</span><br><span class="url">{esc(url or "")}</span></li>'
                for kind, outcome, tracker, reason, url in r["findings"])
            if r["more"]:
                finds += f'<li class="muted">… and {r["more"]:,} more in the JSON report</li>'
            for e in r["warnings"]:
                finds += f'<li class="err">warning: {esc(e)}</li>'
            n = len(r["findings"]) + r["more"]
            detail = (f"<details><summary>{plural(n, 'finding')}</summary><ul>{finds}</ul></details>"
                      if finds else f'<span class="muted">{esc(STATUS_NOTE.get(r["status"], "none"))}</span>')
            badge = '<span class="badge leak">leak</span>' if r["leak"] else ""
            cls = "t" if r["trackers"] else "c"
            rows.append(
                f'<tr class="{cls}"><td data-v="{esc(r["date"])}">{esc(r["date"])}</td><td>{esc(r["sender"])}</td>'
                f'<td title="{esc(r["path"])}">{esc(r["subject"])}</td>'
                f'<td class="st st-{esc(r["status"])}">{esc(STATUS_WORDS[r["status"]])}</td>'
                f'<td data-v="{r["trackers"]}" class="num">{r["trackers"]}</td>'
                f"<td>{esc(', '.join(r['companies']))}{badge}</td><td>{detail}</td></tr>")
        note = ""
        if self.messages > len(self.rows):
            where = (f'the JSON report <a href="{esc(json_name)}">{esc(json_name)}</a>' if json_name else
                     "the JSON report (<code>tracker-block report … --json-out FILE.json</code>, "
                     "or <code>tracker-block scan … --json</code>)")
            note = (f'<p class="note" id="rows-note">Details of the first {len(self.rows):,} of '
                    f"{self.messages:,} messages; the charts and counts above cover all of them. "
                    f"Every message is in {where}.</p>")
        return ('<section class="card" id="messages-card"><h2>Messages</h2>'
                '<p class="muted">Click a column heading to sort.</p>' + note +
                '<div class="scroll"><table class="sortable" id="messages"><thead><tr>'
                '<th data-type="text">Date</th><th>From</th><th>Subject</th><th>Status</th>'
                '<th data-type="num">Trackers</th>'
                f'<th>Companies</th><th>Findings</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div></section>')

    def _errors_html(self) -> str:
        if not self.errors:
            return ""
        items = "".join(f"<li><code>{esc(p)}</code>: {esc(e)}</li>" for p, e in self.errors)
        more = f'<p class="muted">… and {self.failed - len(self.errors):,} more.</p>' if self.failed > len(self.errors) else ""
        return f'<section class="card" id="errors-card"><h2>Could not read</h2><ul>{items}</ul>{more}</section>'

    def write(self, path: str | os.PathLike[str], title: str = "Email tracking report",
              json_name: str | None = None) -> None:
        """Write the HTML atomically (a half-written dashboard is worse than none); the folder must exist."""
        text = self.render(title, json_name)
        from tracker_block.cli.mailbox import atomic_write
        atomic_write(Path(path), text.encode("utf-8", "backslashreplace"), mode=0o644)




def _nice_step(raw: float) -> int:
    """1, 2, 5, 10, 20, 50... the smallest axis step at least ``raw``."""
    mag = 10 ** max(0, math.floor(math.log10(max(raw, 1))))
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return int(m * mag)
    return int(10 * mag)


def _card(title: str, body: str, ident: str, wide: bool = False) -> str:
    return f'<section class="card{" wide" if wide else ""}" id="{ident}-card"><h2>{esc(title)}</h2>{body}</section>'


def _donut(part: int, total: int, links_only: int = 0) -> str:
    r, c = 70, 2 * math.pi * 70
    frac = part / total if total else 0
    more = (f'<p class="muted center small" id="links-only">{plural(links_only, "more message")} '
            f"carried only click-tracking links, left, marked</p>") if links_only else ""
    return (f'<svg viewBox="0 0 200 200" class="donut" role="img" aria-label="share tracked">'
            f'<circle cx="100" cy="100" r="{r}" class="ring"/>'
            f'<circle cx="100" cy="100" r="{r}" class="ring-val" stroke-dasharray="{c * frac:.2f} {c:.2f}" '
            f'transform="rotate(-90 100 100)"/>'
            f'<text x="100" y="98" text-anchor="middle" class="donut-big" id="share">{frac:.1%}</text>'
            f'<text x="100" y="122" text-anchor="middle" class="donut-small">{part:,} of {total:,}</text></svg>'
            '<p class="muted center">of messages carried a tracker that cleaning takes out</p>' + more)


def _hbars(items: list[tuple[str, int]], what: str, unit: str) -> str:
    if not items:
        return '<p class="muted">None found.</p>'
    top = max(n for _l, n in items) or 1
    rows = []
    for label, n in items:
        rows.append(f'<div class="hbar" data-{what}="{esc(label)}" data-value="{n}">'
                    f'<div class="hbar-label" title="{esc(label)}">{esc(label)}</div>'
                    f'<div class="hbar-track"><div class="hbar-fill" style="width:{100 * n / top:.1f}%"></div></div>'
                    f'<div class="hbar-num">{n:,}</div></div>')
    return f'<div class="hbars" aria-label="{esc(unit)}">{"".join(rows)}</div><p class="muted small">{esc(unit)}</p>'


_CSS = """
:root{--bg:#f4f5f7;--card:#fff;--ink:#1d2330;--muted:#6b7280;--line:#e5e7eb;--red:#e0464e;--red2:#fde8e9;
--grey:#cfd5de;--accent:#3b5bdb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif;padding:28px 32px 48px}
header h1{margin:0 0 4px;font-size:26px;letter-spacing:-.01em}
.muted{color:var(--muted)}.small{font-size:12px;margin:6px 0 0}.center{text-align:center;margin-top:0}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:14px;margin:22px 0}
.kpi{background:var(--card);border-radius:12px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.06);
border-top:4px solid var(--accent)}
.kpi.warn{border-top-color:var(--red)}
.kpi-label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.kpi-value{font-size:30px;font-weight:700;margin-top:2px}.kpi-sub{color:var(--muted);font-size:12px;min-height:1em}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:14px;margin-bottom:14px}
.card{background:var(--card);border-radius:12px;padding:16px 18px;box-shadow:0 1px 2px rgba(0,0,0,.06);
margin-bottom:14px;min-width:0}
.grid .card{margin-bottom:0}.card.wide{grid-column:span 2}
@media (max-width:760px){.card.wide{grid-column:span 1}}
h2{font-size:15px;margin:0 0 12px}
.chart{width:100%;height:auto}.gridline{stroke:var(--line)}.axis{font-size:11px;fill:var(--muted)}
rect.clean{fill:var(--grey)}rect.tracked{fill:var(--red)}
.legend{font-size:12px;color:var(--muted);margin-top:4px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}
.sw.tracked{background:var(--red)}.sw.clean{background:var(--grey)}
.donut{display:block;width:190px;margin:0 auto}.ring{fill:none;stroke:var(--grey);stroke-width:24}
.ring-val{fill:none;stroke:var(--red);stroke-width:24}
.donut-big{font-size:30px;font-weight:700;fill:var(--ink)}.donut-small{font-size:13px;fill:var(--muted)}
.hbar{display:grid;grid-template-columns:minmax(90px,46%) 1fr 48px;align-items:center;gap:8px;margin:5px 0}
.hbar-label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:13px}
.hbar-track{background:#f0f1f4;border-radius:4px;height:14px}
.hbar-fill{background:linear-gradient(90deg,#ff7a59,var(--red));height:14px;border-radius:4px;min-width:2px}
.hbar-num{text-align:right;font-variant-numeric:tabular-nums;font-size:13px}
.scroll{overflow:auto;max-height:640px}
table{border-collapse:collapse;width:100%;font-size:13px}
th{position:sticky;top:0;background:#fafbfc;text-align:left;padding:8px;border-bottom:2px solid var(--line);
cursor:pointer;user-select:none;white-space:nowrap}
th:hover{color:var(--accent)}th[data-dir=asc]::after{content:" ▲"}th[data-dir=desc]::after{content:" ▼"}
td{padding:7px 8px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
tr.t td:first-child{box-shadow:inset 3px 0 0 var(--red)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.url{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11px;color:#4b5563;
overflow-wrap:anywhere}
details summary{cursor:pointer;color:var(--accent)}details ul{margin:6px 0 0;padding-left:18px}
.badge{display:inline-block;margin-left:6px;padding:0 6px;border-radius:8px;font-size:11px}
.badge.leak{background:var(--red2);color:var(--red)}.err{color:var(--red)}
.note{background:#fff8e1;border-left:3px solid #f0b400;padding:6px 10px;border-radius:4px}
.st{white-space:nowrap}.st-tracked{color:#b45309;font-weight:600}.st-cleaned,.st-clean{color:#15803d}
.st-allowlisted{color:var(--muted);font-style:italic}
"""

_SCRIPT = """
document.documentElement.setAttribute('data-ready','1');
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var asc=th.dataset.dir!=='asc',num=th.dataset.type==='num',b=t.tBodies[0];
      t.querySelectorAll('th').forEach(function(h){delete h.dataset.dir});
      th.dataset.dir=asc?'asc':'desc';
      var rows=Array.prototype.slice.call(b.rows);
      rows.sort(function(a,c){
        var x=a.cells[i].dataset.v,y=c.cells[i].dataset.v;
        if(x===undefined){x=a.cells[i].textContent;y=c.cells[i].textContent}
        if(num){x=+x;y=+y}
        return (x<y?-1:x>y?1:0)*(asc?1:-1);
      });
      rows.forEach(function(r){b.appendChild(r)});
    });
  });
});
"""
