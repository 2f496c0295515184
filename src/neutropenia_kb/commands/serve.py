"""`nkb serve`: the CDS Hooks service and JSON API on uvicorn, on 127.0.0.1 unless told."""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import Any

from neutropenia_kb import load
from neutropenia_kb.commands import add_rules_option
from neutropenia_kb.core.problems import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve the evaluator over HTTP: CDS Hooks cards and a JSON API",
        description="Start an HTTP service over the knowledge base: CDS Hooks 2.0 (discovery "
        "at /cds-services, a patient-view service), POST /evaluate (the JSON of `nkb evaluate "
        "--format json`), GET /leaflet (a personal PDF), /openapi.json, /health, /version. "
        "JWT checks, CORS origins, the public URL and limits are set in --config (YAML or "
        "JSON). Needs the serve extra: pip install -e '.[serve]'.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="settings file (YAML or JSON): base_url, site_url, auth, "
                        "cors_origins, max_body_bytes, max_batch, freshness_hours")
    parser.add_argument("--log-level", default="info",
                        choices=("critical", "error", "warning", "info", "debug"),
                        help="server log level (default: info)")
    parser.add_argument("--access-log", action="store_true",
                        help="log every request line (off by default: /leaflet query strings "
                        "hold patient values)")
    add_rules_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from neutropenia_kb.serve.app import make_app
        from neutropenia_kb.serve.config import load_config
        from neutropenia_kb.serve.protocol import OneWriteProtocol
    except ImportError as exc:
        raise UsageError(f"nkb serve needs the serve extra ({exc.name} is missing): "
                         "pip install -e '.[serve]'") from None
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: give a port from 1 to 65535")
    config = load_config(args.config)
    kb = load(args.rules)
    host = f"[{args.host}]" if ":" in args.host else args.host
    base_url = config.base_url or f"http://{host}:{args.port}"
    app = make_app(kb, config, base_url)
    # What is built by now (the knowledge base, its compiled forms, the modules: some 75,000
    # objects) lives as long as the process. Frozen, it is left out of the garbage collector's
    # full collections, which otherwise paused every request in flight for about 60 ms a few
    # times a minute under load; with it, about 15 ms (benchmarks/serve.py, gc callbacks).
    gc.collect()
    gc.freeze()
    # OneWriteProtocol: each answer in one write (serve/protocol.py). No proxy-headers layer:
    # nothing here reads the client's address or scheme (links and JWT audiences come from
    # base_url), and it cost every request a middleware call.
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                access_log=args.access_log, server_header=False, http=OneWriteProtocol,
                proxy_headers=False)
    return 0
