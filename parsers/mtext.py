"""The plain text of TEXT and MTEXT contents, in one linear pass.

The same text as ezdxf's ``fast_plain_mtext`` (MTEXT) and ``plain_text`` (TEXT), which the
readers used before, without their cost on hostile input: ``fast_plain_mtext`` copies the
rest of the content for every formatting command (an MTEXT of 80 000 groups, 1.2 MB, took
~70 s; issue 14), and the check does not import ezdxf for this.

MTEXT (:func:`plain_mtext`): caret notation decoded (``^J`` …), ``\\P`` → line break,
``\\N`` → space, ``\\\\ \\{ \\}`` → the character, the other one-letter commands
(``\\L \\l \\O \\o \\K \\k \\X``) dropped, a command with arguments dropped up to its ``;``
(a stack ``\\S…;`` keeps its arguments), braces dropped, ``%%c %%d %%p %%%`` → ``Ø ° ± %``,
any other ``%%x`` kept as written. A command whose ``;`` never comes is kept as written
(``\\C`` …) and the text goes on after its letter, as ezdxf does.

One difference, on input no CAD program writes: ezdxf gives the rest of the content again
for *every* stack without its ``;`` (``\\S`` after the last ``;``), so k of them make k
copies (quadratic output: 4 MB of ``\\S`` would give terabytes); here only the first does.
"""

from __future__ import annotations

import re

__all__ = ["plain_mtext", "plain_text", "caret_decode"]

SPECIAL = {"c": "Ø", "d": "°", "p": "±", "%": "%"}  # %%c %%d %%p %%% (ezdxf's table)
_ONE_LETTER = "PNLlOoKkX"
_CARET = re.compile(r"\^(.)")
_SPECIAL_CHAR = re.compile(r"[\\{}%]")


def _caret(match: re.Match) -> str:
    return chr((ord(match.group(1)) - 64) % 126)


def caret_decode(text: str) -> str:
    """``^`` + character → control character (``^J`` → line feed, ``^I`` → tab), as ezdxf."""
    return _CARET.sub(_caret, text) if "^" in text else text


def plain_mtext(text: str) -> str:
    """The plain text of an MTEXT content (ezdxf's ``fast_plain_mtext(text, split=False)``)."""
    s = caret_decode(text)
    n = len(s)
    out: list[str] = []
    append = out.append
    stack_rest_given = False
    i = 0
    while i < n:
        # plain characters up to the next special one, in one slice
        found = _SPECIAL_CHAR.search(s, i)
        j = n if found is None else found.start()
        if j > i:
            append(s[i:j])
            i = j
            continue
        char = s[i]
        i += 1
        if char == "\\":  # a formatting command
            if i >= n:
                break  # a lone backslash at the end: dropped
            char = s[i]
            i += 1
            if char in "\\{}":
                append(char)
            elif char in _ONE_LETTER:
                if char == "P":
                    append("\n")
                elif char == "N":
                    append(" ")
            elif char == ";":
                pass  # a command with no letter, ended at once
            else:  # a command with arguments, up to its ";"
                end = s.find(";", i)
                if end >= 0:
                    if char == "S":
                        append(s[i:end])
                    i = end + 1
                else:  # never terminated: kept as written, the text goes on after it
                    if char == "S" and not stack_rest_given:
                        append(s[i:])
                        stack_rest_given = True
                    append("\\")
                    append(char)
        elif char in "{}":
            pass  # group markers
        else:  # "%"
            if i < n and s[i] == "%":
                i += 1
                if i < n:
                    code = s[i]
                    i += 1
                    letter = SPECIAL.get(code.lower())
                    append(letter if letter else "%%" + code)
            else:
                append("%")
    return "".join(out)


def plain_text(text: str) -> str:
    """The plain text of a TEXT content (ezdxf's ``plain_text``): carets decoded, line
    breaks and trailing carets removed, ``%%c %%d %%p %%%`` → ``Ø ° ± %``, the stroke codes
    ``%%k %%o %%u`` dropped, any other ``%%x`` kept as written."""
    s = caret_decode(text).replace("\n", "").replace("\r", "").rstrip("^")
    if "%%" not in s:
        return s
    out: list[str] = []
    n = len(s)
    i = 0
    while i < n:
        j = s.find("%%", i)
        if j < 0:
            out.append(s[i:])
            break
        out.append(s[i:j])
        code = s[j + 2].lower() if j + 2 < n else ""
        letter = SPECIAL.get(code)
        if letter:
            out.append(letter)
            i = j + 3
        elif code in "kou":  # "" too: "%%" at the end is dropped
            i = j + 3
        else:
            out.append("%")
            i = j + 1
    return "".join(out)
