"""Deterministic generator of realistic marketing and transactional HTML mail, for benchmarks.

Why generated and not collected: real newsletters carry real people's data, and megabytes of
fixtures rot. Message ``i`` is a pure function of ``i`` (seeded ``random.Random``, no data
files, no clock), so every run and every machine benchmarks the same bytes.

What the bodies look like (because this is what costs time in real mail): 20-150 KB, nested
600 px layout tables, an inline ``style`` on almost every cell, a head ``<style>`` with media
queries, Outlook VML in ``<!--[if mso]>`` conditional comments, hosted images on ESP CDNs,
1-3 tracking pixels with real vendor URL shapes, 100-300 character tracked links carrying
``utm_*`` parameters, and a long legal footer.

Heavy-style bodies (``generate_html(i, style="heavy")`` = :func:`generate_heavy_style_html`):
the same body ``i`` plus a 20-60 KB head ``<style>`` as ESP templates ship it (web fonts,
component classes, mobile breakpoints, dark mode repeated for Outlook.com's ``[data-ogsc]``,
30-90 ``url()`` backgrounds, sometimes a Litmus CSS beacon).

API: :func:`generate_html`, :func:`generate_message`, :func:`corpus`, :func:`heavy_corpus`.
CLI (streams, constant memory; ``--style heavy`` for the heavy-style bodies)::

    python benchmarks/gen.py mbox OUT.mbox -n 10000
    python benchmarks/gen.py maildir OUTDIR -n 1000
    python benchmarks/gen.py eml OUTDIR -n 20        # one .eml per message
    python benchmarks/gen.py html OUTDIR -n 20       # bare HTML bodies
"""
from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import os
import random
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape, unescape
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote, urlencode

MIN_SIZE = 20_000
MAX_SIZE = 150_000
RECIPIENT = "ana.pereira@example.org"   # every generated message is addressed here
_SEED = "tracker-block-bench-v1"
_EPOCH = datetime(2024, 3, 4, 8, 0, tzinfo=timezone.utc)

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_B64URL = _ALNUM + "-_"

_BRANDS = [
    ("Juniper Street Coffee", "junipercoffee.example.com", "#2b2118"),
    ("Northfold Outdoor", "northfold.example.com", "#27332d"),
    ("Linden Home", "lindenhome.example.com", "#2e5e4e"),
    ("Parcel Hop", "parcelhop.example.net", "#0b63ce"),
    ("Brightwave Energy", "brightwave.example.org", "#f29d0b"),
    ("Atlas Books", "atlasbooks.example.com", "#7a2e3b"),
    ("Kettle & Crumb", "kettlecrumb.example.net", "#9c5a2c"),
    ("Skyline Air", "skylineair.example.com", "#123c69"),
    ("Ferro Bikes", "ferrobikes.example.org", "#c4432b"),
    ("Verdant Bank", "verdantbank.example.com", "#1f6f50"),
]
_WORDS = (
    "new season collection limited offer members early access free shipping order today "
    "discover favourite handmade sustainable organic fresh everyday essentials classic "
    "update account delivery tracking receipt invoice payment confirmed refund returns "
    "weekend sale exclusive save percent gift card rewards points friends family "
    "warm light durable comfortable crafted designed tested trusted local community "
    "recipe story behind scenes roaster workshop studio team journey mountain river "
    "city coffee tea linen wool merino ceramic walnut oak copper leather canvas cotton "
    "quickly simply carefully together better brighter calmer greener kinder smarter "
    "you your our we this that these every more less just still only also again"
).split()
_NON_ASCII = ["café", "€", "—", "naïve", "Zürich", "crème", "’", "…", "½", "São Paulo"]


def _token(rng: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    return "".join(rng.choices(alphabet, k=n))


def _hex(rng: random.Random, n: int) -> str:
    return "%0*x" % (n, rng.getrandbits(4 * n))


def _fit(url: str, lo: int, hi: int, rng: random.Random, pad_key: str = "_bt") -> str:
    """Pad or trim a URL into ``lo..hi`` characters, the range real tracked links fall in."""
    if len(url) < lo:
        sep = "&" if "?" in url else "?"
        url += f"{sep}{pad_key}=" + _token(rng, max(1, lo - len(url) - len(pad_key) - 2 + rng.randint(0, 40)), _B64URL)
    return url[:hi]


# --------------------------------------------------------------------------- vendors
@dataclass(frozen=True)
class Vendor:
    """How one email service provider tracks opens and clicks (URL shapes as seen in the wild)."""

    name: str
    pixel: Callable[[random.Random, "_Ctx"], str]
    wrap: Callable[[random.Random, "_Ctx", str], str]
    cdn: Callable[[random.Random, "_Ctx", str], str]


@dataclass
class _Ctx:
    brand: str
    domain: str
    color: str
    campaign: str
    account: str


def _mailchimp() -> Vendor:
    def host(c: _Ctx) -> str:
        return f"https://{c.domain.split('.')[0]}.us{int(c.account[:2], 16) % 21 + 1}.list-manage.com"
    return Vendor(
        "Mailchimp",
        lambda r, c: f"{host(c)}/track/open.php?u={c.account}&id={c.campaign[:10]}&e={_hex(r, 10)}",
        lambda r, c, d: f"{host(c)}/track/click?u={c.account}&id={_hex(r, 10)}&e={_hex(r, 10)}",
        lambda r, c, name: f"https://mcusercontent.com/{c.account}/images/{_uuid(r)}.{name.rsplit('.', 1)[-1]}",
    )


def _sendgrid() -> Vendor:
    def host(c: _Ctx) -> str:
        return f"https://u{int(c.account[:6], 16) % 9_000_000 + 1_000_000}.ct.sendgrid.net"
    return Vendor(
        "SendGrid",
        lambda r, c: f"{host(c)}/wf/open?upn={_token(r, 140, _B64URL)}",
        lambda r, c, d: f"{host(c)}/ls/click?upn={_token(r, r.randint(150, 230), _B64URL)}",
        lambda r, c, name: f"https://cdn.{c.domain}/email/{_hex(r, 8)}/{name}",
    )


def _ses() -> Vendor:
    def base(c: _Ctx) -> str:
        return f"https://{c.account[:8]}.r.eu-west-1.awstrack.me"
    def msgid(r: random.Random) -> str:
        return f"0102018{_hex(r, 9)}-{_hex(r, 8)}-{_hex(r, 4)}-{_hex(r, 4)}-{_hex(r, 4)}-{_hex(r, 12)}-000000"
    return Vendor(
        "Amazon SES",
        lambda r, c: f"{base(c)}/I0/{msgid(r)}/{_token(r, 43)}=352",
        lambda r, c, d: f"{base(c)}/L0/{quote(d, safe=':')}/1/{msgid(r)}/{_token(r, 43)}=352",
        lambda r, c, name: f"https://static.{c.domain}/mail/{name}",
    )


def _sfmc() -> Vendor:
    def enc(r: random.Random) -> str:
        return "-".join(r.choice(["fe", "ff"]) + _hex(r, r.choice([12, 16, 18, 20])) for _ in range(7))
    return Vendor(
        "Salesforce Marketing Cloud",
        lambda r, c: f"https://click.e.{c.domain}/open.aspx?{enc(r)}",
        lambda r, c, d: f"https://click.e.{c.domain}/?qs={_hex(r, r.randint(160, 240))}",
        lambda r, c, name: f"https://image.e.{c.domain}/lib/{_hex(r, 6)}/m/1/{_uuid(r)}.{name.rsplit('.', 1)[-1]}",
    )


def _hubspot() -> Vendor:
    return Vendor(
        "HubSpot",
        lambda r, c: f"https://{c.account[:8]}.na1.hubspotlinks.com/Cto/{_token(r, 2)}+{int(c.account[:5], 16)}/{c.account[:8]}/"
                     f"{_token(r, 80, _B64URL)}",
        lambda r, c, d: f"https://{c.account[:8]}.na1.hubspotlinks.com/Ctc/{_token(r, 2)}+113/{c.account[:8]}/"
                        f"VWk{_token(r, r.randint(120, 200), _B64URL)}",
        lambda r, c, name: f"https://{int(c.account[:5], 16)}.fs1.hubspotusercontent-na1.net/hubfs/{int(c.account[:5], 16)}/{name}",
    )


def _klaviyo() -> Vendor:
    return Vendor(
        "Klaviyo",
        lambda r, c: f"https://trk.klclick1.com/wf/open?upn=u001.{_token(r, 160, _B64URL)}",
        lambda r, c, d: f"https://trk.klclick1.com/ls/click?upn=u001.{_token(r, r.randint(150, 240), _B64URL)}",
        lambda r, c, name: f"https://d3k81ch9hvuctc.cloudfront.net/company/{c.account[:6]}/images/{_uuid(r)}.{name.rsplit('.', 1)[-1]}",
    )


def _mailgun() -> Vendor:
    return Vendor(
        "Mailgun",
        lambda r, c: f"https://email.mg.{c.domain}/o/{_token(r, 120, _B64URL)}",
        lambda r, c, d: f"https://email.mg.{c.domain}/c/{_token(r, r.randint(140, 220), _B64URL)}",
        lambda r, c, name: f"https://assets.{c.domain}/newsletter/{name}",
    )


def _uuid(r: random.Random) -> str:
    h = _hex(r, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


_VENDORS = [_mailchimp(), _sendgrid(), _ses(), _sfmc(), _hubspot(), _klaviyo(), _mailgun()]

# Second and third pixels: analytics and "email intelligence" services riding along.
_EXTRA_PIXELS: list[Callable[[random.Random, _Ctx], str]] = [
    lambda r, c: "https://www.google-analytics.com/collect?" + urlencode({
        "v": "1", "tid": f"UA-{r.randint(10**6, 10**8)}-1", "cid": _uuid(r), "t": "event",
        "ec": "email", "ea": "open", "el": RECIPIENT, "cs": "newsletter", "cm": "email", "cn": c.campaign}),
    lambda r, c: f"https://{_token(r, 7).lower()}.emltrk.com/{_token(r, 7).lower()}?d={quote(RECIPIENT)}",
    lambda r, c: f"https://mail.{c.domain}/o/{hashlib.sha256(RECIPIENT.encode()).hexdigest()}.gif",
    lambda r, c: f"https://pixel.{c.domain}/t/{hashlib.md5(RECIPIENT.encode()).hexdigest()}/open.png?c={c.campaign}",
    lambda r, c: f"https://ct.pinterest.com/v3/?event=init&tid={r.randint(10**11, 10**12)}&pd[em]="
                 f"{hashlib.sha256(RECIPIENT.encode()).hexdigest()}&noscript=1",
]


# --------------------------------------------------------------------------- HTML pieces
class _Page:
    """Builds one message body; every choice comes from ``rng``."""

    def __init__(self, i: int) -> None:
        self.rng = rng = random.Random(f"{_SEED}:{i}")
        brand, domain, color = rng.choice(_BRANDS)
        self.kind = rng.choices(["newsletter", "promo", "receipt", "shipping", "statement"], [4, 4, 2, 1, 1])[0]
        self.vendor = rng.choice(_VENDORS)
        self.ctx = _Ctx(brand, domain, color, _hex(rng, 12), _hex(rng, 25))
        self.target = int(rng.triangular(MIN_SIZE * 1.1, MAX_SIZE * 0.88, 48_000))
        self.subject = self._subject()

    # ---- text
    def words(self, lo: int, hi: int) -> str:
        r = self.rng
        ws = r.choices(_WORDS, k=r.randint(lo, hi))
        if r.random() < 0.3:
            ws.insert(r.randrange(len(ws)), r.choice(_NON_ASCII))
        return " ".join(ws)

    def sentence(self) -> str:
        s = self.words(7, 18)
        return s[0].upper() + s[1:] + self.rng.choice([".", ".", ".", "!", "?"])

    def paragraph(self) -> str:
        return escape(" ".join(self.sentence() for _ in range(self.rng.randint(2, 5))), quote=False)

    def _subject(self) -> str:
        return {
            "newsletter": f"{self.ctx.brand}: {self.words(3, 6)}",
            "promo": f"{self.rng.randint(10, 60)}% off {self.words(2, 4)} – this weekend only",
            "receipt": f"Your {self.ctx.brand} order #{self.rng.randint(10**6, 10**7)}",
            "shipping": f"Your order is on its way",
            "statement": f"Your {self.ctx.brand} statement is ready",
        }[self.kind]

    # ---- URLs
    def dest(self, path: str) -> str:
        r = self.rng
        q = {
            "utm_source": r.choice(["newsletter", "email", "klaviyo", "sfmc", "hs_email"]),
            "utm_medium": "email",
            "utm_campaign": f"{self.kind}_{_EPOCH.year}_{r.randint(1, 52):02d}_{self.ctx.campaign[:6]}",
            "utm_content": r.choice(["hero", "cta", "product", "footer", "nav", "article"]) + f"_{r.randint(1, 9)}",
        }
        if r.random() < 0.5:
            q["utm_term"] = self.words(1, 3).replace(" ", "-")
        if r.random() < 0.4:
            q["_kx"] = _token(r, 40, _B64URL)
        return f"https://www.{self.ctx.domain}/{path}?{urlencode(q)}"

    def link(self, path: str) -> str:
        """A tracked link, 100-300 characters, as it appears in the href (entity-escaped).

        Mostly wrapped by the ESP's click tracker; some go straight to the shop and are tracked
        only by their ``utm_*`` parameters (as when click tracking is off for a section).
        """
        dest = self.dest(path)
        url = dest if self.rng.random() < 0.2 else self.vendor.wrap(self.rng, self.ctx, dest)
        return escape(_fit(url, 100, 300, self.rng))

    def img(self, name: str) -> str:
        return escape(self.vendor.cdn(self.rng, self.ctx, name))

    def pixels(self) -> str:
        r = self.rng
        urls = [self.vendor.pixel(r, self.ctx)]
        urls += r.sample(_EXTRA_PIXELS, r.choice([0, 0, 1, 1, 2]))
        urls = [u(r, self.ctx) if callable(u) else u for u in urls]
        out = []
        for u in urls:
            style = r.choice([
                ' style="display:none !important;width:1px;height:1px;border:0;"',
                ' style="height:1px !important;width:1px !important;border-width:0 !important;margin:0 !important;padding:0 !important;"',
                "", ""])
            size = r.choice([' width="1" height="1"', ' width="1" height="1" border="0"', ""])
            out.append(f'<img src="{escape(u)}" alt=""{size}{style}>')
        return "\n".join(out)

    # ---- layout
    def td_style(self, extra: str = "") -> str:
        r = self.rng
        pad = r.choice(["0", "8px 16px", "12px 24px", "16px 24px", "24px", "0 24px 16px"])
        return (f"padding:{pad};font-family:{r.choice(_FONTS)};font-size:{r.choice([13, 14, 15, 16])}px;"
                f"line-height:{r.choice([20, 21, 22, 24])}px;color:{r.choice(['#222222', '#333333', '#1d2733', '#4a4a4a'])};"
                f"mso-line-height-rule:exactly;{extra}")

    def head(self) -> str:
        r, c = self.rng, self.ctx
        rules = "\n".join(
            f"  .{cls}{{{prop} !important;}}" for cls, prop in r.sample(_RESP_RULES, r.randint(6, len(_RESP_RULES))))
        fonts = ""
        if r.random() < 0.4:
            fonts = (f'<!--[if !mso]><!--><link href="https://fonts.googleapis.com/css2?family=Inter:wght@400;700&amp;display=swap" '
                     f'rel="stylesheet"><!--<![endif]-->\n')
        return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" lang="en">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="x-apple-disable-message-reformatting">
<meta name="format-detection" content="telephone=no,address=no,email=no,date=no,url=no">
<title>{escape(self.subject)}</title>
<!--[if gte mso 9]><xml><o:OfficeDocumentSettings><o:AllowPNG/><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->
<!--[if mso]><style type="text/css">body,table,td,a{{font-family:Arial,Helvetica,sans-serif !important;}}</style><![endif]-->
{fonts}<style type="text/css">
  html,body{{margin:0 !important;padding:0 !important;height:100% !important;width:100% !important;}}
  *{{-ms-text-size-adjust:100%;-webkit-text-size-adjust:100%;}}
  table,td{{mso-table-lspace:0pt !important;mso-table-rspace:0pt !important;border-collapse:collapse;}}
  img{{-ms-interpolation-mode:bicubic;border:0;outline:none;text-decoration:none;}}
  a{{color:{c.color};text-decoration:underline;}}
  a[x-apple-data-detectors]{{color:inherit !important;text-decoration:none !important;font-size:inherit !important;}}
  u + #body a{{color:inherit;text-decoration:none;font-size:inherit;font-family:inherit;font-weight:inherit;line-height:inherit;}}
  #MessageViewBody a{{color:inherit;text-decoration:none;}}
  .btn a:hover{{background:{c.color} !important;opacity:.9;}}
  @media only screen and (min-width:601px){{
    .container{{width:600px !important;}}
  }}
  @media only screen and (max-width:600px){{
{rules}
  }}
  @media (prefers-color-scheme:dark){{
    .dark-bg{{background-color:#111111 !important;}}
    .dark-text{{color:#eeeeee !important;}}
  }}
  @media print{{ .no-print{{display:none !important;}} }}
</style>
</head>
"""

    def preheader(self) -> str:
        filler = "&#847; &zwnj; &nbsp; " * self.rng.randint(20, 60)
        return (f'<div style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;'
                f'mso-hide:all;font-family:sans-serif;">{escape(self.sentence(), quote=False)} {filler}</div>\n')

    def header(self) -> str:
        c = self.ctx
        nav = "".join(
            f'<td align="center" style="{self.td_style("font-size:12px;text-transform:uppercase;letter-spacing:1px;")}">'
            f'<a href="{self.link(p)}" style="color:{c.color};text-decoration:none;">{escape(p.title())}</a></td>'
            for p in self.rng.sample(["new", "sale", "women", "men", "home", "gifts", "journal", "stores"], 4))
        return f"""<tr><td style="padding:12px 24px;font-family:Arial,sans-serif;font-size:11px;color:#888888;text-align:right;" class="no-print">
<a href="https://view.{c.domain}/?qs={_hex(self.rng, 48)}" style="color:#888888;">View in browser</a></td></tr>
<tr><td align="center" style="padding:24px;background-color:#ffffff;"><a href="{self.link('')}" style="text-decoration:none;">
<img src="{self.img('logo.png')}" width="{self.rng.choice([140, 160, 180, 200])}" alt="{escape(c.brand)}" style="display:block;border:0;outline:none;height:auto;"></a></td></tr>
<tr><td style="padding:0 12px;border-bottom:1px solid #eeeeee;"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>{nav}</tr></table></td></tr>
"""

    def hero(self) -> str:
        c, r = self.ctx, self.rng
        bg = self.img(f"hero-{r.randint(1, 99)}.jpg")
        href = self.link("collections/new")
        return f"""<tr><td background="{bg}" bgcolor="{c.color}" valign="top" style="background:url('{bg}') center / cover no-repeat {c.color};background-color:{c.color};">
<!--[if gte mso 9]>
<v:rect xmlns:v="urn:schemas-microsoft-com:vml" fill="true" stroke="false" style="width:600px;height:320px;">
<v:fill type="tile" src="{bg}" color="{c.color}" />
<v:textbox inset="0,0,0,0">
<![endif]-->
<div><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>
<td class="hero-pad" align="center" valign="middle" style="{self.td_style('padding:72px 40px;text-align:center;color:#ffffff;')}">
<h1 style="margin:0 0 12px;font-size:34px;line-height:40px;font-weight:bold;color:#ffffff;">{escape(self.words(3, 6).title(), quote=False)}</h1>
<p style="margin:0 0 24px;font-size:17px;line-height:25px;color:#ffffff;">{self.paragraph()}</p>
{self.button(href, self.words(2, 3).title(), "#ffffff", c.color)}
</td></tr></table></div>
<!--[if gte mso 9]>
</v:textbox>
</v:rect>
<![endif]-->
</td></tr>
"""

    def button(self, href: str, label: str, bg: str, fg: str) -> str:
        return f"""<table role="presentation" cellpadding="0" cellspacing="0" border="0" align="center" class="btn"><tr><td align="center" style="border-radius:4px;background-color:{bg};">
<!--[if mso]>
<v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" xmlns:w="urn:schemas-microsoft-com:office:word" href="{href}" style="height:46px;v-text-anchor:middle;width:220px;" arcsize="9%" strokecolor="{bg}" fillcolor="{bg}">
<w:anchorlock/><center style="color:{fg};font-family:Arial,sans-serif;font-size:16px;font-weight:bold;">{escape(label, quote=False)}</center>
</v:roundrect>
<![endif]-->
<!--[if !mso]><!-- --><a href="{href}" target="_blank" style="background-color:{bg};border:1px solid {bg};border-radius:4px;color:{fg};display:inline-block;font-family:Arial,sans-serif;font-size:16px;font-weight:bold;line-height:46px;text-align:center;text-decoration:none;width:220px;-webkit-text-size-adjust:none;mso-hide:all;">{escape(label, quote=False)}</a><!--<![endif]-->
</td></tr></table>"""

    def article(self) -> str:
        r = self.rng
        img = ""
        if r.random() < 0.6:
            img = (f'<tr><td style="padding:0 24px;"><a href="{self.link("journal/" + self.words(1, 3).replace(" ", "-"))}">'
                   f'<img src="{self.img(f"article-{r.randint(1, 500)}.jpg")}" width="552" alt="{escape(self.words(2, 5))}" '
                   f'class="fluid" style="display:block;width:100%;max-width:552px;height:auto;border:0;"></a></td></tr>\n')
        paras = "\n".join(f'<p style="margin:0 0 14px;">{self.paragraph()}</p>' for _ in range(r.randint(1, 4)))
        more = f'<a href="{self.link("journal/read")}" style="color:{self.ctx.color};font-weight:bold;">Read more&nbsp;&rarr;</a>'
        return (f"{img}<tr><td class=\"mobile-pad\" style=\"{self.td_style()}\">\n"
                f'<h2 style="margin:0 0 10px;font-size:22px;line-height:28px;">{escape(self.words(3, 7).capitalize(), quote=False)}</h2>\n'
                f"{paras}\n{more}</td></tr>\n")

    def product_grid(self) -> str:
        r = self.rng
        cols = r.choice([2, 3])
        width = 552 // cols
        rows = []
        for _ in range(r.randint(1, 3)):
            cells = []
            for _ in range(cols):
                href = self.link(f"p/{self.words(1, 2).replace(' ', '-')}-{r.randint(100, 9999)}")
                price = f"{r.randint(5, 400)}.{r.choice(['00', '50', '95', '99'])}"
                cells.append(f"""<td class="stack-column" width="{width}" valign="top" style="width:{width}px;padding:8px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td style="padding:0;"><a href="{href}"><img src="{self.img(f'p{r.randint(1000, 99999)}.jpg')}" width="{width - 16}" alt="{escape(self.words(2, 4))}" style="display:block;width:100%;height:auto;border:0;"></a></td></tr>
<tr><td style="{self.td_style('padding:8px 0 0;font-weight:bold;')}"><a href="{href}" style="color:#222222;text-decoration:none;">{escape(self.words(2, 4).title(), quote=False)}</a></td></tr>
<tr><td style="{self.td_style('padding:2px 0 0;color:#666666;')}">{r.choice(['&euro;', '&pound;', '$', '€'])}{price}</td></tr>
</table></td>""")
            rows.append("<tr>" + "\n".join(cells) + "</tr>")
        return (f'<tr><td style="padding:8px 16px;"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">\n'
                + "\n".join(rows) + "\n</table></td></tr>\n")

    def order_table(self) -> str:
        r = self.rng
        lines = []
        total = 0.0
        for _ in range(r.randint(2, 12)):
            qty, price = r.randint(1, 3), r.randint(300, 20_000) / 100
            total += qty * price
            lines.append(f"""<tr><td width="64" style="padding:8px 0;border-bottom:1px solid #eeeeee;width:64px;"><img src="{self.img(f'thumb{r.randint(1, 9999)}.jpg')}" width="56" height="56" alt="" style="display:block;border:0;"></td>
<td style="{self.td_style('padding:8px 12px;border-bottom:1px solid #eeeeee;')}">{escape(self.words(2, 5).title(), quote=False)}<br><span style="font-size:12px;color:#888888;">Qty {qty} &middot; SKU {_token(r, 8).upper()}</span></td>
<td align="right" style="{self.td_style('padding:8px 0;border-bottom:1px solid #eeeeee;white-space:nowrap;')}">&euro;{qty * price:.2f}</td></tr>""")
        lines.append(f'<tr><td colspan="2" style="{self.td_style("padding:12px 0;font-weight:bold;")}">Total</td>'
                     f'<td align="right" style="{self.td_style("padding:12px 0;font-weight:bold;")}">&euro;{total:.2f}</td></tr>')
        return (f'<tr><td style="padding:8px 24px;"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-top:2px solid {self.ctx.color};">\n'
                + "\n".join(lines) + "\n</table></td></tr>\n")

    def spacer(self) -> str:
        h = self.rng.choice([8, 16, 24, 32])
        return f'<tr><td height="{h}" style="height:{h}px;font-size:0;line-height:0;mso-line-height-rule:exactly;">&nbsp;</td></tr>\n'

    def cta(self) -> str:
        c = self.ctx
        return (f'<tr><td align="center" style="padding:16px 24px 32px;">'
                f'{self.button(self.link("shop"), self.words(2, 3).title(), c.color, "#ffffff")}</td></tr>\n')

    def footer(self) -> str:
        r, c = self.rng, self.ctx
        social = "".join(
            f'<td style="padding:0 6px;"><a href="{self.link("social/" + s)}"><img src="{self.img(f"icon-{s}.png")}" width="24" height="24" alt="{s}" style="display:block;border:0;"></a></td>'
            for s in r.sample(["instagram", "facebook", "pinterest", "youtube", "tiktok", "linkedin"], r.randint(3, 5)))
        legal = " ".join(self.sentence() for _ in range(r.randint(3, 9)))
        unsub = escape(_fit(f"https://{c.domain.split('.')[0]}.example.net/unsubscribe?e={quote(RECIPIENT)}&c={c.campaign}", 60, 200, r))
        return f"""<tr><td class="dark-bg" style="padding:32px 24px;background-color:#f4f4f4;text-align:center;">
<table role="presentation" cellpadding="0" cellspacing="0" border="0" align="center"><tr>{social}</tr></table>
<p class="dark-text" style="margin:16px 0 0;font-family:Arial,sans-serif;font-size:11px;line-height:16px;color:#777777;">{escape(legal, quote=False)}</p>
<p class="dark-text" style="margin:12px 0 0;font-family:Arial,sans-serif;font-size:11px;line-height:16px;color:#777777;">{escape(c.brand, quote=False)} &middot; {r.randint(1, 200)} Example Street &middot; Exampleton {r.randint(10000, 99999)}<br>
You are receiving this email because you subscribed at {escape(c.domain)} with {RECIPIENT}.<br>
<a href="{self.link('account/preferences')}" style="color:#777777;">Preferences</a> &middot; <a href="{unsub}" style="color:#777777;">Unsubscribe</a> &middot; <a href="{self.link('privacy')}" style="color:#777777;">Privacy</a></p>
</td></tr>
"""

    def build(self) -> str:
        r, c = self.rng, self.ctx
        body = [self.header()]
        if self.kind in ("newsletter", "promo"):
            body.append(self.hero())
            makers, weights = [self.article, self.product_grid, self.spacer, self.cta], [5, 4, 2, 1]
        else:
            body.append(self.article())
            body.append(self.order_table())
            body.append(self.cta())
            makers, weights = [self.article, self.product_grid, self.spacer, self.cta], [4, 2, 1, 1]
        size = sum(map(len, body)) + 9000   # head + footer, roughly
        while size < self.target:
            piece = r.choices(makers, weights)[0]()
            body.append(piece)
            size += len(piece)
        if r.random() < 0.25:   # a tracker in a CSS background on a spacer cell
            body.append(f'<tr><td style="height:1px;line-height:1px;font-size:1px;background-image:url({escape(self.vendor.pixel(r, c))});">&nbsp;</td></tr>\n')
        body.append(self.footer())
        pixels = self.pixels()
        top = r.random() < 0.3
        return "".join([
            self.head(),
            f'<body id="body" class="body" style="margin:0;padding:0;word-spacing:normal;background-color:#eeeeee;">\n',
            pixels + "\n" if top else "",
            self.preheader(),
            '<center role="article" aria-roledescription="email" lang="en" style="width:100%;background-color:#eeeeee;">\n',
            '<!--[if mso | IE]><table role="presentation" border="0" cellpadding="0" cellspacing="0" width="100%" style="background-color:#eeeeee;"><tr><td><![endif]-->\n',
            '<table role="presentation" class="outer" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#eeeeee;"><tr><td align="center" style="padding:16px 0;">\n',
            '<!--[if mso]><table role="presentation" align="center" border="0" cellspacing="0" cellpadding="0" width="600"><tr><td width="600" style="width:600px;"><![endif]-->\n',
            '<table role="presentation" class="container" width="600" align="center" cellpadding="0" cellspacing="0" border="0" '
            'style="width:100%;max-width:600px;margin:0 auto;background-color:#ffffff;">\n',
            *body,
            "</table>\n<!--[if mso]></td></tr></table><![endif]-->\n</td></tr></table>\n",
            "<!--[if mso | IE]></td></tr></table><![endif]-->\n</center>\n",
            "" if top else pixels + "\n",
            "</body>\n</html>\n",
        ])


_FONTS = ["Arial,Helvetica,sans-serif", "'Helvetica Neue',Helvetica,Arial,sans-serif", "Georgia,'Times New Roman',serif",
          "Verdana,Geneva,sans-serif", "Inter,Arial,sans-serif"]
_RESP_RULES = [
    ("container", "width:100%"), ("fluid", "max-width:100%;height:auto;margin:auto"),
    ("stack-column", "display:block;width:100%;max-width:100%;direction:ltr"),
    ("stack-column-center", "text-align:center"), ("center-on-narrow", "text-align:center;display:block;margin:auto;float:none"),
    ("hero-pad", "padding:40px 20px"), ("mobile-pad", "padding-left:16px;padding-right:16px"),
    ("hide-mobile", "display:none;max-height:0;overflow:hidden"), ("btn a", "width:100%;display:block"),
    ("outer", "padding:0"),
]


STYLES = ("plain", "heavy")


def generate_html(i: int, style: str = "plain") -> str:
    """Body ``i`` of the corpus: a realistic 20-150 KB marketing or transactional HTML mail body.

    ``style="heavy"`` gives the same body with a 20-60 KB head ``<style>`` added
    (:func:`generate_heavy_style_html`).
    """
    if style != "plain":
        _check_style(style)
        return generate_heavy_style_html(i)
    html = _Page(i).build()
    assert MIN_SIZE <= len(html.encode("utf-8")) <= MAX_SIZE, (i, len(html))
    return html


# --------------------------------------------------------------------------- heavy head styles
# Real ESP templates (Mailchimp's classic and drag-and-drop, Klaviyo, Braze, templates built in
# Litmus Builder, Stripo, BEE) ship a 20-60 KB head ``<style>``: client resets, web fonts, every
# component's classes, several mobile breakpoints, a dark-mode block repeated for Outlook.com
# (``[data-ogsc]``/``[data-ogsb]``), background images in ``url()`` (heroes, banners, bullets,
# dark logo swaps) and sometimes an analytics beacon hidden in CSS (Litmus Email Analytics loads
# ``url()`` only in print, in Outlook's reply view or when forwarded). Reading such a sheet is the
# expensive part of cleaning these mails, so the benchmark needs them.
HEAVY_CSS_MIN = 20_000
HEAVY_CSS_MAX = 60_000

_CSS_PROPS = [
    "margin:0", "padding:0", "padding:0 16px", "padding:12px 24px", "padding-top:24px", "padding-bottom:16px",
    "font-size:14px", "font-size:16px", "font-size:22px", "line-height:150%", "line-height:24px", "font-weight:bold",
    "font-weight:normal", "letter-spacing:-0.5px", "text-align:left", "text-align:center", "color:#202020",
    "color:#656565", "color:#ffffff", "background-color:#fafafa", "background-color:#ffffff", "border:0",
    "border-top:1px solid #eaeaea", "border-radius:4px", "width:100%", "max-width:600px", "height:auto",
    "display:block", "display:inline-block", "vertical-align:top", "word-break:break-word", "mso-line-height-rule:exactly",
    "-webkit-text-size-adjust:100%", "-ms-text-size-adjust:100%", "text-decoration:none", "font-style:normal",
    "font-family:Helvetica,Arial,sans-serif", "font-family:'Open Sans','Helvetica Neue',Helvetica,Arial,sans-serif",
    "font-family:Georgia,Times,'Times New Roman',serif", "box-sizing:border-box", "overflow:hidden",
    "background-position:center top", "background-repeat:no-repeat", "background-size:cover", "min-width:100%",
    "table-layout:fixed", "direction:ltr", "float:none", "clear:both", "opacity:1", "transition:opacity .2s ease-in-out",
]
_CSS_COMPONENTS = [
    "mcnTextContent", "mcnImage", "mcnImageContent", "mcnCaptionLeftContentInner", "mcnButtonContent",
    "mcnButtonContentContainer", "mcnDividerBlock", "mcnBoxedTextContentColumn", "mcnFollowContent", "mcnCartContainer",
    "templateHeader", "templatePreheader", "templateBody", "templateFooter", "templateColumns", "bodyContainer",
    "kl-text", "kl-image", "kl-button", "kl-product-block", "kl-split", "kl-social", "kl-header", "kl-footer",
    "bz-section", "bz-column", "bz-hero", "bz-cta", "bz-divider", "bz-content-card", "bz-liquid-block",
    "es-wrapper", "es-content-body", "es-header-body", "es-footer-body", "es-button-border", "es-m-txt-c",
    "row-content", "stack", "column-1", "column-2", "image_block", "text_block", "button_block", "social_block",
    "hse-column", "hse-section", "hse-image-wrapper", "stylingblock-content-wrapper", "campaign-card", "promo-tile",
]
_CSS_CONTEXT = ["", "", "table ", "td ", "#bodyTable ", ".wrapper ", "u + .body ", "[owa] ", "#outlook ", ".ExternalClass "]
_CSS_SUFFIX = ["", "", "", " a", " p", " h1", " h2", " img", " td", " a:hover", " a:visited", " .inner"]
_FONT_FAMILIES = [("Open Sans", "opensans"), ("Lato", "lato"), ("Montserrat", "montserrat"), ("Playfair Display", "playfair"),
                  ("Roboto", "roboto"), ("Source Sans Pro", "sourcesans"), ("Poppins", "poppins")]
_BREAKPOINTS = ["only screen and (max-width:480px)", "only screen and (max-width:600px)",
                "screen and (max-width:640px)", "only screen and (min-width:768px)",
                "only screen and (max-device-width:480px)", "only screen and (min-width:481px) and (max-width:599px)"]


class _HeavyStyle:
    """The 20-60 KB head ``<style>`` of message ``i``; every choice comes from its own ``rng``."""

    def __init__(self, i: int, page: _Page) -> None:
        self.rng = random.Random(f"{_SEED}:heavy-style:{i}")
        self.page = page
        self.target = self.rng.randint(HEAVY_CSS_MIN, HEAVY_CSS_MAX)

    def url(self, name: str) -> str:
        """A background-image URL on the ESP's CDN, in one of the ways authors quote it."""
        u = self.page.vendor.cdn(self.rng, self.page.ctx, name)
        return self.rng.choice([f"url({u})", f"url('{u}')", f'url("{u}")'])

    def decls(self, lo: int, hi: int, important: bool = False) -> str:
        props = self.rng.sample(_CSS_PROPS, self.rng.randint(lo, hi))
        bang = " !important" if important else ""
        return ";".join(p + bang for p in props) + ";"

    def selector(self) -> str:
        r = self.rng
        names = r.sample(_CSS_COMPONENTS, r.randint(1, 3))
        return ",".join(f"{r.choice(_CSS_CONTEXT)}.{n}{r.choice(_CSS_SUFFIX)}" for n in names)

    def resets(self) -> str:
        return """
#outlook a{padding:0;}
.ReadMsgBody{width:100%;}.ExternalClass{width:100%;}
.ExternalClass,.ExternalClass p,.ExternalClass span,.ExternalClass font,.ExternalClass td,.ExternalClass div{line-height:100%;}
body,table,td,p,a,li,blockquote{-ms-text-size-adjust:100%;-webkit-text-size-adjust:100%;}
table,td{mso-table-lspace:0pt;mso-table-rspace:0pt;}
img{-ms-interpolation-mode:bicubic;border:0;height:auto;line-height:100%;outline:none;text-decoration:none;}
p{margin:10px 0;padding:0;}
a[x-apple-data-detectors]{color:inherit !important;text-decoration:none !important;font-size:inherit !important;font-family:inherit !important;font-weight:inherit !important;line-height:inherit !important;}
u + #body a,#MessageViewBody a{color:inherit;text-decoration:none;font-size:inherit;font-family:inherit;font-weight:inherit;line-height:inherit;}
:root{color-scheme:light dark;supported-color-schemes:light dark;}
"""

    def fonts(self) -> str:
        r, out = self.rng, []
        for family, slug in r.sample(_FONT_FAMILIES, r.randint(1, 4)):
            for weight in r.sample([300, 400, 600, 700, 800], r.randint(1, 3)):
                tok = _token(r, 22, _B64URL)
                out.append(f"@font-face{{font-family:'{family}';font-style:normal;font-weight:{weight};font-display:swap;"
                           f"src:url(https://fonts.gstatic.com/s/{slug}/v{r.randint(18, 40)}/{tok}.woff2) format('woff2'),"
                           f"url(https://fonts.gstatic.com/s/{slug}/v{r.randint(18, 40)}/{tok}.woff) format('woff');"
                           f"unicode-range:U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+2000-206F;}}")
        return "\n".join(out) + "\n"

    def component(self) -> str:
        """One block of the template's component rules; about one in four carries a background image."""
        r, c = self.rng, self.page.ctx
        rules = []
        for _ in range(r.randint(3, 8)):
            extra = ""
            roll = r.random()
            if roll < 0.25:
                ext = r.choice(["jpg", "png", "gif"])
                extra = f"background-image:{self.url(f'bg-{r.randint(1, 400)}.{ext}')};"
            elif roll < 0.32:
                extra = (f"background:{c.color} {self.url(f'pattern-{r.randint(1, 60)}.png')} repeat-x left top;")
            elif roll < 0.36:
                extra = f"list-style-image:{self.url(f'bullet-{r.randint(1, 9)}.png')};"
            rules.append(f"{self.selector()}{{{self.decls(2, 7)}{extra}}}")
        if r.random() < 0.2:
            rules.insert(0, f"/* {' '.join(r.choices(_WORDS, k=r.randint(4, 10)))} */")
        return "\n".join(rules) + "\n"

    def mobile(self) -> str:
        r = self.rng
        rules = [f"{self.selector()}{{{self.decls(1, 5, important=True)}}}" for _ in range(r.randint(6, 18))]
        if r.random() < 0.5:   # the mobile hero swaps to a portrait crop
            rules.append(f".mobile-hero,.bz-hero-mobile{{background-image:{self.url(f'hero-mobile-{r.randint(1, 99)}.jpg')} !important;"
                         f"background-size:cover !important;height:360px !important;}}")
        rules.append(".hide-mobile,.mobile-hide{display:none !important;max-height:0 !important;overflow:hidden !important;mso-hide:all;}")
        return f"@media {r.choice(_BREAKPOINTS)}{{\n" + "\n".join(rules) + "\n}\n"

    def dark(self) -> str:
        """The dark-mode block, repeated for Outlook.com's rewritten attributes, with a logo swap."""
        r = self.rng
        pairs = [(self.selector(), r.choice(["background-color:#121212", "background-color:#1e1e1e", "background:#000000"]),
                  r.choice(["color:#f1f1f1", "color:#ffffff", "color:#e6e6e6"])) for _ in range(r.randint(5, 14))]
        logo = self.url("logo-dark.png")
        media = ["@media (prefers-color-scheme:dark){"]
        media += [f"{sel}{{{bg} !important;{fg} !important;}}" for sel, bg, fg in pairs]
        media.append(f".dark-logo{{display:block !important;width:auto !important;overflow:visible !important;"
                     f"float:none !important;max-height:inherit !important;max-width:inherit !important;"
                     f"line-height:auto !important;margin-top:0 !important;visibility:inherit !important;}}")
        media.append(f".logo-swap{{background-image:{logo} !important;}}")
        media.append("}")
        ogsc = [f"[data-ogsc] {sel.split(',')[0]}{{{fg} !important;}}" for sel, _, fg in pairs]
        ogsb = [f"[data-ogsb] {sel.split(',')[0]}{{{bg} !important;}}" for sel, bg, _ in pairs]
        ogsc.append(f"[data-ogsc] .logo-swap{{background-image:{logo} !important;}}")
        return "\n".join(media + ogsc + ogsb) + "\n"

    def extras(self) -> str:
        r = self.rng
        out = []
        if r.random() < 0.4:
            out.append("@supports (-webkit-overflow-scrolling:touch){.kinetic-carousel{display:block !important;}"
                       f".carousel-slide{{background-image:{self.url(f'slide-{r.randint(1, 9)}.jpg')};}}}}")
        if r.random() < 0.3:
            out.append("@keyframes fadeIn{from{opacity:0;}to{opacity:1;}}.animate{animation:fadeIn 1s ease-in;}")
        if r.random() < 0.3:
            out.append("@media screen and (-webkit-min-device-pixel-ratio:2),(min-resolution:192dpi){"
                       f".retina-logo{{background-image:{self.url('logo@2x.png')} !important;background-size:180px auto !important;}}}}")
        return "\n".join(out) + ("\n" if out else "")

    def litmus(self) -> str:
        """Litmus Email Analytics' CSS beacon: loads only when printed, forwarded or replied to."""
        r = self.rng
        base = f"https://{_token(r, 10).lower()}.emltrk.com/v2/{_token(r, 10).lower()}"
        d = quote(RECIPIENT)
        return (f"@media print{{ #_t {{ background-image: url('{base}?p&d={d}');}}}}\n"
                f"div.OutlookMessageHeader {{background-image:url('{base}?f&d={d}')}}\n"
                f"table.moz-email-headers-table {{background-image:url('{base}?f&d={d}')}}\n"
                f"blockquote #_t {{background-image:url('{base}?f&d={d}')}}\n"
                f"#MailContainerBody #_t {{background-image:url('{base}?f&d={d}')}}\n")

    def blocks(self) -> tuple[list[str], bool]:
        """The style blocks (one to three, as builders split them) and whether a Litmus beacon is in."""
        r = self.rng
        head = [self.resets(), self.fonts()]
        tail = [self.dark(), self.extras()]
        beacon = r.random() < 0.3
        if beacon:
            tail.append(self.litmus())
        size = sum(map(len, head + tail))
        body: list[str] = []
        makers = [self.component, self.component, self.component, self.mobile]
        while True:
            piece = r.choice(makers)()
            if size + len(piece) > self.target and size >= HEAVY_CSS_MIN:
                break
            body.append(piece)
            size += len(piece)
        parts = head + body + tail             # each part is a whole top-level rule group
        n = r.choice([1, 1, 2, 3])
        cuts = sorted(r.sample(range(1, len(parts)), n - 1)) + [len(parts)]
        out, prev = [], 0
        for cut in cuts:
            out.append("".join(parts[prev:cut]))
            prev = cut
        return out, beacon


def heavy_style_blocks(i: int) -> list[str]:
    """The CSS text of each head ``<style>`` block that :func:`generate_heavy_style_html` adds to body ``i``."""
    return _HeavyStyle(i, _Page(i)).blocks()[0]


def generate_heavy_style_html(i: int) -> str:
    """Body ``i`` with a 20-60 KB head ``<style>`` in the shape ESP templates ship (see ``_HeavyStyle``).

    The rest is ``generate_html(i)`` byte for byte: the heavy blocks go just before ``</head>``
    (after the template's own ``<style>``), plus the Litmus beacon's ``<div id="_t">`` when the
    sheet carries one.
    """
    return _heavy_html(i, _Page(i))


def _heavy_html(i: int, page: _Page) -> str:
    html = page.build()
    blocks, beacon = _HeavyStyle(i, page).blocks()
    attrs = ['type="text/css"', "", 'data-embed', 'type="text/css" data-premailer="ignore"']
    r = random.Random(f"{_SEED}:heavy-attrs:{i}")
    styles = "".join(f"<style {r.choice(attrs)}>\n{css}</style>\n".replace("<style >", "<style>") for css in blocks)
    head, rest = html.split("</head>\n", 1)
    if beacon:
        tag, body = rest.split(">\n", 1)
        rest = f'{tag}>\n<div id="_t"></div>\n{body}'
    return f"{head}{styles}</head>\n{rest}"


# --------------------------------------------------------------------------- MIME
_INVISIBLE = {0x34F: None, 0x200C: None, 0xA0: " ", 0x2192: "->"}   # preheader padding, arrows: not text
_TAG = re.compile(r"<(style|head)\b.*?</\1>|<!--.*?-->|<[^>]+>", re.S | re.I)


def _text_version(html: str) -> str:
    """The text/plain alternative ESPs auto-generate: tags gone, links kept in brackets."""
    html = re.sub(r'<a\b[^>]*href="([^"]+)"[^>]*>(.*?)</a>', r"\2 [\1]", html, flags=re.S | re.I)
    text = unescape(_TAG.sub(" ", html)).translate(_INVISIBLE)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line) + "\n"


def _encode(text: str, charset: str, cte: str) -> str:
    data = _crlf(text).encode(charset)   # MIME canonical form: CRLF line breaks, also inside base64
    if cte == "base64":
        return base64.encodebytes(data).decode("ascii")
    return binascii.b2a_qp(data).decode("ascii")


def _wrap(text: str, limit: int = 998) -> str:
    """Lines of at most ``limit`` bytes (RFC 5322), broken at the last space before the limit, as
    ESPs that send 8bit do; a space and a line break read the same in HTML and in plain text."""
    out = []
    for line in text.split("\n"):
        while len(line.encode("utf-8")) > limit:
            cut = line.rfind(" ", 0, len(line.encode("utf-8")[:limit].decode("utf-8", "ignore")))
            if cut <= 0:
                break   # no space to break at: the caller sends this part quoted-printable
            out.append(line[:cut])
            line = line[cut + 1:]
        out.append(line)
    return "\n".join(out)


def _body(text: str, charset: str, cte: str) -> tuple[str, bytes]:
    """A part's Content-Transfer-Encoding and its body bytes. ``8bit`` is sent as 7bit when the text
    is ASCII, and falls back to quoted-printable when a line cannot be kept within 998 bytes."""
    if cte == "8bit":
        text = _wrap(text)
        if all(len(line) <= 998 for line in _crlf(text).encode(charset).split(b"\r\n")):
            return ("7bit" if text.isascii() else "8bit"), _crlf(text).encode(charset)
        cte = "quoted-printable"
    return cte, _encode(text, charset, cte).encode("ascii")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")


TRANSFERS = ("encoded", "8bit")


def generate_message(i: int, style: str = "plain", transfer: str = "encoded") -> bytes:
    """Message ``i``: a complete multipart/alternative MIME message (CRLF), body = ``generate_html(i, style)``.

    ``transfer``: ``encoded`` (the published corpus: each part quoted-printable or base64) or ``8bit``
    (the parts as written, lines kept within 998 bytes: 7bit/8bit, as much real mail is sent)."""
    _check_style(style)
    if transfer not in TRANSFERS:
        raise ValueError(f"transfer must be one of {TRANSFERS}, not {transfer!r}")
    page = _Page(i)
    html = page.build() if style == "plain" else _heavy_html(i, page)
    r = random.Random(f"{_SEED}:mime:{i}")
    c = page.ctx
    charset = r.choice(["utf-8", "utf-8", "utf-8", "windows-1252"])
    html_cte = r.choice(["quoted-printable", "quoted-printable", "base64"])
    text_cte = r.choice(["quoted-printable", "base64"])
    if transfer == "8bit":
        html_cte = text_cte = "8bit"
    if charset != "utf-8":
        html = html.replace('charset=utf-8"', f'charset={charset}"')
    date = _EPOCH + timedelta(minutes=97 * i + r.randint(0, 90))
    mta = f"mta{r.randint(1, 99)}.{c.domain}"
    boundary = f"----=_Part_{r.randint(10**5, 10**6)}_{r.randint(10**8, 10**9)}.{int(date.timestamp())}"
    headers = [
        f"Return-Path: <bounce-{_hex(r, 10)}@bounce.{c.domain}>",
        f"Received: from {mta} ({mta} [192.0.2.{r.randint(1, 254)}])\n"
        f"\tby mx.example.org (Postfix) with ESMTPS id {_token(r, 13)}\n\tfor <{RECIPIENT}>; {format_datetime(date)}",
        f"From: \"{c.brand}\" <news@{c.domain}>",
        f"To: Ana Pereira <{RECIPIENT}>",
        f"Subject: {_subject_header(page.subject)}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: <{_hex(r, 16)}.{i}@mail.{c.domain}>",
        f"X-Mailer: {page.vendor.name}",
        "MIME-Version: 1.0",
    ]
    if page.kind in ("newsletter", "promo"):
        headers += [f"List-Unsubscribe: <https://{c.domain}/u/{_hex(r, 32)}>, <mailto:unsub-{_hex(r, 12)}@{c.domain}>",
                    "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]
    headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    text_cte, text_body = _body(_text_version(html), charset, text_cte)
    html_cte, html_body = _body(html, charset, html_cte)
    head = "\n".join(headers) + f"""

This is a multi-part message in MIME format.

--{boundary}
Content-Type: text/plain; charset={charset}
Content-Transfer-Encoding: {text_cte}

"""
    middle = f"""
--{boundary}
Content-Type: text/html; charset={charset}
Content-Transfer-Encoding: {html_cte}

"""
    tail = f"""
--{boundary}--
"""
    if transfer == "encoded":   # each encoded body ends with its own line break
        return _crlf(head + text_body.decode("ascii") + middle + html_body.decode("ascii") + tail).encode("ascii")
    ascii_crlf = lambda t: _crlf(t).encode("ascii")  # noqa: E731
    return (ascii_crlf(head) + text_body + (b"" if text_body.endswith(b"\r\n") else b"\r\n") + ascii_crlf(middle[1:])
            + html_body + (b"" if html_body.endswith(b"\r\n") else b"\r\n") + ascii_crlf(tail[1:]))


def _subject_header(subject: str) -> str:
    if subject.isascii():
        return subject
    return "=?utf-8?b?" + base64.b64encode(subject.encode("utf-8")).decode("ascii") + "?="


def corpus(n: int, style: str = "plain") -> list[str]:
    """The first ``n`` HTML bodies (``generate_html(0, style) .. generate_html(n - 1, style)``)."""
    return [generate_html(i, style) for i in range(n)]


def heavy_corpus(n: int) -> list[str]:
    """The first ``n`` heavy-style bodies (:func:`generate_heavy_style_html`)."""
    return corpus(n, "heavy")


def messages(n: int, start: int = 0, style: str = "plain", transfer: str = "encoded") -> Iterator[bytes]:
    """Messages ``start .. start + n - 1``, one at a time (constant memory)."""
    for i in range(start, start + n):
        yield generate_message(i, style, transfer)


# --------------------------------------------------------------------------- CLI
_FROM_LINE = re.compile(rb"^(>*From )", re.M)


def write_mbox(path: str | os.PathLike[str], n: int, style: str = "plain", transfer: str = "encoded") -> None:
    """mboxrd with LF line endings (what mail clients and Python's ``mailbox`` write)."""
    with open(path, "wb") as out:
        for i, raw in enumerate(messages(n, style=style, transfer=transfer)):
            body = _FROM_LINE.sub(rb">\1", raw.replace(b"\r\n", b"\n"))
            stamp = (_EPOCH + timedelta(minutes=97 * i)).strftime("%a %b %d %H:%M:%S %Y").encode()
            out.write(b"From MAILER-DAEMON " + stamp + b"\n" + body + (b"" if body.endswith(b"\n") else b"\n") + b"\n")


def write_maildir(path: str | os.PathLike[str], n: int, style: str = "plain", transfer: str = "encoded") -> None:
    """A Maildir (``cur``/``new``/``tmp``); messages land in ``new`` with LF line endings."""
    root = Path(path)
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(messages(n, style=style, transfer=transfer)):
        (root / "new" / f"{1709539200 + i}.M{i}P0.bench").write_bytes(raw.replace(b"\r\n", b"\n"))


def write_files(path: str | os.PathLike[str], n: int, html: bool, style: str = "plain", transfer: str = "encoded") -> None:
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        if html:
            (root / f"{i:06d}.html").write_text(generate_html(i, style), encoding="utf-8")
        else:
            (root / f"{i:06d}.eml").write_bytes(generate_message(i, style, transfer))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a deterministic corpus of realistic HTML mail.")
    ap.add_argument("format", choices=["mbox", "maildir", "eml", "html"])
    ap.add_argument("out", help="output file (mbox) or directory")
    ap.add_argument("-n", type=int, default=1000, help="number of messages (default 1000)")
    ap.add_argument("--style", choices=STYLES, default="plain",
                    help="heavy: add a 20-60 KB head <style> as ESP templates ship (default plain)")
    ap.add_argument("--transfer", choices=TRANSFERS, default="encoded",
                    help="8bit: parts as written (7bit/8bit, lines within 998 bytes) instead of "
                         "quoted-printable/base64 (default encoded, the published corpus)")
    args = ap.parse_args(argv)
    if args.format == "mbox":
        write_mbox(args.out, args.n, args.style, args.transfer)
    elif args.format == "maildir":
        write_maildir(args.out, args.n, args.style, args.transfer)
    else:
        write_files(args.out, args.n, html=args.format == "html", style=args.style, transfer=args.transfer)
    print(f"wrote {args.n} messages to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
