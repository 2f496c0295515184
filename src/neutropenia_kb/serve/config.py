"""`nkb serve --config FILE`: the deployment's settings (YAML or JSON), checked once at start.

Every setting has a safe default: no JWT issuers means no authentication (a loopback service for
one machine), no CORS origins means no CORS headers, small body and batch limits.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neutropenia_kb.core.problems import UsageError, render_all, show_value
from neutropenia_kb.kb.loader import load_text

ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384",
                      "PS512")


@dataclass(frozen=True)
class Issuer:
    """A CDS client we trust: its `iss` and its public keys (a JWK Set's keys, or PEM texts)."""

    iss: str
    jwks: tuple[Mapping[str, Any], ...] = ()
    pems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServeConfig:
    base_url: str | None = None  # the service's public URL; None: http://HOST:PORT
    site_url: str | None = None  # where the website's pages are; None: cards carry no page links
    max_body_bytes: int = 256 * 1024
    max_batch: int = 100
    cors_origins: tuple[str, ...] = ()
    # A deployment choice, not clinical content: how old a result may be and still count.
    max_age_counts: dt.timedelta = dt.timedelta(hours=72)
    max_age_temperature: dt.timedelta = dt.timedelta(hours=24)
    issuers: tuple[Issuer, ...] = ()
    algorithms: tuple[str, ...] = ("RS256", "RS384", "ES256", "ES384")
    leeway_seconds: int = 30
    max_leaflets_at_once: int = 2

    @property
    def auth_required(self) -> bool:
        return bool(self.issuers)

    def max_age(self) -> dict[str, dt.timedelta]:
        return {"counts": self.max_age_counts, "temperature": self.max_age_temperature}


_KEYS = {"base_url", "site_url", "max_body_bytes", "max_batch", "cors_origins",
         "freshness_hours", "auth", "max_leaflets_at_once"}


def load_config(path: Path | None) -> ServeConfig:
    """Raises UsageError naming the setting, its value and what is allowed."""
    if path is None:
        return ServeConfig()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read --config '{path}': {exc.strerror}") from None
    doc, problems = load_text(path, raw)
    if doc is None or problems:
        raise UsageError("the --config file cannot be read:\n" + render_all(problems))
    data = doc.data if doc.data is not None else {}
    return config_from(data, str(path))


def config_from(data: Any, name: str = "config") -> ServeConfig:
    if not isinstance(data, Mapping):
        raise _bad(name, "", data, "a mapping of settings")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise _bad(name, unknown[0], data[unknown[0]], "a known setting: " + ", ".join(sorted(_KEYS)))
    fresh = data.get("freshness_hours", {})
    if not isinstance(fresh, Mapping) or set(fresh) - {"counts", "temperature"}:
        raise _bad(name, "freshness_hours", fresh, "{counts: HOURS, temperature: HOURS}")
    auth = data.get("auth", {})
    if not isinstance(auth, Mapping) or set(auth) - {"issuers", "algorithms", "leeway_seconds"}:
        raise _bad(name, "auth", auth, "{issuers: [...], algorithms: [...], leeway_seconds: N}")
    algorithms = auth.get("algorithms", list(ServeConfig.algorithms))
    if not isinstance(algorithms, list) or not algorithms or \
            any(a not in ALLOWED_ALGORITHMS for a in algorithms):
        raise _bad(name, "auth.algorithms", algorithms,
                   "a list of asymmetric algorithms from " + ", ".join(ALLOWED_ALGORITHMS)
                   + " ('none' and HMAC (HS*) are refused, as CDS Hooks requires)")
    return ServeConfig(
        base_url=_url(name, "base_url", data.get("base_url")),
        site_url=_url(name, "site_url", data.get("site_url")),
        max_body_bytes=_count(name, "max_body_bytes", data.get("max_body_bytes", 256 * 1024)),
        max_batch=_count(name, "max_batch", data.get("max_batch", 100)),
        cors_origins=tuple(_strings(name, "cors_origins", data.get("cors_origins", []))),
        max_age_counts=dt.timedelta(hours=_count(name, "freshness_hours.counts",
                                                 fresh.get("counts", 72))),
        max_age_temperature=dt.timedelta(hours=_count(name, "freshness_hours.temperature",
                                                      fresh.get("temperature", 24))),
        issuers=tuple(_issuer(name, i, item)
                      for i, item in enumerate(_list(name, "auth.issuers",
                                                     auth.get("issuers", [])))),
        algorithms=tuple(algorithms),
        leeway_seconds=_count(name, "auth.leeway_seconds", auth.get("leeway_seconds", 30),
                              low=0),
        max_leaflets_at_once=_count(name, "max_leaflets_at_once",
                                    data.get("max_leaflets_at_once", 2)),
    )


def _issuer(name: str, i: int, item: Any) -> Issuer:
    where = f"auth.issuers[{i}]"
    if not isinstance(item, Mapping) or not isinstance(item.get("iss"), str) or \
            set(item) - {"iss", "jwks", "jwks_file", "pem", "pem_file"}:
        raise _bad(name, where, item, "{iss: URL, and jwks, jwks_file, pem or pem_file}")
    keys: list[Mapping[str, Any]] = []
    pems: list[str] = []
    jwks = item.get("jwks")
    if "jwks_file" in item:
        jwks = _read_json(name, f"{where}.jwks_file", item["jwks_file"])
    if jwks is not None:
        if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
            raise _bad(name, f"{where}.jwks", jwks, "a JWK Set: {keys: [...]}")
        keys = [k for k in jwks["keys"] if isinstance(k, Mapping)]
    if "pem" in item:
        pems.append(str(item["pem"]))
    if "pem_file" in item:
        try:
            pems.append(Path(str(item["pem_file"])).read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError) as exc:
            raise _bad(name, f"{where}.pem_file", item["pem_file"], f"a readable PEM file ({exc})")
    if not keys and not pems:
        raise _bad(name, where, item, "at least one public key (jwks, jwks_file, pem or pem_file)")
    return Issuer(item["iss"], tuple(keys), tuple(pems))


def _read_json(name: str, key: str, file: Any) -> Any:
    try:
        return json.loads(Path(str(file)).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad(name, key, file, f"a readable JSON file ({exc})") from None


def _url(name: str, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise _bad(name, key, value, "an absolute http:// or https:// URL")
    return value.rstrip("/")


def _count(name: str, key: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _bad(name, key, value, f"a whole number, {low} or more")
    return value


def _list(name: str, key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(name, key, value, "a list")
    return value


def _strings(name: str, key: str, value: Any) -> list[str]:
    items = _list(name, key, value)
    if any(not isinstance(v, str) for v in items):
        raise _bad(name, key, value, "a list of strings")
    return items


def _bad(name: str, key: str, value: Any, allowed: str) -> UsageError:
    where = f"{key}: " if key else ""
    return UsageError(f"{name}: {where}{show_value(value)} is not allowed: {allowed}")
