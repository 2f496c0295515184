"""JSON text with exact numbers, both ways: a Decimal is written as its own digits, as a JSON
number; ``loads`` reads decimals as Decimals and refuses a key written twice.

The standard library writes only floats, whose shortest repr may not be the value
(37.99999999999999999 °C would come out as 38.0, a fever). JSON itself allows any number of
digits, so results carry the exact decimal (units.json_number) and are written here; a reader
that wants every digit parses numbers as decimals (Python: ``json.loads(text,
parse_float=Decimal)``). Everything else is written by the json module, so strings are escaped
exactly as json.dumps escapes them.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from decimal import Decimal
from json.encoder import encode_basestring as _string  # what json.dumps uses, ensure_ascii=False
from typing import Any, Callable

from neutropenia_kb.core.problems import show_value


def number_text(value: Decimal) -> str:
    """'37.99999999999999999', '0.0000001', '1500': positional, never an exponent, so that any
    JSON reader (and a CSV cell) reads the digits as written."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    return format(value, "f")


def dumps(data: Any, *, indent: int | None = None, compact: bool = False,
          default: Callable[[Any], Any] | None = None) -> str:
    """Like ``json.dumps(data, ensure_ascii=False, indent=indent)``, with Decimals as numbers;
    ``compact`` drops the spaces after ',' and ':'. ``default`` turns other values into JSON
    values, as json.dumps's does."""
    item_sep = "," if compact or indent is not None else ", "
    key_sep = ":" if compact else ": "
    out: list[str] = []
    _encode(data, 0, indent, item_sep, key_sep, default, out)
    return "".join(out)


_CONSTANTS = {None: "null", True: "true", False: "false"}


def _encode(value: Any, depth: int, indent: int | None, item_sep: str, key_sep: str,
            default: Callable[[Any], Any] | None, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_string(value))
    elif value is None or kind is bool:
        out.append(_CONSTANTS[value])
    elif kind is int:
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        out.append(number_text(value))
    elif kind is float:
        out.append(json.dumps(value, allow_nan=False))
    elif isinstance(value, (dict, list, tuple)):
        is_dict = isinstance(value, dict)
        items: list[Any] = list(value.items()) if isinstance(value, dict) else list(value)
        open_, close = ("{", "}") if is_dict else ("[", "]")
        if not items:
            out.append(open_ + close)
            return
        inner = "" if indent is None else "\n" + " " * (indent * (depth + 1))
        outer = "" if indent is None else "\n" + " " * (indent * depth)
        out.append(open_)
        for i, item in enumerate(items):
            out.append(item_sep + inner if i else inner)
            if is_dict:
                key, item = item
                if not isinstance(key, str):
                    raise TypeError(f"keys must be strings, not {type(key).__name__}")
                out.append(_string(key) + key_sep)
            _encode(item, depth + 1, indent, item_sep, key_sep, default, out)
        out.append(outer + close)
    elif isinstance(value, (str, int, float)):  # subclasses (enums): as json.dumps writes them
        out.append(json.dumps(value, ensure_ascii=False, allow_nan=False))
    elif default is not None:
        _encode(default(value), depth, indent, item_sep, key_sep, default, out)
    else:
        raise TypeError(f"{type(value).__name__} is not JSON")


# ---- reading ---------------------------------------------------------------------------------

class DuplicateKey(ValueError):
    """A key written twice in one object: JSON would silently keep only the last value. Each
    reader words its own message; ``position`` (where the second key opens) and ``first_line``
    are known only when ``loads`` was asked to ``locate`` them."""

    def __init__(self, key: str, position: int | None = None,
                 first_line: int | None = None) -> None:
        super().__init__(f"the key '{show_value(key)}' is written twice")
        self.key = key
        self.position = position
        self.first_line = first_line


def loads(text: str, *, parse_int: Callable[[str], Any] = int,
          parse_constant: Callable[[str], Any] = Decimal, locate: bool = False) -> Any:
    """JSON read exactly and strictly, the one reader of the patient, batch and service JSON:
    decimals as Decimal (never float, so 37.99999999999999999 °C is no fever), and a key written
    twice raises DuplicateKey. ``locate``: find where the duplicate is (the pure-Python scanner,
    slower; for files, whose errors name a line). Other faults raise json.JSONDecodeError or
    what ``parse_int``/``parse_constant`` raise; too deep a nesting raises RecursionError."""
    if locate:
        return _LocatingDecoder(parse_int, parse_constant).decode(text)
    return json.loads(text, parse_float=Decimal, parse_int=parse_int,
                      parse_constant=parse_constant, object_pairs_hook=_unique)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey(key)
        obj[key] = value
    return obj


class _LocatingDecoder(json.JSONDecoder):
    def __init__(self, parse_int: Callable[[str], Any], parse_constant: Callable[[str], Any]
                 ) -> None:
        super().__init__(parse_float=Decimal, parse_int=parse_int, parse_constant=parse_constant)
        # The pure-Python scanner, because it hands each object's text position to
        # parse_object: that is how a duplicate key gets a line.
        self.parse_object = self._object
        self.scan_once = json.scanner.py_make_scanner(self)  # type: ignore[attr-defined]

    def _object(self, s_and_end: tuple[str, int], strict: bool, scan_once: Any, object_hook: Any,
                object_pairs_hook: Any, memo: Any = None) -> tuple[dict[str, Any], int]:
        starts: list[int] = []

        def value_at(text: str, index: int) -> Any:
            starts.append(index)  # one call per member, in order: the positions of the values
            return scan_once(text, index)

        pairs, end = json.decoder.JSONObject(  # type: ignore[attr-defined]
            s_and_end, strict, value_at, None, list, memo)
        text = s_and_end[0]
        seen: dict[str, int] = {}
        for (key, _), start in zip(pairs, starts):
            start = _key_start(text, start)
            if key in seen:
                raise DuplicateKey(key, start, text.count("\n", 0, seen[key]) + 1)
            seen[key] = start
        return dict(pairs), end


def _key_start(text: str, value_start: int) -> int:
    """Where the key of the value at ``value_start`` opens: back over the ':' and the closing
    quote to the first quote not escaped by a backslash (only whitespace lies between)."""
    quote = text.rindex('"', 0, text.rindex(":", 0, value_start))
    while True:
        quote = text.rindex('"', 0, quote)
        backslashes = quote - len(text[:quote].rstrip("\\"))
        if backslashes % 2 == 0:
            return quote
