"""The console's Markdown renderer and SSE reader, run as the browser runs them (ES modules in Chromium).

The static files are served to the page straight from the package directory by request interception, so
these tests need no server process.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import pytest

from faultmaven.api.console import STATIC_DIR

pytestmark = pytest.mark.browser
ORIGIN = "http://127.0.0.1:9"

RENDER = """async (text) => {
  const { renderMarkdown } = await import('/static/js/markdown.js');
  const box = document.createElement('div');
  box.append(renderMarkdown(text));
  document.body.replaceChildren(box);
  return box.innerHTML;
}"""


@pytest.fixture
def module_page(page: Any) -> Any:
    def serve(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?")[0]
        if path == "/":
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>t</title>")
            return
        file = STATIC_DIR / path.removeprefix("/static/")
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        route.fulfill(status=200, content_type=content_type, body=file.read_bytes())

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    return page


@pytest.mark.parametrize(
    "attack",
    [
        "<script>window.__pwned = 1</script>",
        '<img src=x onerror="window.__pwned = 1">',
        '<a href="javascript:window.__pwned = 1">x</a>',
        "[click me](javascript:window.__pwned=1)",
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "**<svg onload=window.__pwned=1>**",
        "```html\n<script>window.__pwned = 1</script>\n```",
        "`<iframe src=javascript:1>`",
        "- <style>body{display:none}</style>\n- <object data=x>",
        "| <b onmouseover=x>h</b> |\n|---|\n| <script>1</script> |",
    ],
)
def test_markup_in_an_answer_stays_text(module_page: Any, attack: str) -> None:
    module_page.evaluate(RENDER, attack)
    elements = module_page.evaluate(
        "[...document.body.querySelectorAll('*')].map((node) => node.tagName.toLowerCase())"
    )
    assert not {"script", "img", "svg", "iframe", "style", "object", "b"} & set(elements), elements
    hrefs = module_page.evaluate("[...document.querySelectorAll('a')].map((a) => a.getAttribute('href'))")
    assert all(href.startswith(("http://", "https://")) for href in hrefs), hrefs
    attributes = module_page.evaluate(
        "[...document.body.querySelectorAll('*')].flatMap((n) => [...n.attributes].map((a) => a.name))"
    )
    assert not [name for name in attributes if name.startswith("on")]
    assert module_page.evaluate("window.__pwned") is None


def test_markdown_structure(module_page: Any) -> None:
    text = (
        "# Root cause\n\nThe **pool** is *exhausted*; see `max_connections` and ~~old~~ "
        "[the runbook](https://example.com/runbook?x=1) or https://example.com/a).\n\n"
        "1. first\n2. second\n   - nested *a*\n   - nested b\n3. third\n\n"
        "> quoted **text**\n\n```bash\nkubectl get pods\n```\n\n"
        "| status | count |\n|---|---:|\n| 502 | 41 |\n\n---\n\n    indented code\n"
    )
    html = module_page.evaluate(RENDER, text)
    assert "<h3>Root cause</h3>" in html
    assert "<strong>pool</strong>" in html and "<em>exhausted</em>" in html and "<s>old</s>" in html
    assert "<code>max_connections</code>" in html
    link_attributes = 'target="_blank" rel="noopener noreferrer nofollow"'
    assert f'<a href="https://example.com/runbook?x=1" {link_attributes}>the runbook</a>' in html
    assert '<a href="https://example.com/a" target="_blank"' in html and "</a>)." in html
    nested = "<ul><li>nested <em>a</em></li><li>nested b</li></ul>"
    assert f"<ol><li>first</li><li>second{nested}</li><li>third</li></ol>" in html
    assert "<blockquote><p>quoted <strong>text</strong></p></blockquote>" in html
    assert '<pre><code data-language="bash">kubectl get pods</code></pre>' in html
    assert "<th scope=\"col\">status</th>" in html and "<td>502</td>" in html
    assert "<hr>" in html
    assert "<pre><code>indented code</code></pre>" in html


def test_a_half_streamed_answer_renders(module_page: Any) -> None:
    html = module_page.evaluate(RENDER, "Run this:\n\n```\nkubectl logs deploy/api --since=")
    assert html.endswith("<pre><code>kubectl logs deploy/api --since=</code></pre>")
    assert module_page.evaluate(RENDER, "The **pool") == "<p>The **pool</p>"


def test_server_sent_events_split_anywhere(module_page: Any) -> None:
    chunks = [
        ": keep-alive\r\n\r\nevent: status\r",
        '\ndata: {"message": "Searching"}\r\n\r\nevent: text_delta\ndata: {"text": "Hel',
        'lo"}\n\nevent: reset\ndata: {"reason": "failover"}\n\n',
        'event: complete\ndata: {"content":\ndata: "split over two data lines"}\n\n',
        'data: {"event": "cancelled"}\n\n',
    ]
    events = module_page.evaluate(
        """async (chunks) => {
            const { readServerSentEvents } = await import('/static/js/sse.js');
            const encoder = new TextEncoder();
            const body = new ReadableStream({
              start(controller) {
                for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
                controller.close();
              },
            });
            const seen = [];
            for await (const event of readServerSentEvents(body)) seen.push(event);
            return seen;
        }""",
        chunks,
    )
    assert [event["type"] for event in events] == ["status", "text_delta", "reset", "complete", "cancelled"]
    assert events[1]["data"] == {"text": "Hello"}
    assert events[3]["data"] == {"content": "split over two data lines"}
