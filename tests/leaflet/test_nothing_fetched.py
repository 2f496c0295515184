"""Nothing is fetched or embedded from outside the package: the validator refuses images and
non-web links in authored text at their line, the renderer refuses to load anything but the
package's own fonts even when handed HTML that asks for more, and no PDF names a build path."""

from __future__ import annotations

import io
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from pypdf import PdfReader

from neutropenia_kb.checks.validate import validate_dir
from neutropenia_kb.kb.loader import load_dir
from neutropenia_kb.kb.model import KnowledgeBase, build
from neutropenia_kb.render import leaflet as L
from neutropenia_kb.render import leaflet_table as T
from neutropenia_kb.render.leaflet_weasy import PackageFilesOnly

REPO = Path(__file__).resolve().parents[2]
EMERGENCY_TEXT = "      Do not wait. Get medical help now."
# a 1×1 PNG, so a renderer that did fetch would get a real image
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4a60000000049454e44ae426082")


class Server:
    """A real HTTP server on a loopback port that counts the requests it gets."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                self.wfile.write(PNG)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def rules_with_emergency_text(tmp_path: Path, text: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    urgency = rules / "urgency.yaml"
    source = urgency.read_text(encoding="utf-8")
    assert source.count(EMERGENCY_TEXT) == 1
    urgency.write_text(source.replace(EMERGENCY_TEXT, f"      {text}"), encoding="utf-8")
    return rules


def unvalidated_kb(rules: Path) -> KnowledgeBase:
    """The model built without validation: the renderer's own defences, tested alone."""
    docs, problems = load_dir(rules)
    assert not problems
    return build(rules, docs)


@pytest.mark.parametrize("payload, column, message", [
    ("Call. ![](http://127.0.0.1:{port}/x.png)", 13, "images are not allowed in patient text"),
    ("See [this](file:///etc/passwd).", 11, "must go to a web address starting with https://, "
     "not 'file:///etc/passwd'"),
    ("See [this](data:text/html,hi).", 11, "not 'data:text/html,hi'"),
    ("See [notes](notes.html).", 11, "not 'notes.html'"),
    ("See <file:///etc/passwd>.", 11, "not 'file:///etc/passwd'"),
])
def test_validate_refuses_images_and_non_web_links_at_their_column(
        tmp_path: Path, server: Server, payload: str, column: int, message: str) -> None:
    port = server.url.rsplit(":", 1)[1]
    rules = rules_with_emergency_text(tmp_path, payload.format(port=port))
    line = (REPO / "rules" / "urgency.yaml").read_text(encoding="utf-8").splitlines().index(
        EMERGENCY_TEXT) + 1
    _, problems = validate_dir(rules)
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 1, [p.render() for p in errors]
    assert errors[0].file.name == "urgency.yaml"
    assert (errors[0].line, errors[0].column) == (line, column)
    assert errors[0].where == "levels[0].text"
    assert message in errors[0].message
    assert server.paths == []


def test_web_links_pass_the_validator(tmp_path: Path) -> None:
    rules = rules_with_emergency_text(tmp_path, "Read [the guide](https://example.org/guide).")
    _, problems = validate_dir(rules)
    assert not [p for p in problems if p.severity == "error"]


def test_authored_image_is_not_fetched_from_an_unvalidated_kb(tmp_path: Path,
                                                              server: Server) -> None:
    rules = rules_with_emergency_text(
        tmp_path, f"Do not wait. ![x]({server.url}/md.png) [x](file:///etc/passwd)")
    kb = unvalidated_kb(rules)
    html = L.leaflet_html(kb, T.LEAFLETS[2])
    assert "<img" not in html and "file:///etc/passwd" in html  # shown as the words written
    pdf = L.render_html(html, T.Variant())
    assert server.paths == []
    assert not [uri for uri in link_uris(pdf) if not uri.startswith(("http://", "https://"))]


def test_renderer_fetches_nothing_even_when_html_asks(kb: KnowledgeBase, server: Server) -> None:
    """HTML that bypassed the validator and the Markdown subset: images, a stylesheet, a CSS
    background and a local file. Only the package's own fonts are read."""
    asks = (f'<img src="{server.url}/img.png"><link rel="stylesheet" href="{server.url}/s.css">'
            f'<p style="background: url({server.url}/bg.png)">x</p>'
            '<img src="file:///etc/hostname"><img src="data:image/png;base64,iVBORw0KGgo=">'
            '<img src="fonts/LICENSE">')
    html = L.leaflet_html(kb, T.LEAFLETS[2]).replace("</body>", asks + "</body>")
    L.render_html(html, T.Variant())
    assert server.paths == []
    # The same HTML with WeasyPrint's default fetcher does reach the server: the count above
    # can see a fetch.
    from weasyprint import HTML

    HTML(string=html).write_pdf()
    assert server.paths


def test_fetcher_serves_only_package_fonts_and_stylesheets(tmp_path: Path) -> None:
    fetcher = PackageFilesOnly()
    font = T.FONT_DIR / T.FONT_FILES[0]
    assert fetcher.fetch(font.as_uri()).read() == font.read_bytes()
    outside = tmp_path / "x.ttf"
    outside.write_bytes(b"not a font")
    for url in ("http://127.0.0.1:9/x.ttf", "https://example.org/x.ttf", outside.as_uri(),
                (T.FONT_DIR / "LICENSE").as_uri(), (T.FONT_DIR / ".." / ".." / ".." / "text.py").as_uri(),
                "data:font/ttf;base64,AAAA", f"file://otherhost{font}"):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 7


def link_uris(pdf: bytes) -> list[str]:
    uris = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None and "/URI" in action:
                uris.append(str(action["/URI"]))
    return uris


def test_no_build_path_in_any_built_pdf(built: dict[str, Path]) -> None:
    here = str(REPO)
    for name, path in built.items():
        reader = PdfReader(path)
        texts = [*link_uris(path.read_bytes()), *(str(v) for v in (reader.metadata or {}).values())]
        for text in texts:
            assert "file:" not in text and here not in text, (name, text)
        assert here.encode() not in path.read_bytes() and b"file:" not in path.read_bytes(), name


@pytest.mark.parametrize("payload, forbidden", [
    ("# HEAD", "<h1"), ("<h1>HEAD</h1>", "<h1"), ("HEAD\n===", "<h1"), ("---", "<hr"),
    ("![i](https://example.org/x.png)", "<img"), ("[x](notes.html)", "<a "), ("[x](#)", "<a "),
    ("para\n\n    code", "<pre"),
])
def test_leaflet_markdown_keeps_only_the_subset(payload: str, forbidden: str) -> None:
    from neutropenia_kb.render.env import markdown_to_html

    assert forbidden not in markdown_to_html(payload)
    kept = markdown_to_html("*You* must:\n\n- call [us](https://example.org/help)")
    assert "<em>You</em>" in kept and '<li>call <a href="https://example.org/help">us</a></li>' in kept
