"""The one Problem record used for every kind of mistake, and the small exception family.

Authors, the CLI, the MkDocs plugin and the test plugin all see problems in the same shape:
``rules/causes.yaml:42:7: error: causes[3].sources[0]: unknown source 'apolo_2025'``.
"""

from __future__ import annotations

import difflib
import json
import reprlib
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Literal, Sequence

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    file: Path | None
    line: int | None  # 1-based
    column: int | None  # 1-based
    where: str  # "causes[3].sources[0]"; "" when the whole file is meant
    message: str  # what is wrong and how to fix it
    severity: Severity = "error"

    def location(self, base: Path | None = None) -> str:
        name = display_path(self.file, base) if self.file is not None else "<input>"
        if self.line is None:
            return name
        if self.column is None:
            return f"{name}:{self.line}"
        return f"{name}:{self.line}:{self.column}"

    def render(self, base: Path | None = None) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{self.location(base)}: {self.severity}: {where}{self.message}"

    def to_json(self, base: Path | None = None) -> dict[str, object]:
        return {
            "file": display_path(self.file, base) if self.file is not None else None,
            "line": self.line,
            "column": self.column,
            "where": self.where,
            "severity": self.severity,
            "message": self.message,
        }

    def sort_key(self) -> tuple[str, int, int, str]:
        return (str(self.file or ""), self.line or 0, self.column or 0, self.message)


def display_path(path: Path, base: Path | None = None) -> str:
    """Paths relative to the working directory read best in an editor's problem list."""
    try:
        return str(path.resolve().relative_to((base or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Sorted by file and line, duplicates dropped (two checks may find the same fault)."""
    return sorted(set(problems), key=Problem.sort_key)


def has_errors(problems: Iterable[Problem], strict: bool = False) -> bool:
    return any(p.severity == "error" or strict for p in problems)


def render_all(problems: Sequence[Problem], fmt: str = "text", base: Path | None = None) -> str:
    if fmt == "json":
        return json.dumps([p.to_json(base) for p in problems], indent=2, ensure_ascii=False)
    return "\n".join(p.render(base) for p in problems)


def did_you_mean(word: str, choices: Iterable[str], n: int = 1) -> str:
    """'; did you mean 'apollo_2025'?' or '' — appended to messages about unknown names."""
    matches = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)
    if not matches:
        return ""
    quoted = " or ".join(f"'{m}'" for m in matches)
    return f"; did you mean {quoted}?"


# What show_value escapes, as repr() writes it: the C0 and C1 controls and DEL (terminal escape
# codes; U+0085 ends a line in many editors), the line and paragraph separators (line ends in
# editors and JavaScript), and the bidirectional formatting characters, which reorder how the
# rest of a line is shown ("Trojan Source", CVE-2021-42574). None is printable. The SQL and
# JavaScript engines spell the same table (sql_expr.Sql.escape, js/runtime.js show).
BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROL = ({i: f"\\x{i:02x}" for i in (*range(0x20), *range(0x7F, 0xA0))}
            | {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
            | {i: f"\\u{i:04x}" for i in (0x2028, 0x2029, *BIDI)})
SHOWN_CHARS = 80  # a value quoted in a message is cut to this many characters


class _Repr(reprlib.Repr):
    """repr() in bounded time and size whatever the value: reprlib stops at a few levels and a few
    items, so a list nested 100,000 deep or one of a million items is shown in microseconds, and
    never raises (plain repr() raises RecursionError on deep nesting and ValueError on an int of
    more than 4,300 digits)."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4 * SHOWN_CHARS:  # before repr(): that is what would raise
            return f"<a number of about {int(x.bit_length() * 0.30103):,} digits>"
        return super().repr_int(x, level)

    def repr_Decimal(self, x: object, level: int) -> str:  # 37.5, not Decimal('37.5')
        return str(x)[: self.maxother]

    def repr_Fraction(self, x: Fraction, level: int) -> str:  # 1/3, not Fraction(1, 3)
        return f"{self.repr_int(x.numerator, level)}/{self.repr_int(x.denominator, level)}"


_REPR = _Repr()
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = SHOWN_CHARS


def show_value(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as a message quotes it on one line and in its own order: control characters, line
    and paragraph separators and bidirectional formatting characters escaped as repr() writes
    them (no terminal escape code reaches the screen, no quoted value breaks a line of a report
    or reorders the rest of it), cut to ``limit`` characters with the full length given, so a
    1 MB value gives a short message. Strings are shown as they are; other values by a bounded
    repr."""
    text = value if isinstance(value, str) else _REPR.repr(value)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text):,} characters)"
    # Every character translate escapes is unprintable; isprintable() scans in C, where
    # translate looks each character up in a dict: most messages have nothing to escape.
    return text if text.isprintable() else text.translate(_CONTROL)


def summary(path: Path, problems: Sequence[Problem], files: int, strict: bool = False) -> str:
    """'rules: 2 errors, 1 warning in 11 files' or 'rules: OK, 11 files, 0 warnings'."""
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors or (strict and warnings):
        tail = " (--strict: warnings fail)" if strict and warnings and not errors else ""
        return (f"{path}: {count(errors, 'error')}, {count(warnings, 'warning')} in "
                f"{count(files, 'file')}{tail}")
    return f"{path}: OK, {count(files, 'file')}, {count(warnings, 'warning')}"


def count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class NkbError(Exception):
    """The base of every error the library raises on purpose; ``exit_code`` is what the CLI exits
    with (click's ladder: 1 content problems, 2 usage mistakes and bad patient input)."""

    exit_code = 1


@dataclass
class KbError(NkbError):
    """Raised by the library when the knowledge base has errors; carries every problem found."""

    problems: list[Problem] = field(default_factory=list)
    exit_code = 1

    def __str__(self) -> str:
        return render_all(self.problems)


class InputError(NkbError, ValueError):
    """A patient input that cannot be used: names the field, the value and what is allowed."""

    exit_code = 2

    def __init__(self, field_name: str, value: object, allowed: str) -> None:
        self.field = field_name
        self.value = value
        self.allowed = allowed
        shown = f"'{show_value(value)}'" if isinstance(value, str) else show_value(value)
        super().__init__(f"{show_value(field_name)}: {shown} is not allowed: {allowed}")

    def to_json(self) -> dict[str, object]:
        """{field, value, allowed, message} for a program: the value as given when it is a
        short JSON scalar (a Decimal stays a number), else as the message quotes it."""
        value = self.value
        if isinstance(value, Decimal) and value.is_finite() and len(str(value)) <= SHOWN_CHARS:
            shown: object = value
        elif value is None or isinstance(value, bool) or (
                isinstance(value, int) and abs(value) < 10 ** SHOWN_CHARS):
            shown = value
        else:
            shown = show_value(value)
        return {"field": show_value(self.field), "value": shown, "allowed": self.allowed,
                "message": str(self)}


class UsageError(NkbError):
    """A mistake in how a command was called (exit status 2)."""

    exit_code = 2
