"""parsers.mtext gives the plain text ezdxf's functions give, in one linear pass."""

from __future__ import annotations

from pathlib import Path

import ezdxf
import pytest
from ezdxf.tools.text import caret_decode as ezdxf_caret_decode
from ezdxf.tools.text import fast_plain_mtext
from ezdxf.tools.text import plain_text as ezdxf_plain_text
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from parsers.mtext import caret_decode, plain_mtext, plain_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

# the characters that mean something in MTEXT or TEXT, and a few that do not
_PIECES = st.sampled_from(
    list("\\{};%^PNLlOoKkXSCcHfFpqAQTWdu/#ab 1.|\n\r") + ["\\P", "\\S", "%%", "^J", "^I", "房"]
)
MTEXTISH = st.lists(_PIECES, max_size=40).map("".join)


def _unterminated_stacks(text: str) -> int:
    """How many ``\\S`` stand after the last ``;`` (ezdxf repeats the rest for each)."""
    s = ezdxf_caret_decode(text)
    return s[s.rfind(";") + 1 :].count("\\S")


@given(MTEXTISH)
@settings(max_examples=800, deadline=None)
@example(r"{\fArial|b0|i0|c134;房屋}\P面积%%p0.01\S1^2;")
@example(r"\Sab")
@example("%%")
@example("\\")
def test_mtext_is_ezdxfs_plain_text(text):
    assume(_unterminated_stacks(text) <= 1)
    assert plain_mtext(text) == fast_plain_mtext(text, split=False)


@given(MTEXTISH)
@settings(max_examples=800, deadline=None)
@example("%%%%%d%%u^^a^")
@example("a%%")
def test_text_is_ezdxfs_plain_text(text):
    assert plain_text(text) == ezdxf_plain_text(text)
    assert caret_decode(text) == ezdxf_caret_decode(text)


def test_many_unterminated_stacks_give_the_rest_once():
    """ezdxf's output grows with the square of such input; ours stays linear."""
    text = "x;" + r"\Sa" * 3
    assert plain_mtext(text) == r"x;a\Sa\Sa\Sa\Sa\Sa"  # the rest once, then as written
    assert len(plain_mtext(r"\S" * 50_000)) <= 3 * 100_000


def _corpus_texts() -> list[tuple[str, str]]:
    out = []
    for path in sorted(CORPUS.rglob("*.dxf")):
        try:
            doc = ezdxf.readfile(path)
        except Exception:  # noqa: BLE001 — damaged corpus files: nothing to compare
            continue
        for e in doc.modelspace().query("TEXT MTEXT"):
            out.append((e.dxftype(), e.text if e.dxftype() == "MTEXT" else e.dxf.text))
    return out


def test_every_text_of_the_corpus_reads_as_ezdxf_reads_it():
    texts = _corpus_texts()
    assert len(texts) > 10
    for dxftype, raw in texts:
        if dxftype == "MTEXT":
            assert plain_mtext(raw) == fast_plain_mtext(raw, split=False), raw
        else:
            assert plain_text(raw) == ezdxf_plain_text(raw), raw


@pytest.mark.parametrize("groups", [80_000, 530_000])  # 1.2 MB and 8 MB (issue 14)
def test_a_huge_mtext_of_formatting_groups_is_read_whole(groups):
    group = r"{\fArial;\C1;x}"  # 15 characters: one styled character, as CAD writes it
    text = group * groups
    assert len(text) == 15 * groups
    assert plain_mtext(text) == "x" * groups
