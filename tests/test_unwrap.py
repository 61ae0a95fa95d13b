"""Wrapped links whose destination is in the link come out unwrapped; unrecoverable click
trackers stay working and are marked; unsubscribe links keep working; `rules check`/`rules list`
answer bad input with one clear line and exit 2.

Why: a reader who clicks an unwrapped link goes straight to the page, telling the sender
nothing; a link we cannot unwrap must still work, and the report must say it still tracks.
"""
from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from tracker_block import Options, clean_html
from tracker_block.engine.rules import load_rules
from tracker_block.cli.rules_cli import main as rules_main
from tracker_block.engine.urls import clean_link


def b64(s: str) -> str:
    return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")


DEST = "https://shop.example/item/42?colour=blue"
CIO = b64(json.dumps({"email_id": "dgSRiAcBAOqif==", "href": DEST, "internal": "91880744a961", "link_id": 24}))

WRAPPED = [
    ("streak", "https://streaklinks.com/BxXdp-CMTG0pfGhHOAYKxB4z/https%3A%2F%2Fshop.example%2Fitem%2F42%3Fcolour%3Dblue"),
    ("streak", "https://36889091.streaklinks.com/CgRwoQ4fH6y2vn7RjQRguKvm/https%3A%2F%2Fshop.example%2Fitem%2F42%3Fcolour%3Dblue"),
    ("customer-io", f"https://e.customeriomail.com/e/c/{CIO}/07115b1fd7a"),
    ("convertkit", "https://click.convertkit-mail2.com/d0uwowlp78h0ho8e20lumhznv7q44ilhokgvv/6qheh8hllrzr85bo/"
                   + base64.b64encode(DEST.encode()).decode()),
    ("convertkit", "https://bdfa326f.click.convertkit-mail2.com/p9u26om3z6f9/08hwh9h2nk49npsl/" + b64(DEST)),
    ("resend", "https://us-east-1.resend-clicks.com/CL0/" + quote(DEST, safe=":") + "/1/0100018c-abcdef/AbC=123"),
    ("elastic-email", "http://m7r7.trk.elasticemail.com/tracking/click?msgid=2rLfZC2rjxYb&target=" + quote(DEST, safe="")
                      + "&v="),
    ("mailjet", "https://1wwzn.mjt.lu/lnk/AUYAAJZ_u8sAAc7fQ14AA-_j058AAYKJInQAoTMkADFx-wBp5jXkibhiNlxtRNuEx5QBNOwcYAAtKWs/6/"
                "oOAhGpG22Re0NnP12rwSqQ/" + b64(DEST)),
]


@pytest.mark.parametrize("rule, url", WRAPPED)
def test_wrapper_is_unwrapped_offline(rule, url):
    res = clean_link(url, load_rules())
    assert (res.url, res.unwrapped_by) == (DEST, rule)


def test_unwrapped_link_in_a_message_is_reported_unwrapped_not_left_marked():
    doc = "".join(f'<p><a href="{u}">item</a></p>' for _, u in WRAPPED)
    res = clean_html(f"<html><body>{doc}</body></html>", Options())
    assert res.html.count(f'href="{DEST}"') == len(WRAPPED)
    actions = [f.action for f in res.findings if f.kind == "link"]
    assert actions.count("unwrapped") == len(WRAPPED) and "left-marked" not in actions


def test_hubspot_and_linkedin_tracking_parts_are_removed():
    rules = load_rules()
    assert clean_link("https://blog.example/post?_hsenc=p2ANqtz-8abc&_hsmi=123456&page=2", rules).url == \
        "https://blog.example/post?page=2"
    res = clean_link("https://www.linkedin.com/comm/jobs/view/3790?trackingId=abc%3D%3D&refId=x&lipi=urn%3Ali"
                     "&midToken=AQH&midSig=0a&trk=eml-email_job_alert&trkEmail=eml-x&eid=e1&otpToken=MTA", rules)
    assert res.url == "https://www.linkedin.com/jobs/view/3790" and res.unwrapped_by == "linkedin-comm"
    res = clean_html('<a href="https://www.linkedin.com/comm/in/someone?midToken=AQH&trk=eml">profile</a>', Options())
    assert 'href="https://www.linkedin.com/in/someone"' in res.html
    assert not [f for f in res.findings if f.action == "left-marked"]


def test_unrecoverable_click_tracker_stays_working_and_is_marked():
    opaque = "https://e.customeriomail.com/e/c/notbase64json/sig"   # no destination inside
    res = clean_html(f'<a href="{opaque}">read</a>', Options())
    assert f'href="{opaque}"' in res.html
    assert [f.action for f in res.findings if f.kind == "link"] == ["left-marked"]
    streak_opaque = "https://streaklinks.com/BxXdp-CMTG0pfGhHOAYKxB4z"
    res = clean_html(f'<a href="{streak_opaque}">read</a>', Options())
    assert f'href="{streak_opaque}"' in res.html and [f.action for f in res.findings] == ["left-marked"]


def test_broken_tokens_do_not_crash_or_invent_destinations():
    rules = load_rules()
    for url in ("https://e.customeriomail.com/e/c/eyJub3RqcHNvbg/sig",          # base64 of invalid JSON
                "https://e.customeriomail.com/e/c/" + b64('{"href": 5}') + "/sig",  # href not a string
                "https://e.customeriomail.com/e/c/" + b64('{"href": "javascript:alert(1)"}') + "/s",
                "https://x.mjt.lu/lnk/AAA/1/BBB/aHR0c%%%"):
        res = clean_link(url, rules)
        assert res.url == url and res.unwrapped_by is None, url


def test_unsubscribe_link_keeps_its_parameters_after_unwrapping():
    unsub = "https://shop.example/unsubscribe?u=123&utm_source=mail&list=9"
    wrapped = "https://click.convertkit-mail2.com/abc123/def456/" + b64(unsub)
    res = clean_html(f'<a href="{wrapped}">Unsubscribe</a>', Options())
    assert f'href="{unsub.replace("&", "&amp;")}"' in res.html


# ---------------------------------------------------------------- rules check / rules list input

def test_rules_check_bare_host_is_judged_as_a_host(capsys):
    assert rules_main(["check", "emltrk.com"]) == 0
    out = capsys.readouterr().out
    assert "no scheme: judged as https://emltrk.com" in out and "image    TRACKER" in out


@pytest.mark.parametrize("bad, msg", [
    ("", "got an empty string"),
    ("   ", "got an empty string"),
    ("not a url", "is not a web URL"),
    ("mailto:a@b.example", "is not a web URL"),
    ("https://", "has no host name"),
])
def test_rules_check_bad_input_is_a_clear_error(bad, msg, capsys):
    assert rules_main(["check", bad]) == 2
    cap = capsys.readouterr()
    assert msg in cap.err and cap.err.count("\n") == 1 and not cap.out


def test_rules_list_unknown_category_lists_the_valid_ones(capsys):
    assert rules_main(["list", "--category", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert "unknown category 'nonsense'" in err and "advertising" in err and "email-service-provider" in err
    assert rules_main(["list", "--category", "advertising"]) == 0
    out = capsys.readouterr().out
    assert "openx" in out and "liveintent" in out and "mailchimp" not in out


@pytest.mark.parametrize("url", [
    "https://info.brand.example/e3t/Ctc/L1+113/cXNWV04/VW3abc",          # HubSpot on the sender's domain
    "https://url1234.brand.example/ls/click?upn=abc-2Bdef-3D",          # SendGrid CNAME
    "https://links.brand.example/a/click?_t=abc&_m=def&_e=ghi",          # Iterable CNAME
])
def test_click_paths_on_the_senders_own_domain_are_left_marked(url):
    res = clean_html(f'<a href="{url}">read</a>', Options())
    assert f'href="{url}"' in res.html
    marked = [f for f in res.findings if f.action == "left-marked"]
    assert len(marked) == 1 and marked[0].reason.startswith("list:tracker-block/")


def test_honest_links_on_the_same_domains_are_not_marked():
    for url in ("https://brand.example/click-and-collect", "https://brand.example/a/clicker?_t=1",
                "https://brand.example/ls/clickable"):
        assert not clean_html(f'<a href="{url}">x</a>', Options()).findings, url


def test_customer_io_on_the_senders_own_link_domain():
    wrapped = f"https://links.brand.example/e/c/{CIO}/07115b1fd7a"
    res = clean_html(f'<a href="{wrapped}">item</a>', Options())
    assert f'href="{DEST.replace("&", "&amp;")}"' in res.html
    assert [f.action for f in res.findings] == ["unwrapped"]
    opaque = "https://links.brand.example/e/c/eyJ" + "x" * 30 + "/07115b1fd7a"   # does not decode
    res = clean_html(f'<a href="{opaque}">item</a>', Options())
    assert f'href="{opaque}"' in res.html and [f.action for f in res.findings] == ["left-marked"]
    for honest in ("https://brand.example/e/c/eyJ-is-not-a-token", "https://brand.example/e/c/eyjafjallajokull/day-1"):
        assert clean_html(f'<a href="{honest}">x</a>', Options()).findings == [], honest
