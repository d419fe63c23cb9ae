"""The English of the machine's documentation (export/data/english.py): manual pages without roff,
info nodes, package descriptions, prose only, each paragraph once, and no licence anywhere."""

from __future__ import annotations

import gzip

import pytest

from export.data import english
from export.data.text import Document
from export.tokenizer import single_token_share

MAN_PAGE = r""".\" a comment
.TH LS "1" "September 2022" "GNU coreutils 9.1" "User Commands"
.de XX
a macro that prints nothing
..
.SH NAME
ls \- list directory contents
.SH DESCRIPTION
.PP
List information about the \fBFILEs\fR (the current directory by default).
Sort entries \fIalphabetically\fP if none of \fB\-cftuvSUX\fR is specified.
.TS
tab(:);
l l.
a table:that goes
.TE
.B Words
in bold \(em and quoted \(lqlike this\(rq.
"""


def test_roff_text_keeps_the_words_and_drops_the_markup():
    body = english.roff_text(MAN_PAGE)
    assert "List information about the FILEs (the current directory by default)." in body
    assert "Sort entries alphabetically if none of -cftuvSUX is specified." in body
    assert "Words\nin bold  -  and quoted \"like this\"." in body
    for gone in ("comment", "macro", "table", "\\f", ".TH", ".PP"):
        assert gone not in body, gone
    assert [p[:15] for p in english.paragraphs(body)] == ["ls - list direc", "List informatio"]  # .SH, .PP break


def test_is_prose_keeps_sentences_and_drops_code_tables_and_lists():
    assert english.is_prose("The quick brown fox jumps over the lazy dog because it was tired.")
    assert not english.is_prose("Too short to say much.")
    assert not english.is_prose("x = compute(a, b) + other[3] ; y = x ** 2 if x > 0 else -x.")
    assert not english.is_prose("--all --almost-all --author --escape --block-size=SIZE --ignore-backups -c -C.")
    listing = " ".join(f"U+00{i:02x} glyph original" for i in range(40)) + "."
    assert not english.is_prose(listing)  # words, but no sentences


def test_man_pages_skip_links_includes_translations_and_the_generated_cloud_pages(tmp_path):
    for folder, name, body in [
        ("man1", "ls.1.gz", MAN_PAGE), ("man1", "dir.1.gz", ".so man1/ls.1\n"),
        ("man1", "gcloud_compute.1.gz", MAN_PAGE), ("de/man1", "ls.1.gz", MAN_PAGE),
    ]:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / name).write_bytes(gzip.compress(body.encode()))
    (tmp_path / "man1" / "vdir.1.gz").symlink_to(tmp_path / "man1" / "ls.1.gz")
    assert [name for name, _ in english.man_pages(tmp_path)] == ["man:man1/ls.1"]


def test_info_nodes_are_named_by_manual_and_node(tmp_path):
    manual = "This is grep.info.\n\x1f\nFile: grep.info,  Node: Top,  Next: Usage\n\nTop text.\n" \
             "\x1f\nFile: grep.info,  Node: Usage,  Prev: Top\n\nUsage text.\n\x1f\nTag Table:\nNode: Top\x7f1\n"
    (tmp_path / "grep.info.gz").write_bytes(gzip.compress(manual.encode()))
    nodes = list(english.info_nodes(tmp_path))
    assert [name for name, _ in nodes] == ["info:grep/Top", "info:grep/Usage"]
    assert nodes[1][1].strip() == "Usage text."


def test_package_descriptions_come_once_per_name(tmp_path):
    for site, version, body in [("a", "1.0", "First description."), ("b", "2.0", "Second description.")]:
        info = tmp_path / site / f"demo-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: Demo\nVersion: {version}\n\n{body}\n")
    assert list(english.package_descriptions([tmp_path / "a", tmp_path / "b"])) == [
        ("package:demo", "First description.\n")
    ]


def test_system_docs_read_readmes_and_news_but_no_changelog_or_licence(tmp_path):
    for name in ["zstd/README.md", "zstd/NEWS.gz", "zstd/changelog.gz", "zstd/copyright", "zstd/LICENSE.txt",
                 "zstd/logo.png"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        data = b"Some words here."
        (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    assert [(n, t) for n, t in english.system_docs(tmp_path, "doc")] == [
        ("doc:zstd/NEWS.gz", "Some words here."), ("doc:zstd/README.md", "Some words here."),
    ]


def test_prose_documents_keep_each_paragraph_once():
    seen: set[str] = set()
    sentence = "This paragraph is plain English and it appears in two of the documents."
    docs = list(english.prose_documents(
        [("a", f"{sentence}\n\nx = 1"), ("b", f"{sentence}\n\nAnd this one is new, so it stays in the corpus.")], seen
    ))
    assert docs == [Document("a", sentence), Document("b", "And this one is new, so it stays in the corpus.")]


def test_without_licenses_drops_quotes_and_talk_of_licences():
    gpl = Document("license:GPL", "This program is distributed in the hope that it will be useful, but without any.")
    docs = [Document("a", "\n\n".join([
        "A README may say that this program is distributed in the hope that it will be useful.",  # a quote
        "Released under the MIT License, so read it first.",  # speaks of a licence
        "The tool copies files from one place to another and reports what it did.",
    ])), Document("b", "Its copyright belongs to someone.")]
    assert english.without_licenses(docs, [gpl]) == [
        Document("a", "The tool copies files from one place to another and reports what it did.")
    ]


@pytest.mark.skipif(not english.LICENSE_ROOT.is_dir(), reason="no /usr/share/common-licenses on this machine")
def test_the_corpus_is_broad_prose_with_no_licence_in_it(text_corpus):
    sources = {d.name.split(":")[0] for d in text_corpus if ":" in d.name}
    assert {"topic", "package", "doc", "man", "info"} <= sources
    assert sum(len(d.text) for d in text_corpus) > 10e6
    paragraphs = [p for d in text_corpus for p in d.text.split("\n\n")]
    assert len(set(paragraphs)) == len(paragraphs)
    licences = english.licenses()
    assert len(licences) >= 5 and {"license:GPL-3", "license:Apache-2.0"} <= {d.name for d in licences}
    runs = set().union(*(english.word_runs(d.text) for d in licences))
    assert not [p for p in paragraphs if english.LEGAL.search(p) or not runs.isdisjoint(english.word_runs(p))]


def test_single_token_share_counts_whole_words_of_the_commonest():
    from export.tokenizer import character_wordpiece

    tok = character_wordpiece(160)  # letters alone are single tokens, words are not
    assert single_token_share(tok, ["a a a b b word word word word 42 ,"], words=3) == pytest.approx(2 / 3)


def test_describe_names_the_sources_and_what_is_kept_out():
    described = english.describe()
    assert "pydoc_data.topics" in described and "man and info pages" in described
    assert str(english.LICENSE_ROOT) in described
