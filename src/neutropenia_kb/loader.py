"""Read authored YAML safely, keeping the line and column of every key and value.

We compose nodes with our own SafeLoader subclass and build plain data ourselves, so that we
can reject duplicate keys and unknown tags, bound alias expansion, keep dates as written, read
decimals exactly, and later point any problem at ``file:line:col``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import yaml

from .problems import Problem, show_value

PathKey = tuple[str | int, ...]

# A real knowledge base has a few thousand nodes; a "billion laughs" file expands to 10**9.
MAX_NODES = 200_000
MAX_BYTES = 5_000_000

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


# libyaml's parser is ~14x faster than the pure-Python one (it decides whether `nkb validate`
# stays well under a second); both give the same nodes and marks.
_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """Our own loader class: the global SafeLoader is never patched."""


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
        self.count = 0

    def _at(self, node: yaml.Node, where: PathKey, message: str) -> None:
        self.problems.append(Problem(self.path, node.start_mark.line + 1,
                                     node.start_mark.column + 1, format_path(where), message))

    def build(self, node: yaml.Node, where: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(node)
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
                         f"duplicate key '{key}' (first written on line {first_seen[key]}); "
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
            if value is not None and value.is_finite():
                return value  # exact: 100.4 stays 100.4, never 100.40000000000001
            self._at(node, where, f"'{text}' is not a finite number")
            return None
        try:
            return _SCALARS.construct_object(node)  # int, bool, null: PyYAML's safe rules
        except ValueError:  # int() refuses more than 4,300 digits
            self._at(node, where, f"'{show_value(text)}' has too many digits to be read")
            return None


class _TooBig(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


_SCALARS = yaml.constructor.SafeConstructor()

_TAB_INDENT = re.compile(r"^( *)\t", re.MULTILINE)


def load_text(path: Path, raw: bytes) -> tuple[Doc | None, list[Problem]]:
    """Parse one file's bytes. Returns the Doc (None when unusable) and every problem found."""
    if len(raw) > MAX_BYTES:
        return None, [Problem(path, None, None, "", f"file is {len(raw):,} bytes; the limit is "
                              f"{MAX_BYTES:,}. Is this really a knowledge-base file?")]
    if b"\x00" in raw:
        return None, [Problem(path, None, None, "", "this is a binary file, not YAML text; "
                              "remove it from rules/ or save it as UTF-8 text")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Problem(path, line, column, "", f"byte 0x{raw[exc.start]:02x} is not UTF-8; "
                              "save the file with UTF-8 encoding")]
    tabs = [Problem(path, text.count("\n", 0, m.start()) + 1, len(m.group(1)) + 1, "",
                    "tab character in indentation; YAML indents with spaces only")
            for m in _TAB_INDENT.finditer(text)]
    if tabs:
        return None, tabs
    if not text.strip() or all(ln.lstrip().startswith("#") or not ln.strip()
                               for ln in text.splitlines()):
        return None, [Problem(path, 1, 1, "", "file is empty; it must hold a mapping of "
                              "top-level keys (see the other files in rules/ for the shape)")]
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = _yaml_message(exc)
        return None, [Problem(path, mark.line + 1 if mark else None,
                              mark.column + 1 if mark else None, "", message)]
    except yaml.YAMLError as exc:  # composer errors such as several documents in one file
        return None, [Problem(path, None, None, "", f"YAML error: {exc}")]
    finally:
        loader.dispose()
    if root is None:
        return None, [Problem(path, 1, 1, "", "file is empty; it must hold a mapping of "
                              "top-level keys (see the other files in rules/ for the shape)")]
    builder = _Builder(path)
    try:
        data = builder.build(root, ())
    except _TooBig as big:
        return None, [Problem(path, big.node.start_mark.line + 1, big.node.start_mark.column + 1,
                              "", f"the file expands to more than {MAX_NODES:,} values through "
                              "aliases ('*name'); a knowledge base never needs that many: remove "
                              "the nested aliases")]
    problems = builder.problems
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        problems.append(Problem(path, root.start_mark.line + 1, root.start_mark.column + 1, "",
                                f"the top level is {kind}; it must be a mapping of keys such as "
                                f"'{path.stem}:'"))
        return None, problems
    return Doc(path, data, builder.value_marks, builder.key_marks, text), problems


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "YAML syntax error"
    hint = ""
    if "mapping values are not allowed" in problem:
        hint = "; a value containing ': ' must be quoted, or a key is indented wrongly"
    elif "could not find expected ':'" in problem:
        hint = "; a line is missing its 'key:' or is indented wrongly"
    elif "found undefined alias" in problem:
        hint = "; the alias '*name' has no matching anchor '&name' above it"
    elif "expected <block end>" in problem or "did not find expected" in problem:
        hint = "; check the indentation of this line against the lines above"
    context = f" ({exc.context})" if exc.context else ""
    return f"YAML syntax error: {problem}{context}{hint}"


def load_file(path: Path) -> tuple[Doc | None, list[Problem]]:
    try:
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
