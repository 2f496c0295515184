"""Read authored YAML safely, keeping the line and column of every key and value.

We compose nodes with our own SafeLoader subclass (kb/yaml_guard.py, which also bounds size,
aliases and nesting and words syntax errors) and build plain data ourselves, so that we
can reject duplicate keys and unknown tags, bound alias expansion and nesting, keep dates as
written, read decimals exactly, and later point any problem at ``file:line:col``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import yaml

from neutropenia_kb.core.problems import Problem, show_value
from neutropenia_kb.kb.yaml_guard import MAX_BYTES as MAX_BYTES
from neutropenia_kb.kb.yaml_guard import MAX_NESTING as MAX_NESTING
from neutropenia_kb.kb.yaml_guard import MAX_NODES as MAX_NODES
from neutropenia_kb.kb.yaml_guard import Loader, measure, syntax_problem

PathKey = tuple[str | int, ...]

# Numbers a knowledge base writes lie far inside 10**±30; an exponent like 1e999999999 would make
# every exact (Fraction) conversion after the loader take minutes.
MAX_EXPONENT = 30
# What YAML refuses in a file (PyYAML's reader): C0 controls but tab and line breaks, DEL, C1
# controls but NEL, surrogates and the two non-characters. Found first, each at its line.
_NOT_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD"
                            "\U00010000-\U0010FFFF]")

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:timestamp",
}


@dataclass(frozen=True)
class Doc:
    """One YAML file: its plain data and where each part of it was written."""

    path: Path
    data: Any
    value_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    text: str = field(default="", repr=False, compare=False)  # as decoded, for locate()

    @cached_property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.text.splitlines())

    def mark(self, where: PathKey, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the value at ``where`` (or of its key), else the
        nearest enclosing node that exists."""
        marks = self.key_marks if key and where in self.key_marks else self.value_marks
        probe = tuple(where)
        while probe:
            if probe in marks:
                return marks[probe]
            if probe in self.value_marks:
                return self.value_marks[probe]
            probe = probe[:-1]
        return self.value_marks.get((), (1, 1))

    def locate(self, where: PathKey, needle: str, offset: int = 0) -> tuple[int | None, int | None]:
        """Line and column of the words ``needle`` (plus ``offset`` characters into them) inside
        the value at ``where``, so an editor jumps right to them; the value's start when they
        cannot be found (e.g. a folded line break falls inside them)."""
        line, column = self.mark(where)
        if line is None:
            return line, column
        value: Any = self.data
        for part in where:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value = value[part]
            else:
                value = None
        text = value if isinstance(value, str) else needle
        span = text.count("\n") + len(text) // 20 + 3  # folded text wraps at ~20+ characters a line
        for n in range(line - 1, min(len(self.lines), line - 1 + span)):
            start = (column or 1) - 1 if n == line - 1 else 0
            found = self.lines[n].find(needle, start)
            if found >= 0:
                return n + 1, found + 1 + offset
        return line, column

    def problem(self, where: PathKey, message: str, *, key: bool = False,
                severity: str = "error") -> Problem:
        line, column = self.mark(where, key=key)
        return Problem(self.path, line, column, format_path(where), message,
                       severity)  # type: ignore[arg-type]


def format_path(where: PathKey) -> str:
    """('causes', 3, 'sources', 0) → 'causes[3].sources[0]'."""
    out = ""
    for part in where:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Builder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.value_marks: dict[PathKey, tuple[int, int]] = {}
        self.key_marks: dict[PathKey, tuple[int, int]] = {}
        self.problems: list[Problem] = []

    def _at(self, node: yaml.Node, where: PathKey, message: str) -> None:
        self.problems.append(Problem(self.path, node.start_mark.line + 1,
                                     node.start_mark.column + 1, format_path(where), message))

    def build(self, node: yaml.Node, where: PathKey) -> Any:
        # _measure has bounded the size, the nesting and refused recursive aliases already.
        self.value_marks.setdefault(where, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag not in _STANDARD_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self._at(node, where, f"the YAML tag '{tag}' is not allowed here; remove it "
                     "and write the value as plain text, a number, a list or a mapping")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, where)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, where + (i,)) for i, child in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, where)

    def _mapping(self, node: yaml.MappingNode, where: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._at(key_node, where, "merge keys ('<<') are not allowed; write the keys out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._at(key_node, where, "a key must be a plain word, not a list or mapping")
                continue
            key = str(key_node.value)
            if key in first_seen:
                self._at(key_node, where + (key,),
                         f"duplicate key '{show_value(key)}' (first written on line {first_seen[key]}); "
                         "YAML would silently keep only the last one: remove or rename one")
                continue
            first_seen[key] = key_node.start_mark.line + 1
            self.key_marks[where + (key,)] = (key_node.start_mark.line + 1,
                                              key_node.start_mark.column + 1)
            result[key] = self.build(value_node, where + (key,))
        return result

    def _scalar(self, node: yaml.ScalarNode, where: PathKey) -> Any:
        tag, text = node.tag, node.value
        if tag == "tag:yaml.org,2002:str":
            return text
        if tag == "tag:yaml.org,2002:timestamp":
            return text  # dates stay as written: "2025-09-03"
        if tag == "tag:yaml.org,2002:float":
            cleaned = text.replace("_", "")
            try:
                value = Decimal(cleaned)
            except InvalidOperation:
                value = None
            if value is not None and value.is_finite() and \
                    (not value or abs(value.adjusted()) <= MAX_EXPONENT):
                return value  # exact: 100.4 stays 100.4, never 100.40000000000001
            self._at(node, where, f"'{show_value(text)}' is not a finite number of at most "
                     f"{MAX_EXPONENT} digits before or after the point")
            return None
        if tag == "tag:yaml.org,2002:int" and len(text.lstrip("+-0")) > MAX_EXPONENT + 1:
            # Exact conversions of huge numbers take minutes; Python refuses over 4,300 digits.
            self._at(node, where, f"'{show_value(text)}' has more than {MAX_EXPONENT + 1} digits")
            return None
        try:
            return _SCALARS.construct_object(node)  # int, bool, null: PyYAML's safe rules
        except ValueError:  # int() refuses more than 4,300 digits
            self._at(node, where, f"'{show_value(text)}' has too many digits to be read")
            return None


_SCALARS = yaml.constructor.SafeConstructor()

_TAB_INDENT = re.compile(r"^( *)\t", re.MULTILINE)
_CONTENT = re.compile(r"^[ \t]*[^\s#]", re.MULTILINE)  # a line that is not blank or a comment


def load_text(path: Path, raw: bytes) -> tuple[Doc | None, list[Problem]]:
    """Parse one file's bytes. Returns the Doc (None when unusable) and every problem found."""
    if len(raw) > MAX_BYTES:
        return None, [_too_large(path, len(raw))]
    if b"\x00" in raw:
        line, column = _byte_mark(raw, raw.index(b"\x00"))
        return None, [Problem(path, line, column, "", "this is a binary file, not YAML text; "
                              "remove it from rules/ or save it as UTF-8 text")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [not_utf8(path, raw, exc)]
    controls = [Problem(path, *_text_mark(text, m.start()), "",
                        f"the character {show_value(m.group())} (U+{ord(m.group()):04X}) is not "
                        "allowed in YAML text; delete it (it is often pasted in by accident)")
                for m in _NOT_PRINTABLE.finditer(text)]
    if controls:
        return None, controls[:20]
    tabs = [Problem(path, text.count("\n", 0, m.start()) + 1, len(m.group(1)) + 1, "",
                    "tab character in indentation; YAML indents with spaces only")
            for m in _TAB_INDENT.finditer(text)]
    if tabs:
        return None, tabs
    if not _CONTENT.search(text):
        return None, [Problem(path, 1, 1, "", "file is empty; it must hold a mapping of "
                              "top-level keys (see the other files in rules/ for the shape)")]
    try:
        too_big = measure(path, text)
        if too_big is not None:
            return None, [too_big]
        loader = Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        return None, [syntax_problem(path, text, exc)]
    except yaml.reader.ReaderError as exc:  # a character the pre-scan did not know of
        line, column = _text_mark(text, min(exc.position, len(text)))
        return None, [Problem(path, line, column, "", f"YAML cannot read this character: "
                              f"{exc.reason}")]
    except yaml.YAMLError as exc:  # composer errors such as several documents in one file
        return None, [Problem(path, 1, 1, "", f"YAML error: {show_value(str(exc), 300)}")]
    if root is None:
        return None, [Problem(path, 1, 1, "", "file is empty; it must hold a mapping of "
                              "top-level keys (see the other files in rules/ for the shape)")]
    builder = _Builder(path)
    data = builder.build(root, ())
    problems = builder.problems
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        problems.append(Problem(path, root.start_mark.line + 1, root.start_mark.column + 1, "",
                                f"the top level is {kind}; it must be a mapping of keys such as "
                                f"'{path.stem}:'"))
        return None, problems
    return Doc(path, data, builder.value_marks, builder.key_marks, text), problems


def not_utf8(path: Path, raw: bytes, exc: UnicodeDecodeError) -> Problem:
    """The first byte that is not UTF-8, at its line and column (YAML and JSON files alike)."""
    line, column = _byte_mark(raw, exc.start)
    return Problem(path, line, column, "", f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the "
                   "file with UTF-8 encoding")


def _too_large(path: Path, size: int) -> Problem:
    return Problem(path, 1, 1, "", f"file is {size:,} bytes; the limit is {MAX_BYTES:,}. Is "
                   "this really a knowledge-base file?")


def _byte_mark(raw: bytes, offset: int) -> tuple[int, int]:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, offset - line_start + 1


def _text_mark(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def load_file(path: Path) -> tuple[Doc | None, list[Problem]]:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:  # refused before reading a byte of it
            return None, [_too_large(path, size)]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(path, None, None, "", f"cannot read file: {exc.strerror}")]
    return load_text(path, raw)


def rule_files(root: Path) -> Iterator[Path]:
    """The YAML files of a knowledge base folder, in a stable order."""
    yield from sorted(p for p in root.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())


def load_dir(root: Path) -> tuple[dict[str, Doc], list[Problem]]:
    """Every file of ``root`` keyed by its stem ('causes'), with all problems found."""
    docs: dict[str, Doc] = {}
    problems: list[Problem] = []
    if not root.is_dir():
        return docs, [Problem(root, None, None, "", "no such folder; give the path of the "
                              "knowledge base (the folder holding kb.yaml)")]
    for path in rule_files(root):
        doc, found = load_file(path)
        problems.extend(found)
        if doc is not None:
            docs[path.stem] = doc
    return docs, problems
