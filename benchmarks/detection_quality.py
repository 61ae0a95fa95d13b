"""Recall and false positives of the engine on the newsletter corpora (tests/newsletter_corpus.py).

Each fixture is sent through ``clean_message`` as a real MIME message (From: the newsletter's
sender, To: the recipient), in the default mode. Prints one line per miss and the totals:

    python benchmarks/detection_quality.py [-v]
"""
from __future__ import annotations

import sys
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from newsletter_corpus import HONEST, RECALL, RECIPIENT  # noqa: E402

from tracker_block import Options  # noqa: E402
from tracker_block.engine.clean import clean_message  # noqa: E402


def message(sender: str, html: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = RECIPIENT
    msg["Subject"] = "This week"
    msg["Message-ID"] = "<corpus@example.org>"
    msg.set_content("plain text alternative")
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def clean(sender: str, html: str):
    """(cleaned html, findings) for one corpus document."""
    out, report = clean_message(message(sender, html), Options())
    from email import message_from_bytes, policy
    parsed = message_from_bytes(out, policy=policy.default)
    body = parsed.get_body(("html",))
    return body.get_content(), report.findings


def measure(verbose: bool = False) -> dict[str, int]:
    caught = 0
    for fx in RECALL:
        _, findings = clean(fx.shell.sender, fx.html)
        if any(f.action == "removed" and f.url and fx.tracker in (f.url, "https:" + f.url) for f in findings):
            caught += 1
        elif verbose:
            print(f"missed  {fx.name:40} {fx.tracker}")
    lost = pixels = 0
    for doc in HONEST:
        out, findings = clean(doc.shell.sender, doc.html)
        removed = {f.url for f in findings if f.action == "removed"}
        for url in doc.images:
            if url in removed or (url not in out and url.replace("&", "&amp;") not in out):
                lost += 1
                if verbose:
                    print(f"lost    {doc.name:28} {url}")
        if doc.pixel in removed:
            pixels += 1
        elif verbose:
            print(f"pixel kept {doc.name:25} {doc.pixel}")
    return {"recall_caught": caught, "recall_total": len(RECALL), "honest_lost": lost,
            "honest_total": sum(len(d.images) for d in HONEST), "esp_pixels_removed": pixels,
            "esp_pixels_total": len(HONEST)}


if __name__ == "__main__":
    r = measure("-v" in sys.argv)
    print(f"recall: {r['recall_caught']}/{r['recall_total']} tracker loads removed; "
          f"false positives: {r['honest_lost']}/{r['honest_total']} honest images lost; "
          f"ESP open pixels in honest mail removed: {r['esp_pixels_removed']}/{r['esp_pixels_total']}")
