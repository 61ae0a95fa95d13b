"""Mailbox discovery, streaming and safe writing, without the engine."""
from __future__ import annotations

import io
import mailbox as stdmailbox
import os
import stat
from pathlib import Path

import pytest

from test_cli import make_message
from tracker_block.cli.config import ConfigError, build_options, load
from tracker_block.cli.mailbox import (
    Item, MboxWriter, Sink, Source, atomic_write, discover, iter_items, mbox_escape,
)


def _items(paths: list[str], fmt: str = "auto", max_size: int = 50 << 20) -> list[Item]:
    out: list[Item] = []
    for e in discover(paths, fmt):
        out.extend([e] if isinstance(e, Item) else iter_items(e, max_size))
    return out


# The mbox splitter reads 1 MiB blocks; tiny blocks put every separator across a block boundary.
@pytest.fixture
def block_size(request, monkeypatch):
    import tracker_block.cli.mailbox as mb
    monkeypatch.setattr(mb, "_CHUNK", request.param)
    return request.param


@pytest.mark.parametrize("block_size", [1, 3, 7, 1 << 20], indirect=True)
def test_mbox_stream_matches_stdlib_and_keeps_from_lines(tmp_path: Path, block_size: int) -> None:
    box = tmp_path / "box"
    mb = stdmailbox.mbox(str(box))
    raws = [make_message(i, i % 2 == 0) for i in range(5)]
    for r in raws:
        mb.add(r)                      # stdlib quotes body lines "From the shop" as ">From the shop"
    mb.flush()
    items = _items([str(box)])
    assert [it.key for it in items] == [f"{box}:{i}" for i in range(5)]
    std = stdmailbox.mbox(str(box))
    for i, it in enumerate(items):
        assert it.error is None
        assert b"\nFrom the shop, with love." in it.data      # unquoted again on read
        assert mbox_escape(it.data) == std.get_bytes(i)
        assert it.data == raws[i].replace(b"\r\n", b"\n")


@pytest.mark.parametrize("block_size", [1, 3, 7, 1 << 20], indirect=True)
def test_mbox_separator_needs_a_blank_line_and_crlf_works(tmp_path: Path, block_size: int) -> None:
    text = (b"From a@b Mon Jan  1 00:00:00 2024\r\nFrom: a@b\r\nSubject: one\r\n\r\nbody\r\n"
            b"From here on it is still the body\r\n\r\n"
            b"From c@d Mon Jan  1 00:00:00 2024\r\nFrom: c@d\r\nSubject: two\r\n\r\nsecond\r\n")
    (tmp_path / "crlf").write_bytes(text)
    items = _items([str(tmp_path / "crlf")])
    assert len(items) == 2
    assert items[0].data.endswith(b"From here on it is still the body\r\n")
    assert items[1].data == b"From: c@d\r\nSubject: two\r\n\r\nsecond\r\n"


@pytest.mark.parametrize("block_size", [1, 3, 7, 1 << 20], indirect=True)
def test_mbox_oversized_message_is_an_error_item_but_keeps_its_span(tmp_path: Path, block_size: int) -> None:
    big = b"From: x@y\n\n" + b"a" * 5000 + b"\n"
    text = b"From x Mon Jan  1 00:00:00 2024\n" + big + b"\nFrom x Mon Jan  1 00:00:00 2024\nFrom: z@y\n\nsmall\n"
    (tmp_path / "b").write_bytes(text)
    items = _items([str(tmp_path / "b")], max_size=1000)
    assert items[0].error.startswith("message too large") and items[0].data is None
    assert items[0].span == (0, text.index(b"From x", 10))
    assert items[1].data == b"From: z@y\n\nsmall\n"


def test_discovery_of_nested_folders_maildir_and_junk(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.eml").write_bytes(make_message(1, False))
    (tmp_path / "a" / "b" / "two.eml").write_bytes(make_message(2, False))
    (tmp_path / "a" / "b" / "Inbox.msf").write_bytes(b"junk")
    (tmp_path / "a" / "b" / ".hidden").write_bytes(b"junk")
    (tmp_path / "a" / "b" / ".tracker-block-tmp-abc").write_bytes(b"half")
    (tmp_path / "a" / "empty.eml").write_bytes(b"")
    md = stdmailbox.Maildir(str(tmp_path / "a" / "md"))
    md.add(make_message(3, False))
    md.add_folder("Archive").add(make_message(4, False))
    (tmp_path / "a" / "md" / "dovecot-uidlist").write_bytes(b"3 V1")
    found = list(discover([str(tmp_path / "a"), str(tmp_path / "gone")]))
    kinds = [(e.kind, Path(e.path).name) if isinstance(e, Source) else ("error", e.error) for e in found]
    assert ("eml", "one.eml") in kinds and ("eml", "two.eml") in kinds
    assert ("maildir", "md") in kinds and ("maildir", ".Archive") in kinds
    assert ("error", "empty file") in kinds and ("error", "no such file or directory") in kinds
    assert len(kinds) == 6
    items = _items([str(tmp_path / "a")])
    assert sum(1 for it in items if it.data) == 4
    # forced formats
    assert all(s.kind == "mbox" for s in discover([str(tmp_path / "a" / "one.eml")], "mbox"))
    assert {Path(s.path).name for s in discover([str(tmp_path / "a")], "maildir")} == {"md", ".Archive"}


def test_stdin_single_message_and_limits() -> None:
    src = Source("stdin", None, None, "-")
    [it] = iter_items(src, 1000, stdin=io.BytesIO(b"From: a@b\n\nhi\n"))
    assert it.key == "-" and it.data == b"From: a@b\n\nhi\n"
    [it] = iter_items(src, 10, stdin=io.BytesIO(b"x" * 11))
    assert it.error.startswith("message too large")
    [it] = iter_items(src, 10, stdin=io.BytesIO(b""))
    assert it.error == "empty input"


def test_mbox_writer_copies_unchanged_bytes_and_requotes_changed(tmp_path: Path) -> None:
    box = tmp_path / "box"
    mb = stdmailbox.mbox(str(box))
    for i in range(4):
        mb.add(make_message(i, False))
    mb.flush()
    items = _items([str(box)])
    w = MboxWriter(box, tmp_path / "out", lazy=False)
    w.write(items[2], b"From: new@x\nSubject: changed\n\nFrom the new body\n")
    assert w.close()
    out = list(stdmailbox.mbox(str(tmp_path / "out")))
    orig = list(stdmailbox.mbox(str(box)))
    assert len(out) == 4
    assert [m.as_bytes() for i, m in enumerate(out) if i != 2] == [m.as_bytes() for i, m in enumerate(orig) if i != 2]
    assert out[2]["Subject"] == "changed"
    assert b"\n>From the new body" in (tmp_path / "out").read_bytes()
    assert _items([str(tmp_path / "out")])[2].data.endswith(b"\nFrom the new body\n")
    # lazy writer with nothing changed writes nothing
    assert MboxWriter(box, box, lazy=True).close() is False


def test_mbox_escape_round_trips() -> None:
    body = b"a\nFrom x\n>From y\n>>From z\nFromage\n"
    assert mbox_escape(body) == b"a\n>From x\n>>From y\n>>>From z\nFromage\n"


def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    f = tmp_path / "m.eml"
    f.write_bytes(b"old")
    f.chmod(0o600)
    atomic_write(f, b"new", like=f)
    assert f.read_bytes() == b"new" and stat.S_IMODE(f.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["m.eml"]


def test_sink_refuses_to_overwrite_a_different_backup(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    f = tmp_path / "in" / "a.eml"
    f.write_bytes(b"From: a@b\n\noriginal\n")
    (tmp_path / "bak" / "in").mkdir(parents=True)
    (tmp_path / "bak" / "in" / "a.eml").write_bytes(b"something else")
    [src] = discover([str(tmp_path / "in")])
    [item] = iter_items(src)
    sink = Sink("inplace", backup=tmp_path / "bak")
    sink.begin(src)
    problem = sink.put(item, b"From: a@b\n\ncleaned\n")
    assert problem and "already exists" in problem
    assert f.read_bytes() == b"From: a@b\n\noriginal\n"     # not replaced without a good backup


def test_config_builds_options(tmp_path: Path) -> None:
    keys = tmp_path / "k"
    keys.write_text("k1 " + "ab" * 32 + "\n")
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text('mode = "proxy"\nproxy_url = "https://p.example/p"\nproxy_key = "k"\n'
                        'allow_senders = ["friend@example.org"]\nallow_domains = ["bank.example"]\n'
                        'recipients = ["me@example.org"]\nextra_rules = ["mine.toml"]\nkeep_read_receipts = true\n')
    opts = build_options(load(cfg_file), recipients=("alt@example.org",))
    assert opts.mode == "proxy" and opts.keyring.keys[0][0] == "k1"
    assert opts.allow_senders == ("friend@example.org", "@bank.example")
    assert opts.recipients == ("me@example.org", "alt@example.org")
    assert opts.extra_rules == (str(tmp_path / "mine.toml"),)
    assert opts.keep_read_receipts is True
    assert build_options(load(cfg_file), mode="all").mode == "all"           # flags win
    for bad in ('mode = "everything"\n', 'recipients = "me"\n', "mode = \n"):
        cfg_file.write_text(bad)
        with pytest.raises(ConfigError):
            load(cfg_file)
    with pytest.raises(ConfigError):
        load(tmp_path / "missing.toml")


@pytest.mark.parametrize("body", [b"", b"\n", b" \t\r\n\x0b\x0c\n", b"\xa0\n", b"\x85\n", b"x\n", b"\x1c\n"])
def test_an_mbox_entry_of_whitespace_only_is_an_empty_message(tmp_path: Path, body: bytes) -> None:
    # "empty message" is said of an entry holding nothing but ASCII whitespace (bytes.strip's set),
    # and of nothing else: a no-break space or a control byte is content.
    box = tmp_path / "box"
    box.write_bytes(b"From a@b Mon Jan  1 00:00:00 2024\n" + body + b"\nFrom a@b Mon Jan  1 00:00:00 2024\nX: 1\n\nok\n")
    first = next(iter_items(Source("mbox", box, box, str(box))))
    assert (first.error == "empty message") == (not body.strip())
    assert (first.data is None) == (not body.strip())
