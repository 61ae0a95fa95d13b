"""--remote all placeholders, measured in real Chromium: the layout of the mail does not move."""
from __future__ import annotations

import json

from browser import Browser
from tracker_block import Options, clean_html

GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
DOC = ('<html><body style="background:#ffffff;margin:0">'
       '<p>Follow us <img id="icon" src="https://cdn.example.com/fb.png" width="24" height="24" alt="Facebook"> '
       'and more text</p>'
       '<img id="logo" src="https://cdn.example.com/logo.png" width="564" height="80" alt="Acme Corporation">'
       '<img id="css" src="https://cdn.example.com/banner.png" style="width:300px;height:50px" alt="">'
       '<table><tr><td id="hero" style="background-image:url(https://cdn.example.com/hero.jpg);padding:40px">'
       '<h1 id="title" style="color:#ffffff">Winter sale</h1></td></tr></table>'
       '<div id="dark" style="background:url(https://cdn.example.com/b.jpg) #202020;color:#fff">kept colour</div>'
       "</body></html>")
MEASURE = """JSON.stringify({
  boxes: ['icon', 'logo', 'css'].map(i => { const r = document.getElementById(i).getBoundingClientRect();
                                            return [r.width, r.height]; }),
  hero: getComputedStyle(document.getElementById('hero')).backgroundColor,
  title: getComputedStyle(document.getElementById('title')).color,
  dark: getComputedStyle(document.getElementById('dark')).backgroundColor})"""


def _luminance(css_colour: str) -> float:
    parts = css_colour[css_colour.index("(") + 1:-1].split(",")
    r, g, b = (int(float(x)) / 255 for x in parts[:3])
    alpha = float(parts[3]) if len(parts) > 3 else 1.0
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return alpha * lum + (1 - alpha) * 1.0          # over the white page


def test_placeholders_keep_the_image_size_and_light_text_stays_readable() -> None:
    out = clean_html(DOC, Options(mode="all"))
    assert "cdn.example.com/fb.png" not in out.html.replace('data-tb-src="https://cdn.example.com/fb.png"', "")
    with Browser(concurrency=1) as b:
        real = json.loads(b.evaluate(DOC.replace("https://cdn.example.com/", GIF + "#"), MEASURE))
        assert b.render(out.html) == set()                           # nothing loads
        shown = json.loads(b.evaluate(out.html, MEASURE))
    assert real["boxes"] == [[24, 24], [564, 80], [300, 50]]
    assert shown["boxes"] == real["boxes"]                           # same size as the image it stands for
    # white text whose dark photo was removed: the cell gets a background the text reads on
    assert _luminance(shown["title"]) > 0.9
    assert _luminance(shown["hero"]) < 0.5
    assert shown["dark"] == "rgb(32, 32, 32)"                        # the template's own colour is kept
