"""JSON text with exact numbers: a Decimal is written as its own digits, as a JSON number.

The standard library writes only floats, whose shortest repr may not be the value
(37.99999999999999999 °C would come out as 38.0, a fever). JSON itself allows any number of
digits, so results carry the exact decimal (units.json_number) and are written here; a reader
that wants every digit parses numbers as decimals (Python: ``json.loads(text,
parse_float=Decimal)``). Everything else is written by the json module, so strings are escaped
exactly as json.dumps escapes them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from json.encoder import encode_basestring as _string  # what json.dumps uses, ensure_ascii=False
from typing import Any, Callable


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
