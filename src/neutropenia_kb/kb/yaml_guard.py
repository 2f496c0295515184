"""What keeps a hostile or broken YAML file from hurting: limits on size, expansion and nesting
counted from the parser's events before any node is built, and syntax errors worded for authors
at the line they must fix (where an unclosed quote opened, not where YAML gave up).

kb/loader.py reads files through these; nothing here builds data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from neutropenia_kb.core.problems import Problem

# A real knowledge base has a few thousand nodes; a "billion laughs" file expands to 10**9.
MAX_NODES = 200_000
MAX_BYTES = 5_000_000
# A knowledge base nests about 6 levels (file → list → item → sources → source); the builder
# and the schema checks recurse once per level, so the depth is bounded far below Python's limit.
MAX_NESTING = 64

# libyaml's parser is ~14x faster than the pure-Python one (it decides whether `nkb validate`
# stays well under a second); both give the same nodes and marks.
_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_Base):  # type: ignore[misc]
    """Our own loader class: the global SafeLoader is never patched."""


def measure(path: Path, text: str) -> Problem | None:
    """How many values the file holds once its aliases are expanded, and how deep it nests,
    counted from the parser's events, which stop at the limit: a 5 MB file of small values or a
    "billion laughs" is refused after reading only as far as the limit, before any node is
    composed. A recursive alias (an alias inside its own anchor) is refused here too."""
    loader = Loader(text)
    count = expanded = 0
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (values, levels below it)
    # One entry per open collection: (anchor, count when it opened, deepest level inside).
    stack: list[list[Any]] = []
    try:
        while loader.check_event():
            event = loader.get_event()
            added = depth = 0
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in sizes:
                    if any(entry[0] == event.anchor for entry in stack):
                        return _event_problem(path, event, f"the alias '*{event.anchor}' is "
                                              f"inside its own anchor '&{event.anchor}', so it "
                                              "never ends; write the value out instead")
                    continue  # an undefined alias: the composer reports it at its line
                added, depth = sizes[event.anchor]
                expanded += added
            elif isinstance(event, yaml.ScalarEvent):
                added = 1
                if event.anchor:
                    sizes[event.anchor] = (1, 0)
            elif isinstance(event, yaml.CollectionStartEvent):
                added = 1
                stack.append([event.anchor, count + 1, 0])
                if len(stack) > MAX_NESTING:
                    return _event_problem(path, event, f"the file nests more than {MAX_NESTING} "
                                          "levels deep here; a knowledge base needs fewer than "
                                          "ten: flatten the lists and mappings")
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, start, below = stack.pop()
                if anchor:
                    sizes[anchor] = (count - start + 1, below + 1)
                if stack:
                    stack[-1][2] = max(stack[-1][2], below + 1)
                continue
            count += added
            if depth and stack:
                stack[-1][2] = max(stack[-1][2], depth)
            if depth and len(stack) + depth > MAX_NESTING:
                return _event_problem(path, event, f"the alias '*{event.anchor}' nests the file "
                                      f"more than {MAX_NESTING} levels deep; write the value out")
            if count > MAX_NODES:
                if expanded:
                    return _event_problem(path, event, f"the file expands to more than "
                                          f"{MAX_NODES:,} values through aliases ('*name'); a "
                                          "knowledge base never needs that many: remove the "
                                          "nested aliases")
                return _event_problem(path, event, f"the file holds more than {MAX_NODES:,} "
                                      "values; a knowledge base file holds a few thousand: is "
                                      "this really a knowledge-base file?")
    finally:
        loader.dispose()
    return None


def _event_problem(path: Path, event: yaml.Event, message: str) -> Problem:
    mark = event.start_mark
    if mark is None:  # libyaml always gives one; the type allows none
        return Problem(path, 1, 1, "", message)
    return Problem(path, mark.line + 1, mark.column + 1, "", message)


def syntax_problem(path: Path, text: str, exc: yaml.MarkedYAMLError) -> Problem:
    """At the line the author must fix: where an unclosed quote opened, not where YAML gave up."""
    mark = exc.problem_mark or exc.context_mark
    message = _yaml_message(exc)
    if exc.context_mark is not None and (exc.context or "").startswith("while scanning a quoted"):
        mark = exc.context_mark  # the quote never closed: the parser ran to the end of the file
        message += "; the quote opened here is never closed"
    else:
        opened = _runaway_quote(text, exc.problem_mark)
        if opened is not None:
            mark = opened
            message += (f"; the quote opened here runs on to line "
                        f"{(exc.problem_mark.line + 1) if exc.problem_mark else '?'}: close it "
                        "on this line")
    return Problem(path, mark.line + 1 if mark else None, mark.column + 1 if mark else None, "",
                   message)


_KEY_LINE = re.compile(r"\n\s*(?:- +)?[A-Za-z_][\w-]*:(?:\s|$)")


def _runaway_quote(text: str, problem: yaml.Mark | None) -> yaml.Mark | None:
    """The start of a quoted value that spans lines and swallowed what looks like YAML keys
    (``title: "Sore throat`` missing its closing quote), when one ends before the problem."""
    if problem is None:
        return None
    found: yaml.Mark | None = None
    loader = Loader(text)
    try:
        while loader.check_token():
            token = loader.get_token()
            if token.start_mark.line > problem.line:
                break
            if (isinstance(token, yaml.ScalarToken) and token.style in ('"', "'")
                    and token.end_mark.line > token.start_mark.line
                    and _KEY_LINE.search(text, token.start_mark.index, token.end_mark.index)):
                found = token.start_mark
    except yaml.YAMLError:
        pass  # the tokens up to the error are all we need
    finally:
        loader.dispose()
    return found


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
