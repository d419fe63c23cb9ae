"""English prose from the documentation installed on this machine, for BERT's masked language model.

Python's own documentation (`export.data.text`) is a start; for breadth this adds the long
descriptions of the installed Python packages, the README, NEWS and FAQ files under
/usr/share/doc, Vim's help, the manual pages (English sections 1-8) and the GNU info manuals.
Each source is read in a fixed order and cut into paragraphs; only prose paragraphs are kept
(`is_prose`: code, tables, option lists and URLs are not English a reader types), and a
paragraph already seen anywhere is dropped, so boilerplate repeated across pages counts once.

The licence texts in /usr/share/common-licenses are a kind of English kept out of training
altogether (`licenses()`): legal prose, tested on its own. Every training paragraph that quotes
them or speaks of licences, warranties or copyright is dropped (`without_licenses`).
"""

from __future__ import annotations

import email
import gzip
import re
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from pathlib import Path

from export.data import text
from export.data.text import Document

MAN_ROOT, INFO_ROOT, DOC_ROOT = Path("/usr/share/man"), Path("/usr/share/info"), Path("/usr/share/doc")
VIM_ROOT, LICENSE_ROOT = Path("/usr/share/vim"), Path("/usr/share/common-licenses")
# The Google Cloud CLI's 16,000 reference pages are one generated template, many times over:
# they would be most of the corpus and teach its flags rather than English.
SKIP_MAN_PREFIXES = ("gcloud",)
DOC_NAMES = re.compile(r"(readme|news|faq|about|intro|guide|howto|usage|tutorial|.*\.(md|rst|txt))(\.gz)?$", re.I)
DOC_SKIPS = re.compile(r"changelog|copyright|licen[cs]e|copying|authors|thanks|credits|\btest", re.I)  # not "latest"
LICENSE_RUN = 8
LEGAL = re.compile(r"\b(licen[cs]|warrant|copyright)", re.I)


_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # bold and colours in some NEWS files


def read_text(path: Path) -> str:
    """A file's text, gunzipped where it ends in .gz, without terminal escape codes; bytes that
    are not UTF-8 become U+FFFD."""
    data = path.read_bytes()
    return _TERMINAL_CODES.sub("", (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace"))


# -- what counts as prose ------------------------------------------------------------------------

_WORD = re.compile(r"^[(\"'‘“]*[A-Za-z][a-z]*(['’][a-z]+)?[)\"'’”.,;:!?]*$")


def is_prose(paragraph: str, min_words: int = 8, share: float = 0.8, sentence_words: int = 40) -> bool:
    """Sentences rather than code, tables or lists: at least `min_words` words, `share` of them
    plain words (letters with at most leading/trailing punctuation), and a word ending a sentence
    (., ?, !) at least every `sentence_words` words."""
    words = paragraph.split()
    if len(words) < min_words or sum(w[-1] in ".?!" for w in words) * sentence_words < len(words):
        return False
    return sum(bool(_WORD.match(w)) for w in words) >= share * len(words)


def paragraphs(body: str) -> list[str]:
    """Blank-line separated paragraphs, each joined onto one line."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]


def prose_documents(named: Iterable[tuple[str, str]], seen: set[str]) -> Iterator[Document]:
    """Documents of the prose paragraphs of each (name, body) not in `seen` (which grows)."""
    for name, body in named:
        kept = []
        for p in paragraphs(body):
            if is_prose(p) and p not in seen:
                seen.add(p)
                kept.append(p)
        if kept:
            yield Document(name, "\n\n".join(kept))


# -- manual pages --------------------------------------------------------------------------------

_ROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^]]*\]|\(..|.)"), ""),  # font changes
    (re.compile(r"\\s[-+]?\d+"), ""),  # size changes
    (re.compile(r"\\\((em|en)"), " - "),
    (re.compile(r"\\\((lq|rq|dq)"), '"'),
    (re.compile(r"\\\((aq|oq|cq)"), "'"),
    (re.compile(r"\\\*(\[[^]]*\]|\(..|.)"), ""),  # strings
    (re.compile(r"\\\(..|\\\[[^]]*\]"), ""),  # other special characters
    (re.compile(r"\\[-e]"), lambda m: "-" if m.group() == "\\-" else "\\"),
    (re.compile(r"\\[ ~0]"), " "),
    (re.compile(r"\\[&|^,/c%:]"), ""),
]
_FONT_MACROS = {".B", ".I", ".BR", ".RB", ".IR", ".RI", ".BI", ".IB", ".SM", ".SB"}
_BREAK_MACROS = {".PP", ".P", ".LP", ".SH", ".SS", ".TP", ".IP", ".HP", ".sp", ".br", ".RS", ".RE", ".TH"}


def roff_text(source: str) -> str:
    """The words of a manual page written in roff (the man macros), without its markup:
    paragraph macros become blank lines, font macros keep their words, tables, macro
    definitions and comments go."""
    lines, skipping = [], None
    for line in source.splitlines():
        if skipping:
            skipping = None if line.startswith(skipping) else skipping
            continue
        if line.startswith((".de", ".TS", ".EQ")):
            skipping = {".de": "..", ".TS": ".TE", ".EQ": ".EN"}[line[:3]]
            continue
        if line.startswith((".", "'")):
            macro, _, rest = line.partition(" ")
            if macro in _FONT_MACROS:
                lines.append(rest.replace('"', ""))
            elif macro in _BREAK_MACROS:
                lines.append("")
            continue
        lines.append(line)
    body = "\n".join(lines)
    for pattern, replacement in _ROFF_ESCAPES:
        body = pattern.sub(replacement, body)
    return body


def man_pages(root: Path = MAN_ROOT) -> Iterator[tuple[str, str]]:
    """(name, text) of every English manual page (sections 1-8, not the translations beside
    them), in name order; links and pages that only include another (.so) are skipped."""
    for path in sorted(root.glob("man[1-8]/*")):
        if path.is_symlink() or not path.is_file() or path.name.startswith(SKIP_MAN_PREFIXES):
            continue
        source = read_text(path)
        if not source.lstrip().startswith(".so "):
            yield f"man:{path.parent.name}/{path.name.removesuffix('.gz')}", roff_text(source)


# -- info manuals --------------------------------------------------------------------------------


def info_nodes(root: Path = INFO_ROOT) -> Iterator[tuple[str, str]]:
    """(name, text) of every node of the GNU info manuals, manual by manual: a node is a section,
    so that one manual does not fall wholly in or out of the held-out share."""
    for path in sorted(root.glob("*.info*")):
        for node in read_text(path).split("\x1f")[1:]:
            header, _, body = node.lstrip("\n").partition("\n")
            found = re.search(r"Node: ([^,]+)", header)
            if found:
                yield f"info:{path.name.split('.info')[0]}/{found.group(1).strip()}", body


# -- package descriptions and /usr/share/doc --------------------------------------------------


def site_directories() -> list[Path]:
    """Where installed Python packages live: this environment's, its base interpreter's, and
    the system's dist-packages, each once."""
    paths = [Path(p) for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    paths += [Path(sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["purelib"])]
    paths += sorted(Path("/usr/lib/python3").glob("dist-packages"))
    unique = {p.resolve(): None for p in paths if p.is_dir()}
    return list(unique)


def package_descriptions(sites: list[Path] | None = None) -> Iterator[tuple[str, str]]:
    """(name, long description) of every installed distribution, the first found of each name."""
    found: dict[str, str] = {}
    for site in sites if sites is not None else site_directories():
        for meta in sorted([*site.glob("*.dist-info/METADATA"), *site.glob("*.egg-info/PKG-INFO")]):
            message = email.message_from_string(meta.read_text("utf-8", "replace"))
            name = (message.get("Name") or meta.parent.name).lower()
            body = message.get_payload() or message.get("Description") or ""
            if isinstance(body, str) and name not in found:
                found[name] = body
    for name in sorted(found):
        yield f"package:{name}", found[name]


def system_docs(root: Path, prefix: str) -> Iterator[tuple[str, str]]:
    """(name, text) of the README, NEWS, FAQ and other text files under `root` (/usr/share/doc,
    Vim's help), not change logs, copyright or licence files."""
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if DOC_NAMES.match(path.name) and not DOC_SKIPS.search(relative) and path.is_file() and not path.is_symlink():
            yield f"{prefix}:{relative}", read_text(path)


# -- the held-out kind: licences -----------------------------------------------------------------


def licenses(root: Path = LICENSE_ROOT) -> list[Document]:
    """The licence texts Debian keeps in one place (GPL, LGPL, Apache, MPL, Artistic...), one
    document each, in name order; links to another version are skipped."""
    return [
        Document(f"license:{p.name}", "\n\n".join(paragraphs(read_text(p))))
        for p in sorted(root.iterdir()) if p.is_file() and not p.is_symlink()
    ]


def word_runs(body: str, n: int = LICENSE_RUN) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", body.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def without_licenses(docs: Iterable[Document], kept_out: list[Document]) -> list[Document]:
    """`docs` less every paragraph that quotes `kept_out` (shares a run of LICENSE_RUN words with
    it) or speaks of licences, warranties or copyright at all: the held-out kind of English stays
    out of training, quoted or paraphrased (the MIT and BSD notices in READMEs among them)."""
    runs = set().union(*(word_runs(d.text) for d in kept_out))
    cleaned = []
    for doc in docs:
        kept = [p for p in doc.text.split("\n\n") if not LEGAL.search(p) and runs.isdisjoint(word_runs(p))]
        if kept:
            cleaned.append(Document(doc.name, "\n\n".join(kept)))
    return cleaned


# -- the corpus ----------------------------------------------------------------------------------


def corpus(python: list[Document] | None = None) -> list[Document]:
    """Python's documentation (`python`, else `text.corpus()`), then the packages' descriptions,
    /usr/share/doc, Vim's help, the manual pages and the info manuals: prose only, each paragraph
    once, nothing from or about licences."""
    seen: set[str] = set()
    sources = [
        ((d.name, d.text) for d in (python if python is not None else text.corpus())),
        package_descriptions(), system_docs(DOC_ROOT, "doc"), system_docs(VIM_ROOT, "vim"), man_pages(), info_nodes(),
    ]
    return without_licenses([d for source in sources for d in prose_documents(source, seen)], licenses())


def describe() -> str:
    v = sys.version_info
    return (
        f"English prose of this machine's documentation: Python {v.major}.{v.minor}.{v.micro}'s (pydoc_data.topics, "
        "docstrings), the packages' descriptions, /usr/share/doc, Vim's help, the man and info pages; prose only, "
        "no licence text; one document in ten held out. Never trained on: the licences in /usr/share/common-licenses"
    )
