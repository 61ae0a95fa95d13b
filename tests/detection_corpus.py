"""Hand-written corpora for detection quality (issue 3). Each entry is an HTML snippet.

RECALL: trackers that must be blocked and attributed (lying sizes, custom sender subdomains,
CSS-only, hashed recipient). HONEST: content that must survive ``--remote trackers``.
The recipient for every snippet is RECIPIENT.
"""
from __future__ import annotations

import base64
import hashlib

RECIPIENT = "maria.lopez@example.org"
_md5 = hashlib.md5(RECIPIENT.encode()).hexdigest()
_sha256 = hashlib.sha256(RECIPIENT.encode()).hexdigest()
_b64 = base64.urlsafe_b64encode(f'{{"email":"{RECIPIENT}","list":7}}'.encode()).decode().rstrip("=")

# (snippet, url that must be blocked, expected company substring)
RECALL: list[tuple[str, str, str]] = [
    # known vendors, sizes lying or absent
    ('<img src="{u}">', "https://us14.list-manage.com/track/open.php?u=aa11bb22&id=cc33dd44&e=ee55", "Mailchimp"),
    ('<img src="{u}" width="600" height="1">', "https://u12345.ct.sendgrid.net/wf/open?upn=aB1cD2eF3gH4iJ5kL6mN7oP8qR9", "SendGrid"),
    ('<img src="{u}" style="display:block" width="100%">', "https://r.us-east-1.awstrack.me/I0/0100018c-abc/xyz=123", "Amazon"),
    ('<img src="{u}">', "http://t.sidekickopen07.com/s3t/o/5/f18dQhb0S7kv8cpgQZVc6VPt59hl3kW7_", "HubSpot"),
    ('<img src="{u}" alt="">', "https://mandrillapp.com/track/open.php?u=30069729&id=a2b3c4d5e6", "Mandrill"),
    ('<img src="{u}">', "https://trk.klclick1.com/wf/open?upn=u001.Rk2vS8pMq1Tn7cXm4sZj0fHg6dV", "Klaviyo"),
    # CSS-only trackers
    ('<div style="background-image:url({u})">hi</div>', "https://us14.list-manage.com/track/open.php?u=1&id=2&e=3", "Mailchimp"),
    ('<style>.x{{background:url("{u}")}}</style><p class=x>x</p>', "https://x1y2z3.emltrk.com/x1y2z3?p&d=abc", "Litmus"),
    # custom sender subdomains, unknown to every list
    ('<img src="{u}">', "https://click.mail.bakery-example.com/wf/open?upn=aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0", "bakery-example.com"),
    ('<img src="{u}" width="1" height="1">', "https://news.bakery-example.com/img/p.gif?cid=8812&r=77", "bakery-example.com"),
    ('<img src="{u}" style="width:1px!important;height:1px!important">', "https://e.bakery-example.com/o/abc", "bakery-example.com"),
    ('<img src="{u}">', "https://email.shop-example.net/e/o/eyJ0IjoiMTIzNDU2Nzg5MCIsImUiOjF9", "shop-example.net"),
    ('<img src="{u}">', "https://links.shop-example.net/track/open?id=9a8b7c6d5e4f3a2b1c0d", "shop-example.net"),
    ('<img src="{u}" height="0">', "https://m.shop-example.net/beacon/5f4e3d2c1b0a", "shop-example.net"),
    ('<div style="display:none"><img src="{u}"></div>', "https://cdn.shop-example.net/assets/banner.jpg", "shop-example.net"),
    ('<img src="{u}" style="visibility:hidden">', "https://cdn.shop-example.net/assets/banner2.jpg", "shop-example.net"),
    # the recipient's own identity
    ('<img src="{u}" width="600" height="300">', f"https://img.shop-example.net/hero.jpg?h={_md5}", "shop-example.net"),
    ('<img src="{u}">', f"https://img.shop-example.net/o/{_sha256}.gif", "shop-example.net"),
    ('<img src="{u}" width="120">', f"https://img.shop-example.net/logo.png?d={_b64}", "shop-example.net"),
    ('<table><tr><td style="background:url({u})">x</td></tr></table>', f"https://img.shop-example.net/bg.png?e={RECIPIENT}", "shop-example.net"),
]

# (snippet, url that must load)
HONEST: list[tuple[str, str]] = [
    ('<img src="{u}" width="180" height="60" alt="Logo">', "https://cdn.bakery-example.com/brand/logo.png"),
    ('<img src="{u}" width="300" height="300">', "https://images.shop-example.net/products/7781/boots-brown.jpg"),
    ('<img src="{u}" width="24" height="24" alt="Instagram">', "https://cdn.shop-example.net/social/instagram.png"),
    ('<img src="{u}" width="32" height="32" alt="Facebook">', "https://static.xx.fbcdn.net/rsrc.php/v3/icon.png"),
    ('<img src="{u}" width="600" height="300" alt="Chart">', "https://quickchart.io/chart?c=%7Btype%3A%27bar%27%7D"),
    ('<img src="{u}" width="80" height="80">', "https://www.gravatar.com/avatar/205e460b479e2e5b48aec07710c08d50?s=80"),
    ('<img src="{u}" width="600">', "https://maps.googleapis.com/maps/api/staticmap?center=Berlin&zoom=13&size=600x300"),
    ('<img src="{u}" width="600" height="200">', "https://mcusercontent.com/8c1f2b3a4d5e6f708192a3b4c/images/5d1c2e3f-hero.jpg"),
    ('<img src="{u}" width="600">', "https://gallery.mailchimp.com/8c1f2b3a4d5e6f708192a3b4c/images/header.png"),
    ('<img src="{u}" width="560">', "https://substackcdn.com/image/fetch/w_1100,c_limit,f_auto/https%3A%2F%2Fbucket.s3.amazonaws.com%2Fimg.png"),
    ('<img src="{u}" width="200">', "https://firebasestorage.googleapis.com/v0/b/app.appspot.com/o/images%2Fphoto.jpg?alt=media&token=abc"),
    ('<img src="{u}" width="600" height="2">', "https://cdn.bakery-example.com/divider.png"),
    ('<img src="{u}" width="300">', "https://i.imgur.com/a1B2c3D.jpg"),
    ('<img src="{u}" width="580">', "https://images.unsplash.com/photo-1504674900247-0877df9cc836?w=580&q=80"),
    ('<img src="{u}" width="120">', "https://lh3.googleusercontent.com/a/ACg8ocKx-photo=s120"),
    ('<table><tr><td background="{u}" width="600" height="300">x</td></tr></table>', "https://cdn.bakery-example.com/hero-bg.jpg"),
    ('<div style="background-image:url({u});width:600px;height:200px">x</div>', "https://cdn.bakery-example.com/pattern.png"),
    ('<img src="{u}" width="1" height="1"><img src="{u}" width="1" height="1"><img src="{u}" width="1" height="1">',
     "https://cdn.bakery-example.com/spacer.gif"),
    ('<img src="{u}" width="1" height="10"><img src="{u}" width="1" height="20"><img src="{u}" width="1" height="30">',
     "https://cdn.bakery-example.com/s.gif"),
    ('<img src="{u}" width="1" height="1"><img src="{u}" width="200" height="100">', "https://cdn.bakery-example.com/logo-small.png"),
    ('<img src="{u}" width="150">', "https://d1abc2def3.cloudfront.net/uploads/2024/05/team-photo.jpg"),
    ('<img src="{u}" width="600">', "https://hubspot-example.hubspotusercontent-na1.net/hubfs/123456/banner.png"),
    ('<img src="{u}" width="90">', "https://img.youtube.com/vi/dQw4w9WgXcQ/hqdefault.jpg"),
    ('<img src="{u}" width="600">', "https://github.githubassets.com/images/email/global/octocat-logo.png"),
]
