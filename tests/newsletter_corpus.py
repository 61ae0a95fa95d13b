"""Newsletter-shaped corpora for issue 13: every image vector x every signal class, and honest images.

Each fixture is a whole message body in the shape an ESP sends it: the ``<head>`` with the
template's own ``<style>`` (mobile ``@media`` rules, dark-mode rules, Outlook fixes), a hidden
preheader, nested layout tables, the ESP's content-image host, and the sender's From domain.
The shells below follow the markup the ESPs themselves emit (Mailchimp ``mcnImage``/``templateHeader``,
SendGrid's ``data-type="image"`` modules, Klaviyo's ``kl-`` blocks, HubSpot's ``hse-`` columns,
Salesforce Marketing Cloud's ``stylingblock`` tables, Braze, Substack, Beehiiv, Campaign Monitor,
Iterable), and the tracking URLs follow the path shapes those platforms use on custom domains.

RECALL: ``Recall`` fixtures, one tracker load each (and the shell's honest images, which must stay).
HONEST: ``Honest`` documents, each holding many honest images and (as real mail does) the ESP's
own open pixel, which must go while every other image of the same host stays.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

RECIPIENT = "maria.lopez@example.org"
_MD5 = hashlib.md5(RECIPIENT.encode()).hexdigest()

# ----------------------------------------------------------------------------- shells


@dataclass(frozen=True)
class Shell:
    esp: str
    sender: str          # From address
    images: str          # the ESP's content-image base URL (ends with "/")
    style: str           # the template's own <style>
    top: str             # markup before the fixture's block (logo, preheader)
    bottom: str          # markup after it (footer icons)

    def doc(self, body: str, extra_style: str = "") -> str:
        return (
            '<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" '
            'xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
            '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
            '<meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark">'
            f'<title>{self.esp} newsletter</title><style type="text/css">{self.style}{extra_style}</style>'
            '<!--[if mso]><xml><o:OfficeDocumentSettings><o:PixelsPerInch>96</o:PixelsPerInch>'
            '</o:OfficeDocumentSettings></xml><![endif]--></head>'
            '<body style="margin:0;padding:0;background-color:#f4f4f4">'
            '<center><table role="presentation" border="0" cellpadding="0" cellspacing="0" width="100%" '
            'style="border-collapse:collapse"><tr><td align="center" valign="top">'
            f'{self.top}<table role="presentation" width="600" class="container" cellpadding="0" cellspacing="0">'
            f'<tr><td class="content" style="padding:20px">{body}</td></tr></table>{self.bottom}'
            '</td></tr></table></center></body></html>'
        )


_BASE_STYLE = (
    "body,table,td,a{-webkit-text-size-adjust:100%;-ms-text-size-adjust:100%}"
    "table,td{mso-table-lspace:0pt;mso-table-rspace:0pt}img{-ms-interpolation-mode:bicubic;border:0;outline:none}"
    ".preheader{display:none!important;visibility:hidden;opacity:0;color:transparent;height:0;width:0}"
    "@media only screen and (max-width:600px){.container{width:100%!important}"
    ".fluid{width:100%!important;max-width:100%!important;height:auto!important}"
    ".stack-column{display:block!important;width:100%!important}}"
)


def _shell(esp: str, domain: str, images: str, style: str = "", logo: str = "logo.png") -> Shell:
    top = (f'<span class="preheader" style="display:none;font-size:1px;color:#fff;line-height:1px;max-height:0;'
           f'max-width:0;opacity:0;overflow:hidden">This week at {domain}&nbsp;&zwnj;</span>'
           f'<table role="presentation" width="600" class="container"><tr><td align="center" style="padding:24px 0">'
           f'<a href="https://www.{domain}/"><img src="{images}{logo}" width="180" height="48" alt="{domain}" '
           f'style="display:block;height:auto"></a></td></tr></table>')
    bottom = (f'<table role="presentation" width="600" class="container"><tr><td align="center" style="padding:16px">'
              f'<a href="https://www.instagram.com/{domain.split(".")[0]}"><img src="{images}social/instagram.png" '
              f'width="32" height="32" alt="Instagram"></a>&nbsp;<a href="https://www.facebook.com/{domain.split(".")[0]}">'
              f'<img src="{images}social/facebook.png" width="32" height="32" alt="Facebook"></a>'
              f'<p style="font-size:11px;color:#888">{domain} &middot; 12 Harbour Street &middot; '
              f'<a href="https://www.{domain}/unsubscribe">Unsubscribe</a></p></td></tr></table>')
    return Shell(esp, f"news@{domain}", images, _BASE_STYLE + style, top, bottom)


SHELLS = [
    _shell("Mailchimp", "northwind-outfitters.com",
           "https://mcusercontent.com/8c1f2b3a4d5e6f708192a3b4c/images/",
           "#bodyTable{height:100%!important}.mcnImage{vertical-align:bottom}"
           "@media only screen and (max-width:480px){.mcnImage{width:100%!important}}"),
    _shell("SendGrid", "fernhill-coffee.com",
           "https://cdn.mcauto-images-production.sendgrid.net/a1b2c3d4e5f60718/",
           "[data-type=\"image\"] img{max-width:100%}"),
    _shell("Klaviyo", "lumen-skincare.com",
           "https://d3k81ch9hvuctc.cloudfront.net/company/XyZ123/images/",
           ".kl-img{display:block}@media (prefers-color-scheme: dark){.kl-body{background:#111!important}}"),
    _shell("HubSpot", "acme-analytics.io",
           "https://hs-4021587.f.hubspotemail.net/hubfs/4021587/",
           ".hse-column{display:inline-block}"),
    _shell("Salesforce Marketing Cloud", "harbor-airlines.com",
           "https://image.email.harbor-airlines.com/lib/fe9712727d6c0d7f7c/m/1/",
           ".stylingblock-content-wrapper{width:100%}"),
    _shell("Braze", "quillpay.app",
           "https://braze-images.com/appboy/communication/assets/image_assets/images/",
           "@media screen and (max-width:480px){.braze-col{display:block!important}}"),
    _shell("Substack", "slowreads.substack.com",
           "https://substackcdn.com/image/fetch/w_1100,c_limit,f_auto,q_auto:good/",
           ".post-body img{max-width:100%}"),
    _shell("Beehiiv", "thedailyfold.com",
           "https://media.beehiiv.com/cdn-cgi/image/fit=scale-down,format=auto,quality=80/uploads/asset/file/",
           ".bh__byline_wrapper{padding:0}"),
    _shell("Campaign Monitor", "green-valley-farms.org",
           "https://i1.createsend1.com/ei/r/29/A1B/2C3/csimport/",
           "@media only screen and (max-width:620px){.wrapper .column{max-width:320px!important}}"),
    _shell("Iterable", "trailmix-games.com",
           "https://library.iterable.com/1432/20555/",
           ".it-hero{width:100%}"),
    # Dotdigital serves the template's images and the open pixel from one host that lists name whole:
    # the photos must not be guilty by association.
    _shell("Dotdigital", "copperline-tools.co.uk",
           "https://r1.dmtrk.net/5f3a/images/",
           "@media only screen and (max-width:599px){.dd-col{width:100%!important}}"),
]

# ----------------------------------------------------------------------------- recall


@dataclass(frozen=True)
class Recall:
    name: str            # "<vector>--<signal class>"
    shell: Shell
    html: str
    tracker: str         # the tracker URL as the browser would request it
    signal: str          # words ("a|b": either) the finding's reason must contain
    company: str         # a word the finding's company must contain
    fires: bool          # whether the original fires it in headless Chromium (static vectors do not)


def _token(seed: str, n: int = 32) -> str:
    """A per-recipient opaque token (base62-ish), deterministic per fixture."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"
    digest = hashlib.sha256(seed.encode()).digest() * 2
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


def _signal_urls(domain: str, seed: str, i: int) -> dict[str, tuple[str, str]]:
    """URL per signal class on hosts no list names: (url, the word its finding must carry)."""
    t = _token(seed)
    file_names = ["open.gif", "o.gif", "p.gif", "pixel.png", "beacon.gif", "1x1.gif", "t.png", "read.gif"]
    esp_paths = [f"/wf/open?upn={t}", f"/e/o/{t}", f"/o/{t}", f"/track/open?id={t[:20]}&c=88121",
                 f"/open.aspx?ffcb10-{t[:24]}", f"/open/1/5521/88{i:03d}/{t[:16]}", f"/ss/o/{t}/4bb/{t[:12]}/ho.gif",
                 f"/e2t/to/{t}", f"/mo/{t}", f"/tr/op/{t}", f"/email/open?mid=8812{i}&rid={t[:22]}",
                 f"/q/{t}~~/AAAAAQA~/RgRh{t[:10]}"]
    impressions = [f"https://ads.{domain}/w/1.0/ai?auid=5388{i:02d}&cs={t[:12]}",
                   f"https://stats.{domain}/piwik.php?idsite=3&rec=1&action_name=email-open&_id={t[:16]}",
                   f"https://analytics.{domain}/matomo.php?idsite=7&rec=1&e_c=newsletter&e_a=open&uid={t[:12]}",
                   f"https://www.{domain}/imp?z=4411&c=7781{i}&rid={t[:18]}",
                   f"https://blog.{domain}/g.gif?v=ext&blog=1234{i}&post=5678&rand={t[:8]}",
                   f"https://www.{domain}/collect?v=1&tid=UA-5512-{i}&cid={t[:12]}&t=event&ec=email&ea=open",
                   f"https://ads.{domain}/impression?campaign=412{i}&creative=88&uid={t[:14]}"]
    subdomains = ["email", "click", "track", "t", "e", "links", "trk", "em", "mail", "go", "ablink"]
    sub = subdomains[i % len(subdomains)]
    return {
        "filename": (f"https://www.{domain}/images/{file_names[i % len(file_names)]}?u=8812{i}&m=55{i:02d}",
                     "tracking-filename"),
        "subdomain": (f"https://{sub}.{domain}/v1/{t}", "tracking-subdomain"),
        "esp-path": (f"https://news.{domain}{esp_paths[i % len(esp_paths)]}", "tracking-path|generic-rule"),
        "impression": (impressions[i % len(impressions)], "impression"),
        "recipient": (f"https://img.{domain}/assets/banner-{i}.jpg?h={_MD5}", "recipient-id"),
    }


# Image vectors: (name, markup with {u} tracker and {c} content URL, extra <style>, fires headless?)
# Protocol-relative vectors write the URL without its scheme; the rest as is.
VECTORS: list[tuple[str, str, str, bool]] = [
    ("img-src", '<img src="{u}" width="600" alt="" style="display:block;border:0">', "", True),
    ("srcset-later", '<img src="{c}" srcset="{c} 300w, {u} 1200w" sizes="600px" width="600" alt="Hero" class="fluid">',
     "", True),
    ("picture-source", '<picture><source srcset="{u}" media="(min-width: 1px)"><img src="{c}" width="600" alt="Sale">'
     '</picture>', "", True),
    ("background-upper", '<table role="presentation" width="600"><tr><td BACKGROUND="{u}" width="600" height="200" '
     'valign="top" style="background-size:cover"><h1 style="color:#fff">Autumn drop</h1></td></tr></table>', "", True),
    ("style-attr", '<div style="background-image:url(\'{u}\');background-size:cover;height:240px">'
     '<p style="color:#fff">New season</p></div>', "", True),
    ("style-rule", '<div class="hero-bg" style="height:200px">Our story</div>', ".hero-bg{{background:#333 url({u}) no-repeat}}",
     True),
    ("style-media", '<div class="banner-wide" style="height:120px">Free shipping</div>',
     "@media screen and (min-width:1px){{.banner-wide{{background-image:url(\"{u}\")!important}}}}", True),
    ("style-hover", '<a class="cta" href="https://www.example.com/shop" style="display:inline-block;padding:12px">Shop now</a>',
     ".cta:hover{{background:#c00 url({u})}}", False),
    ("style-print", '<p>Print this coupon</p>', "@media print{{body{{background:url({u})}}}}", False),
    ("vml-fill", '<!--[if gte mso 9]><v:rect xmlns:v="urn:schemas-microsoft-com:vml" fill="true" stroke="false" '
     'style="width:600px;height:300px;"><v:fill type="tile" src="{u}" color="#1d2b36" /><v:textbox inset="0,0,0,0">'
     '<![endif]--><div style="background:#1d2b36;height:300px">Hero</div><!--[if gte mso 9]></v:textbox></v:rect><![endif]-->',
     "", False),
    ("vml-image", '<!--[if mso]><v:image xmlns:v="urn:schemas-microsoft-com:vml" src="{u}" '
     'style="width:600px;height:300px" /><![endif]--><p>Outlook hero</p>', "", False),
    ("protocol-relative", '<img src="{pr}" width="600" height="300" alt="Feature">', "", False),
]

# Hidden-ness and size resolved from the template's own <style>: trackers that only CSS gives away.
HIDDEN_FIXTURES: list[tuple[str, str, str]] = [
    ("hidden-by-class", '<img class="trk-hide" src="{u}" alt="">', ".trk-hide{{display:none!important}}"),
    ("hidden-parent-class", '<div class="ghost"><img src="{u}" alt=""></div>', "div.ghost{{display:none}}"),
    ("tiny-by-class", '<img class="px" src="{u}" alt="">', "img.px{{width:1px!important;height:1px!important}}"),
    ("hidden-inline-never-shown", '<div style="display:none;max-height:0;overflow:hidden"><img src="{u}" '
     'class="mobile-only"></div>', "@media (max-width:600px){{.desktop-only{{display:none!important}}}}"),
    ("hidden-visibility-rule", '<table><tr><td class="offscreen"><img src="{u}" width="600"></td></tr></table>',
     "td.offscreen{{visibility:hidden}}"),
    ("tiny-attr-css-confirms", '<img src="{u}" width="1" height="1" class="pix">', ".pix{{border:0;display:block}}"),
    # the shape of a custom-tag library's pixel (bennadel/ColdFusion-Custom-Tag-Emails TrackingPixel.cfm):
    # 1px inline, and the mobile @media rule keeps it 1px
    ("tiny-inline-and-media", '<p aria-hidden="true" class="email-tracking-pixel" style="font-size:1px;height:1px;'
     'line-height:1px;overflow:hidden"><img src="{u}" width="1" height="1" alt="" class="email-tracking-pixel-image" '
     'style="height:1px;width:1px"></p>',
     "@media only screen and (max-width:600px){{.email-tracking-pixel img{{height:1px!important;width:1px!important}}}}"),
]


def _build_recall() -> list[Recall]:
    out: list[Recall] = []
    i = 0
    for vname, markup, vstyle, fires in VECTORS:
        for sclass in ("filename", "subdomain", "esp-path", "impression", "recipient"):
            shell = SHELLS[i % len(SHELLS)]
            domain = shell.sender.split("@")[1]
            url, signal = _signal_urls(domain, f"{vname}/{sclass}", i)[sclass]
            content = f"{shell.images}hero-{i}.jpg"
            body = markup.format(u=url, c=content, pr=url.split(":", 1)[1])
            style = vstyle.format(u=url)
            company = domain.split(".")[-2] if domain.count(".") > 1 else domain.split(".")[0]
            out.append(Recall(f"{vname}--{sclass}", shell, shell.doc(body, style), url, signal, company, fires))
            i += 1
    for name, markup, vstyle in HIDDEN_FIXTURES:
        shell = SHELLS[i % len(SHELLS)]
        domain = shell.sender.split("@")[1]
        url = f"https://cdn.{domain}/mail/{name}-{i}.png"
        body = markup.format(u=url)
        company = domain.split(".")[-2] if domain.count(".") > 1 else domain.split(".")[0]
        signal = "tiny-image" if "tiny" in name else "hidden-image"
        out.append(Recall(name, shell, shell.doc(body, vstyle.format(u=url)), url, signal, company, False))
        i += 1
    return out


RECALL: list[Recall] = _build_recall()

# ----------------------------------------------------------------------------- honest


@dataclass(frozen=True)
class Honest:
    name: str
    shell: Shell
    html: str
    images: tuple[str, ...]     # every honest image URL in the document (shell ones included)
    pixel: str | None = None    # the ESP's own open pixel in the same mail (must go)
    rendered: tuple[str, ...] = field(default=())   # the honest images Chromium fetches at its default size


_RESPONSIVE_STYLE = (
    "@media only screen and (max-width:600px){"
    ".mobile-only{display:block!important;max-height:none!important;overflow:visible!important;width:100%!important;"
    "height:auto!important}.desktop-only{display:none!important}"
    "table.mobile-show,div.mobile-show{display:block!important;max-height:none!important}}"
    "@media (prefers-color-scheme: dark){.dark-img{display:block!important;width:auto!important;"
    "overflow:visible!important;max-height:none!important}.light-img{display:none!important}"
    ".dark-bg{background-image:url(https://{host}/dm/hero-dark.jpg)!important}}"
    "[data-ogsc] .dark-img{display:block!important}[data-ogsc] .light-img{display:none!important}"
    ".fluid-img{width:600px!important;height:auto!important;max-width:100%!important}"
    ".icon-24{width:24px;height:24px}"
    "@media only screen and (max-width: 599px){.em_hide{display:none !important}"
    ".em_full_img img{width:100% !important;height:auto !important}}"
)

# Honest image shapes: (name, markup with {b} = ESP image base, {n} = index). Each <img>/url counts once.
HONEST_BLOCKS: list[tuple[str, str]] = [
    ("mobile-alternate", '<img class="desktop-only" src="{b}banner-desktop-{n}.jpg" width="600" height="240" alt="Sale">'
     '<img class="mobile-only" src="{b}banner-mobile-{n}.jpg" width="320" height="320" alt="Sale" '
     'style="display:none;max-height:0;overflow:hidden;mso-hide:all">'),
    ("mobile-container", '<div class="mobile-show" style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
     '<img src="{b}mobile-nav-{n}.png" width="320" height="60" alt="Menu"></div>'),
    ("dark-mode-alternate", '<img class="light-img" src="{b}logo-light-{n}.png" width="200" height="50" alt="Logo">'
     '<img class="dark-img" src="{b}logo-dark-{n}.png" width="200" height="50" alt="Logo" '
     'style="display:none;overflow:hidden;width:0;max-height:0">'),
    ("zero-attrs-css-sized", '<img class="fluid-img" src="{b}product-{n}.jpg" width="0" height="0" alt="Product">'),
    ("css-sized-icon", '<img class="icon-24" src="{b}icons/star-{n}.png" width="1" height="1" alt="*">'),
    ("retina-srcset", '<img src="{b}photo-{n}.jpg" srcset="{b}photo-{n}.jpg 1x, {b}photo-{n}@2x.jpg 2x, '
     '{b}photo-{n}@3x.jpg 3x" width="280" height="180" alt="Photo">'),
    ("picture-webp", '<picture><source srcset="{b}card-{n}.webp" type="image/webp">'
     '<img src="{b}card-{n}.png" width="280" alt="Card"></picture>'),
    ("hashed-cdn", '<img src="https://cdn.shopify.com/s/files/1/0533/2089/files/7f3e9a1c2b4d5e6f7a8b9c0d1e2f3a4b_{n}.jpg'
     '?v=1699999999" width="280" alt="Shop">'),
    ("uuid-path", '<img src="{b}3f2a9c4e-1b7d-4e8a-9c2f-5d6e7f8a9b{n:02d}.png" width="560" alt="Feature">'),
    ("css-hero", '<table role="presentation" width="100%"><tr><td class="hero-cell" background="{b}hero-bg-{n}.jpg" '
     'style="background-image:url(\'{b}hero-bg-{n}.jpg\');background-size:cover" height="300"><h2>Hello</h2></td></tr>'
     '</table>'),
    ("spacer", '<img src="{b}spacer.gif" width="1" height="20" alt="" style="display:block">'
     '<img src="{b}spacer.gif" width="1" height="10" alt="" style="display:block">'
     '<img src="{b}spacer.gif" width="20" height="1" alt="">'),
    ("divider", '<img src="{b}divider-{n}.png" width="600" height="2" alt="" style="display:block">'),
    ("social-row", '<a href="https://twitter.com/x"><img src="{b}social/x-{n}.png" width="24" height="24" alt="X"></a>'
     '<a href="https://www.linkedin.com/company/x"><img src="{b}social/linkedin-{n}.png" width="24" height="24" alt="in"></a>'
     '<a href="https://www.youtube.com/@x"><img src="{b}social/youtube-{n}.png" width="24" height="24" alt="YouTube"></a>'),
    ("avatar-tokenish", '<img src="https://lh3.googleusercontent.com/a/ACg8ocKx7Qe2Lr9Zt4Wv1Yb6Nm3Ps8Dh5Fj0Gk{n:02d}=s96-c" '
     'width="48" height="48" alt="Author">'),
    ("unsplash-query", '<img src="https://images.unsplash.com/photo-1504674900247-0877df9cc8{n:02d}?w=580&q=80&auto=format" '
     'width="580" alt="Food">'),
    ("cloudinary", '<img src="https://res.cloudinary.com/demo/image/upload/c_fill,w_600,h_300/v1699{n:04d}/newsletter/cover.jpg" '
     'width="600" height="300" alt="Cover">'),
    ("dark-bg-css", '<div class="dark-bg" style="background-image:url(\'{b}hero-light-{n}.jpg\');height:200px">Hi</div>'),
    # shapes of a public template's styleTags (.em_hide at <600px, .em_full_img img fluid)
    ("hidden-on-mobile-only", '<img class="em_hide" src="{b}desktop-aside-{n}.png" width="180" height="400" alt="Aside">'),
    ("fluid-full-img", '<div class="em_full_img"><img src="{b}full-{n}.jpg" width="600" height="1" alt="Banner" '
     'style="display:block"></div>'),
    # content the sender hosts on its own mail subdomains (one signal each, never enough alone)
    ("sender-subdomain-content", '<img src="https://email.{d}/images/newsletter/2024/11/feature-{n}.jpg" width="560" '
     'alt="Feature"><img src="https://click.{d}/assets/8c1f2b3a/footer-{n}.png?v=3" width="600" height="80" alt="">'),
    ("small-badge", '<img src="{b}badges/app-store-{n}.png" width="120" height="40" alt="App Store">'),
]


def _count_images(markup: str) -> list[str]:
    import re
    urls = re.findall(r"""(?:src|background)=["']([^"']+)["']""", markup, flags=re.I)
    urls += re.findall(r"""url\(['"]?([^'")]+)""", markup)
    for srcset in re.findall(r'srcset="([^"]+)"', markup):
        urls += [c.strip().split()[0] for c in srcset.split(",")]
    return urls


_OPEN_PIXELS = {
    "Mailchimp": "https://northwind-outfitters.us14.list-manage.com/track/open.php?u=8c1f2b3a4d5e6f708192a3b4c&id=5d1c2e3f4a&e=9a8b7c6d5e",
    "SendGrid": "https://u4411822.ct.sendgrid.net/wf/open?upn=u001.Kx7Qe2Lr9Zt4Wv1Yb6Nm3Ps8Dh5Fj0Gk-2Bq7",
    "Klaviyo": "https://trk.klclick1.com/wf/open?upn=u001.Rk2vS8pMq1Tn7cXm4sZj0fHg6dV",
    "HubSpot": "https://d2v8tf04.na1.hubspotlinks.com/Cto/5B+113/d2v8tf04/VW3abc1xY2Z/open",
    "Salesforce Marketing Cloud": "https://click.email.harbor-airlines.com/open.aspx?ffcb10-fec0157277600c7f-fe5b1c7873650"
                                  "47e7c1274-fe9712727d6c0d7f7c-ff2d1571-fe2a127472630679701c75-ff9813797d6c",
    "Braze": "https://ablink.e.quillpay.app/wf/open?upn=u001.Zt4Wv1Yb6Nm3Ps8Dh5Fj0Gk",
    "Substack": "https://eotrx.substackcdn.com/open?token=eyJtIjoiMTIzNDU2IiwidSI6Nzc4OH0.Kx7Qe2Lr9Zt4Wv1Yb6",
    "Beehiiv": "https://mail.beehiiv.com/o/eyJ2IjoxLCJ1IjoiNzc4OCJ9.Zt4Wv1Yb6Nm3Ps8Dh5Fj0",
    "Campaign Monitor": "https://green-valley-farms.createsend1.com/t/r-o-akdlkt-l/o.gif",
    "Iterable": "https://links.iterable.com/e/eo?_t=5f4e3d2c1b0a49f8a7b6c5d4e3f2a1b0&_m=a1b2c3d4e5f6&_e=Zt4Wv1Yb6",
    "Dotdigital": "https://r1.dmtrk.net/5f3a/o.gif?c=4412087&r=Kx7Qe2Lr9Zt4Wv1Yb6Nm3Ps8",
}


def _build_honest() -> list[Honest]:
    out: list[Honest] = []
    for s, shell in enumerate(SHELLS):
        blocks = [HONEST_BLOCKS[(s * 7 + k) % len(HONEST_BLOCKS)] for k in range(10)]
        body = []
        for k, (_, markup) in enumerate(blocks):
            domain = shell.sender.split("@")[1]
            body.append(f'<tr><td class="stack-column" style="padding:8px 0">'
                        f'{markup.format(b=shell.images, n=s * 10 + k, d=domain)}'
                        f'</td></tr>')
        pixel = _OPEN_PIXELS[shell.esp]
        html_body = (f'<table role="presentation" width="100%">{"".join(body)}</table>'
                     f'<img src="{pixel}" width="1" height="1" alt="" border="0" '
                     f'style="height:1px!important;width:1px!important;border-width:0!important;margin:0!important;'
                     f'padding:0!important">')
        host = shell.images.split("/")[2]
        doc = shell.doc(html_body, _RESPONSIVE_STYLE.replace("{host}", host))
        imgs = [u for u in _count_images(shell.top + html_body + shell.bottom) if u != pixel]
        imgs.append(f"https://{host}/dm/hero-dark.jpg")
        out.append(Honest(f"{shell.esp}", shell, doc, tuple(dict.fromkeys(imgs)), pixel))
    return out


HONEST: list[Honest] = _build_honest()
HONEST_IMAGE_COUNT = sum(len(h.images) for h in HONEST)
