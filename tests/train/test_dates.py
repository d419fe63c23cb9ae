"""The date generator and the character tokenizer the date Transformer reads and writes."""

from __future__ import annotations

import datetime as dt
import string

import numpy as np
import pytest

from export.data import dates
from export.tokenizer import SEQ2SEQ_SPECIAL, character_level

MONTH_NAMES = {name.lower(): i + 1 for i, name in enumerate(dates.MONTHS)}
MONTH_NAMES.update({name[:3].lower(): i + 1 for i, name in enumerate(dates.MONTHS)})


def read_field(field: str, text: str) -> int:
    """What a field's span says, read independently of the generator."""
    text = text.lower()
    if field == "month" and text.isalpha():
        return MONTH_NAMES[text]
    digits = text.rstrip("stndrh")  # 27th, 1st, 2nd, 3rd
    assert digits.isdigit(), text
    if field == "year" and len(digits) == 2:
        return dates.two_digit_year(int(digits))
    return int(digits)


@pytest.fixture(scope="module")
def sample() -> list[dates.DateExample]:
    return dates.generate(4000, seed=7)


def test_every_family_is_drawn_and_spans_hold_their_fields(sample):
    assert {e.family for e in sample} == set(dates.FAMILIES)
    for e in sample:
        day = dt.date.fromisoformat(e.target)
        assert set(e.spans) == set(dates.FIELDS), e
        values = {f: read_field(f, e.source[a:b]) for f, (a, b) in e.spans.items()}
        assert values == {"year": day.year, "month": day.month, "day": day.day}, e
        spans = sorted(e.spans.values())
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), "spans overlap"


@pytest.mark.parametrize(
    ("family", "looks_like"),
    [
        ("day month year", r"27 November 2026"),
        ("month day, year", r"November 27, 2026"),
        ("mon day year", r"nov 27 2026"),
        ("weekday, day month year", r"Friday, 27 November 2026"),
        ("d/m/yyyy", r"27/11/2026"),
        ("m/d/yyyy", r"11/27/2026"),
        ("d.m.yy", r"27.11.26"),
        ("iso", r"2026-11-27"),
        ("the dth of month year", r"the 27th of November 2026"),
        ("d mon 'yy", r"27 Nov '26"),
    ],
)
def test_families_write_what_people_write(family, looks_like):
    examples = dates.generate(300, seed=1, family=family)
    shapes = {_shape(e.source) for e in examples}
    assert _shape(looks_like) in shapes, (family, sorted(shapes)[:10])


def _shape(text: str) -> str:
    """Letters -> a, digits -> 9, runs collapsed: '27 Nov '26' -> "9 a '9"."""
    out = ""
    for c in text:
        k = "a" if c.isalpha() else "9" if c.isdigit() else c
        if not (out and out[-1] == k and k in "a9"):
            out += k
    return out


def test_reading_rules_make_every_source_unambiguous():
    for e in dates.generate(500, seed=2, family="m/d/yyyy"):
        assert int(e.target[8:]) > 12  # month first only where the day cannot be a month
    for family in ("d.m.yy", "d mon 'yy"):
        for e in dates.generate(300, seed=3, family=family):
            assert dates.TWO_DIGIT_YEARS[0] <= int(e.target[:4]) <= dates.TWO_DIGIT_YEARS[1]
    assert dates.two_digit_year(49) == 2049 and dates.two_digit_year(50) == 1950


def test_weekdays_are_the_real_weekdays():
    for e in dates.generate(300, seed=4, family="weekday, day month year"):
        written = e.source.split(",")[0].split(" ")[0].lower()
        assert dates.WEEKDAYS[dt.date.fromisoformat(e.target).weekday()].lower().startswith(written)


def test_case_is_mixed(sample):
    sources = [e.source for e in sample if any(c.isalpha() for c in e.source)]
    assert any(s.isupper() for s in sources)
    assert any(s.islower() for s in sources)
    assert any(not s.isupper() and not s.islower() and s != s.title() and s != s.capitalize() for s in sources)


def test_held_out_days_are_never_drawn_for_training(sample):
    test = dates.generate(2000, seed=7, split="test")
    assert all(dates.is_held_out(dt.date.fromisoformat(e.target)) for e in test)
    assert not any(dates.is_held_out(dt.date.fromisoformat(e.target)) for e in sample)
    days = [dates.FIRST_DAY + dt.timedelta(days=i) for i in range(0, 73000, 7)]
    assert 0.08 < np.mean([dates.is_held_out(d) for d in days]) < 0.12


def test_generation_is_deterministic():
    assert dates.generate(50, seed=5) == dates.generate(50, seed=5)
    assert dates.generate(50, seed=5) != dates.generate(50, seed=6)
    assert dates.generate(50, seed=5) != dates.generate(50, seed=5, split="test")


def test_character_tokenizer_round_trips():
    tok = character_level(special=SEQ2SEQ_SPECIAL)
    assert [tok.token_to_id(t) for t in SEQ2SEQ_SPECIAL.values()] == [0, 1, 2, 3]
    text = string.ascii_letters + string.digits + string.punctuation + " "
    enc = tok.encode(text)
    assert enc.tokens == list(text)
    assert tok.decode(enc.ids) == text
    assert tok.encode("27 Nov '26").tokens == list("27 Nov '26")
    assert tok.encode("é\t").ids == [tok.token_to_id("[UNK]")] * 2


def test_encode_gives_decoder_input_and_labels():
    tok = character_level(special=SEQ2SEQ_SPECIAL)
    examples = dates.generate(5, seed=0)
    arrays = dates.encode(tok, examples, SEQ2SEQ_SPECIAL)
    bos, eos = tok.token_to_id("[BOS]"), tok.token_to_id("[EOS]")
    width = max(len(e.source) for e in examples)
    assert arrays["src_ids"].shape == arrays["src_mask"].shape == (5, width)
    assert arrays["tgt_ids"].shape == arrays["labels"].shape == (5, 11)
    for i, e in enumerate(examples):
        n = len(e.source)
        assert tok.decode(arrays["src_ids"][i, :n].tolist()) == e.source
        assert arrays["src_mask"][i].tolist() == [1] * n + [0] * (width - n)
        assert arrays["tgt_ids"][i, 0] == bos and tok.decode(arrays["tgt_ids"][i, 1:].tolist()) == e.target
        assert arrays["labels"][i, -1] == eos and tok.decode(arrays["labels"][i, :-1].tolist()) == e.target
