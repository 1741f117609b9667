"""What a clerk can see in a cell: text made only of invisible characters is empty, and a
control character is no text at all.

A cell that looks empty is empty, whatever it holds: a department that pastes a zero-width
space, a byte-order mark or a Hangul filler into a required cell has filled in nothing.
Which characters draw nothing is decided by Unicode's own properties (`is_invisible`), not
by a list of the ones met so far.

Control characters (`control_characters`) come from copying out of other systems and
terminals; no font draws them and XML cannot hold them (a workbook writes ESC as `_x001B_`),
so text holding one is refused rather than stored or written escaped.
"""

from __future__ import annotations

import re
import unicodedata

# Default_Ignorable_Code_Point, from DerivedCoreProperties.txt of the Unicode Character
# Database 14.0 (this Python's unicodedata). Python does not give this property; the tests
# (tests/test_rules_visible.py) check the table against Perl's, where Perl has it.
DEFAULT_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
# Characters fonts draw as an empty cell that no property above covers: BRAILLE PATTERN
# BLANK (So) and MUSICAL SYMBOL NULL NOTEHEAD (So), the blanks of choice where a form or a
# chat refuses white space. The Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), the other
# favourites, are default ignorable already.
BLANK_GLYPHS = "\u2800\U0001D159"

_DRAWN_AS_NOTHING = re.compile("[" + "".join(
    re.escape(chr(first)) + ("-" + re.escape(chr(last)) if last > first else "")
    for first, last in DEFAULT_IGNORABLE) + BLANK_GLYPHS + "]")

# Line breaks and tabs are part of text (Alt+Enter in Excel); every other control is not.
ALLOWED_CONTROLS = "\t\n\r"
_CONTROL = re.compile("[" + "".join(
    re.escape(chr(code)) for code in (*range(0x20), *range(0x7F, 0xA0))
    if chr(code) not in ALLOWED_CONTROLS) + "]")

# The abbreviations of the C0 controls and DEL (Unicode's NameAliases.txt): unicodedata
# names none of them, and a clerk's IT colleague knows ESC better than U+001B.
_CONTROL_ABBREVIATIONS = (
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
    "ESC", "FS", "GS", "RS", "US")


def is_invisible(char: str) -> bool:
    """Whether the one character CHAR draws nothing: it is

    * white space (`str.isspace`: general categories Zs, Zl, Zp, and the controls Unicode
      calls white space: tab, line feed, vertical tab, form feed, carriage return, the
      separators U+001C–U+001F and NEL U+0085);
    * a control character (Cc) of any other kind: it draws nothing either (and is an error
      of its own, see `control_characters`);
    * a format character (Cf): zero-width space U+200B, joiners, direction marks, the
      byte-order mark U+FEFF, the soft hyphen U+00AD, the Mongolian vowel separator
      U+180E, tags, …;
    * default ignorable (Default_Ignorable_Code_Point, `DEFAULT_IGNORABLE`): besides the
      format characters, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the variation
      selectors, the combining grapheme joiner U+034F, and the code points Unicode
      reserves as ignorable;
    * a blank glyph (`BLANK_GLYPHS`): the braille blank U+2800, the null notehead U+1D159.
    """
    return (char.isspace() or unicodedata.category(char) in ("Cf", "Cc")
            or _DRAWN_AS_NOTHING.match(char) is not None)


def is_blank(text: str) -> bool:
    """Whether TEXT shows nothing: empty, or only characters that draw nothing
    (`is_invisible`). Such a cell is empty for every rule. Costs one look at the first
    character of any text that starts visibly."""
    return all(map(is_invisible, text))


def has_invisible(text: str) -> bool:
    """Whether TEXT holds a character that draws nothing, in three scans in C: every such
    character is unprintable (Cc, Cf, Z*) but the space, the ignorable letters and marks
    and the blank glyphs, which are looked for by themselves."""
    return not text.isprintable() or " " in text or _DRAWN_AS_NOTHING.search(text) is not None


def spaced(text: str) -> str:
    """TEXT with every invisible character a space: for parsing and comparing, where
    `1\\u200b2` must not turn into 12. Text without any comes back as it is."""
    if not has_invisible(text):
        return text
    return "".join(" " if is_invisible(char) else char for char in text)


def control_characters(text: str) -> tuple[str, ...]:
    """The control characters in TEXT that are no part of text, each once, in order of
    appearance: every Cc character (U+0000–U+001F, U+007F–U+009F) except tab, line feed and
    carriage return (`ALLOWED_CONTROLS`)."""
    if _CONTROL.search(text) is None:
        return ()
    return tuple(dict.fromkeys(_CONTROL.findall(text)))


def without_controls(text: str, shown_as: str = "\ufffd") -> str:
    """TEXT with each control character `control_characters` finds replaced by SHOWN_AS."""
    return _CONTROL.sub(shown_as, text)


def control_name(char: str) -> str:
    """A control character as a clerk's colleague looks it up: `U+001B ESC`, `U+0085`."""
    code = ord(char)
    name = (_CONTROL_ABBREVIATIONS[code] if code < len(_CONTROL_ABBREVIATIONS)
            else "DEL" if code == 0x7F else "")
    return f"U+{code:04X} {name}".rstrip()
