"""Dates written the way people write them, each paired with its ISO form, for the encoder-decoder.

Every example knows the character spans of its day, month and year in the source, so that
cross-attention can be checked against them. The rules that give each source one reading:

- ``a/b/yyyy`` (also with ``.`` or ``-``) is day first; it is month first only when ``b``
  cannot be a month (``11/27/2026``). The month-first family therefore only writes days above 12.
- Two-digit years are 1950-2049: ``'49`` is 2049, ``'50`` is 1950. Families that write them
  only draw years from that window; the others draw from 1900-2099.

Held-out dates are whole calendar days (one in ten, chosen by a hash of the day) that the
training split never draws, in any family.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from export.data import pad_rows

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIELDS = ("year", "month", "day")
# Where each field stands in the ISO target "YYYY-MM-DD".
TARGET_SPANS = {"year": (0, 4), "month": (5, 7), "day": (8, 10)}
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)
TWO_DIGIT_YEARS = (1950, 2049)
SPLITS = ("train", "test")

# A piece of the source text and the field it holds (None for glue: spaces, commas, "the").
Piece = tuple[str, str | None]


@dataclass(frozen=True)
class DateExample:
    source: str  # e.g. "Friday, 27 November 2026"
    target: str  # "2026-11-27"
    family: str
    spans: dict[str, tuple[int, int]]  # field -> [start, end) character span in `source`


def is_held_out(day: dt.date) -> bool:
    """One calendar day in ten belongs to the test split, the same in every family."""
    return zlib.crc32(day.isoformat().encode()) % 10 == 0


def two_digit_year(yy: int) -> int:
    """The reading of a two-digit year: 50-99 -> 1950-1999, 00-49 -> 2000-2049."""
    return 1900 + yy if yy >= 50 else 2000 + yy


def _ordinal(n: int) -> str:
    if 11 <= n % 100 <= 13:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _num(rng: random.Random, n: int, pad: float = 0.5) -> str:
    """A day or month number, zero-padded with probability `pad`."""
    return f"{n:02d}" if rng.random() < pad else str(n)


def _month_name(rng: random.Random, day: dt.date, abbreviated: float) -> str:
    name = MONTHS[day.month - 1]
    return name[:3] if rng.random() < abbreviated else name


def _day_month_year(rng, day):  # 27 November 2026
    return [(_num(rng, day.day, 0.2), "day"), (" ", None), (_month_name(rng, day, 0.2), "month"),
            (" ", None), (str(day.year), "year")]


def _month_day_year(rng, day):  # November 27, 2026
    d = _ordinal(day.day) if rng.random() < 0.2 else str(day.day)
    return [(_month_name(rng, day, 0.1), "month"), (" ", None), (d, "day"),
            (", " if rng.random() < 0.8 else " ", None), (str(day.year), "year")]


def _mon_day_year(rng, day):  # nov 27 2026
    dot = ". " if rng.random() < 0.2 else " "
    return [(MONTHS[day.month - 1][:3], "month"), (dot, None), (_num(rng, day.day, 0.2), "day"), (" ", None),
            (str(day.year), "year")]


def _weekday(rng, day):  # Friday, 27 November 2026
    weekday = WEEKDAYS[day.weekday()]
    if rng.random() < 0.3:
        weekday = weekday[:3]
    return [(weekday, None), (", " if rng.random() < 0.7 else " ", None), (str(day.day), "day"), (" ", None),
            (_month_name(rng, day, 0.3), "month"), (" ", None), (str(day.year), "year")]


def _numeric_separator(rng: random.Random) -> str:
    return rng.choices(("/", ".", "-"), weights=(0.7, 0.15, 0.15))[0]


def _dmy_numeric(rng, day):  # 27/11/2026
    sep = _numeric_separator(rng)
    return [(_num(rng, day.day), "day"), (sep, None), (_num(rng, day.month), "month"), (sep, None),
            (str(day.year), "year")]


def _mdy_numeric(rng, day):  # 11/27/2026, only for days above 12
    sep = _numeric_separator(rng)
    return [(_num(rng, day.month), "month"), (sep, None), (str(day.day), "day"), (sep, None),
            (str(day.year), "year")]


def _dmy_short(rng, day):  # 27.11.26
    sep = "." if rng.random() < 0.8 else "/"
    return [(_num(rng, day.day, 0.7), "day"), (sep, None), (_num(rng, day.month, 0.7), "month"), (sep, None),
            (f"{day.year % 100:02d}", "year")]


def _iso(rng, day):  # 2026-11-27
    return [(str(day.year), "year"), ("-", None), (f"{day.month:02d}", "month"), ("-", None),
            (f"{day.day:02d}", "day")]


def _ordinal_of(rng, day):  # the 27th of November 2026
    pieces = [("the ", None)] if rng.random() < 0.7 else []
    return pieces + [(_ordinal(day.day), "day"), (" of ", None), (_month_name(rng, day, 0.2), "month"),
                     (" ", None), (str(day.year), "year")]


def _apostrophe_year(rng, day):  # 27 Nov '26
    return [(str(day.day), "day"), (" ", None), (_month_name(rng, day, 0.8), "month"), (" '", None),
            (f"{day.year % 100:02d}", "year")]


@dataclass(frozen=True)
class Family:
    write: Callable[[random.Random, dt.date], list[Piece]]
    two_digit_year: bool = False
    min_day: int = 1


FAMILIES: dict[str, Family] = {
    "day month year": Family(_day_month_year),
    "month day, year": Family(_month_day_year),
    "mon day year": Family(_mon_day_year),
    "weekday, day month year": Family(_weekday),
    "d/m/yyyy": Family(_dmy_numeric),
    "m/d/yyyy": Family(_mdy_numeric, min_day=13),
    "d.m.yy": Family(_dmy_short, two_digit_year=True),
    "iso": Family(_iso),
    "the dth of month year": Family(_ordinal_of),
    "d mon 'yy": Family(_apostrophe_year, two_digit_year=True),
}


def _recase(rng: random.Random, text: str) -> str:
    """As written most of the time, else all lower, all upper, or each letter at random."""
    r = rng.random()
    if r < 0.55:
        return text
    if r < 0.7:
        return text.lower()
    if r < 0.85:
        return text.upper()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def sample_day(rng: random.Random, family: Family, split: str) -> dt.date:
    """A calendar day of `split` that `family` can write."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    first, last = FIRST_DAY, LAST_DAY
    if family.two_digit_year:
        first, last = dt.date(TWO_DIGIT_YEARS[0], 1, 1), dt.date(TWO_DIGIT_YEARS[1], 12, 31)
    while True:
        day = dt.date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))
        if day.day >= family.min_day and is_held_out(day) == (split == "test"):
            return day


def make_example(rng: random.Random, split: str = "train", family: str | None = None) -> DateExample:
    name = family if family is not None else rng.choice(tuple(FAMILIES))
    fam = FAMILIES[name]
    day = sample_day(rng, fam, split)
    source, spans = "", {}
    for text, field in fam.write(rng, day):
        if field is not None:
            spans[field] = (len(source), len(source) + len(text))
        source += text
    return DateExample(_recase(rng, source), day.isoformat(), name, spans)


def generate(n: int, seed: int | str, split: str = "train", family: str | None = None) -> list[DateExample]:
    """`n` examples from a generator seeded with `seed` (ints and strings both give the same
    examples on every run and platform)."""
    rng = random.Random(f"dates:{split}:{seed}")
    return [make_example(rng, split, family) for _ in range(n)]


def encode(tokenizer, examples: list[DateExample], special: dict[str, str]) -> dict[str, np.ndarray]:
    """The arrays a batch of examples becomes, padded with the pad token (id 0 expected):
    src_ids/src_mask (B, S); tgt_ids/tgt_mask (B, T): bos + target, what the decoder reads;
    labels (B, T): target + eos, what it must write, -100 on padding."""
    pad, bos, eos = (tokenizer.token_to_id(special[r]) for r in ("pad", "bos", "eos"))
    src = [e.ids for e in tokenizer.encode_batch([x.source for x in examples], add_special_tokens=False)]
    tgt = [e.ids for e in tokenizer.encode_batch([x.target for x in examples], add_special_tokens=False)]
    src_ids, src_mask = pad_rows(src, pad)
    tgt_ids, tgt_mask = pad_rows([[bos] + t for t in tgt], pad)
    labels, _ = pad_rows([t + [eos] for t in tgt], -100)
    return {"src_ids": src_ids, "src_mask": src_mask, "tgt_ids": tgt_ids, "tgt_mask": tgt_mask, "labels": labels}

