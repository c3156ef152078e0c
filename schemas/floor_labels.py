"""Floor labels of floor plans (FC_C): `1层`, `第1层`, `-1层`, `地下1层`, `地下一层`, `B1`.

The label names the actual floor (实际层, SJC): 1..n above ground, -1..-m below; 0 never.
"""

from __future__ import annotations

import re

import pandas as pd

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_FULLWIDTH = str.maketrans("０１２３４５６７８９－", "0123456789-")
# matched on the label with all white space taken out (so no ``\s*`` beside an optional
# group, which backtracks quadratically on a run of blanks), at most _MAX_CHARS long
_LABEL = re.compile(
    r"^(?:第)?(?P<under>地下|负|-|B)?(?P<num>\d{1,3}|[零〇一二两三四五六七八九十百]{1,5})(?:层|F|楼)?$",
    re.IGNORECASE,
)
_MAX_CHARS = 16  # the longest floor label, 第地下一百零一层, is 9 characters


def chinese_number(text: str) -> int | None:
    """`十二` → 12, `二十` → 20, `一百零一` → 101; digits pass through."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def parse_floor_label(text: object) -> int | None:
    """The actual floor a label names, or None if it names none."""
    if not isinstance(text, str):
        return None
    t = "".join(text.translate(_FULLWIDTH).split())
    if len(t) > _MAX_CHARS:
        return None
    m = _LABEL.match(t)
    if not m:
        return None
    n = chinese_number(m.group("num"))
    if n is None or n == 0:
        return None
    return -n if m.group("under") else n


def parse_floor_labels(labels: pd.Series) -> pd.Series:
    """Vector form: a nullable Int64 series of actual floors."""
    return labels.map(parse_floor_label).astype("Int64")
