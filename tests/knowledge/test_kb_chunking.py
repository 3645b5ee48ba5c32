"""Markdown chunking, query sanitizing and front matter: pure functions, no database."""

from __future__ import annotations

from faultmaven.services.knowledge.chunking import chunk_markdown
from faultmaven.services.knowledge.query_text import MAX_TERMS, fts5_match, query_terms
from faultmaven.services.knowledge.scoring import normalized_score, term_coverage
from faultmaven.services.knowledge.sources import document_from_text, split_front_matter

RUNBOOK = """# Disk full

Intro paragraph.

## Quick checks

Run this:

```bash
df -h
# not a heading inside code
du -xh / | sort -h
```

### Inodes

`df -i` shows inode use.

## Fixes

Free space.
"""


def test_headings_become_paths_and_code_comments_are_not_headings() -> None:
    chunks = chunk_markdown(RUNBOOK)
    assert [c.heading_path for c in chunks] == [
        "Disk full",
        "Disk full > Quick checks",
        "Disk full > Quick checks > Inodes",
        "Disk full > Fixes",
    ]
    assert "# not a heading inside code" in chunks[1].content and "du -xh" in chunks[1].content
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]


def test_heading_only_sections_live_in_their_childrens_paths() -> None:
    chunks = chunk_markdown("# Title\n\n## Part\n\nBody text.\n")
    assert [(c.heading_path, c.content) for c in chunks] == [("Title > Part", "## Part\n\nBody text.")]


def test_long_sections_split_on_paragraphs_within_the_cap() -> None:
    paragraphs = "\n\n".join(f"Paragraph {i} " + "word " * 40 for i in range(30))
    chunks = chunk_markdown(f"## Long\n\n{paragraphs}", max_chars=500)
    assert len(chunks) > 5
    assert all(len(c.content) <= 500 for c in chunks)
    assert all(c.heading_path == "Long" for c in chunks)
    assert all(c.content.startswith(("Paragraph", "## Long")) for c in chunks)


def test_a_fenced_block_is_never_split_even_above_the_cap() -> None:
    code = "```sql\n" + "\n".join(f"SELECT {i};" for i in range(200)) + "\n```"
    chunks = chunk_markdown(f"## Queries\n\nBefore.\n\n{code}\n\nAfter.", max_chars=300)
    holding = [c for c in chunks if "SELECT 0;" in c.content]
    assert len(holding) == 1 and "SELECT 199;" in holding[0].content
    assert holding[0].content.count("```") == 2


def test_unterminated_fence_and_blank_lines_inside_code_stay_together() -> None:
    chunks = chunk_markdown("## A\n\n~~~\nline one\n\nline two\n## not a heading\n", max_chars=10)
    assert [c.heading_path for c in chunks] == ["A", "A"]
    assert chunks[1].content == "~~~\nline one\n\nline two\n## not a heading"


def test_one_huge_paragraph_is_cut_to_the_cap() -> None:
    chunks = chunk_markdown("x" * 5000, max_chars=1000)
    assert len(chunks) == 5 and all(len(c.content) <= 1000 for c in chunks)


def test_query_terms_strip_syntax_and_stop_words() -> None:
    assert query_terms('"foo') == ["foo"]
    assert query_terms("a OR") == []
    assert query_terms("NEAR(disk, full) AND -x* ^col:") == ["near", "disk", "full", "col"]
    assert query_terms("Why is the DISK full? disk!") == ["disk", "full"]
    assert len(query_terms(" ".join(f"w{i}" for i in range(100)))) == MAX_TERMS
    assert fts5_match(["disk", "max_connections"]) == '"disk" OR "max_connections"'


def test_scores_are_bounded_and_monotonic() -> None:
    assert normalized_score(0.0, "sqlite") == 0.0
    low, mid, high = (normalized_score(r, "sqlite") for r in (1.0, 5.0, 50.0))
    assert 0 < low < mid == 0.5 < high < 1
    assert normalized_score(5.0, "sqlite", coverage=0.5) == 0.25
    assert term_coverage(["restarting", "zookeeper"], "Pod restarts often") == 0.5


def test_front_matter_and_title_fallbacks() -> None:
    fields, body = split_front_matter("---\ntitle: T\ntags: [a, b]\nunknown: x\n---\n# H\nbody")
    assert fields == {"title": "T", "tags": "a, b"} and body == "# H\nbody"
    document = document_from_text(
        "---\ntags: Disk, LINUX\ndocument_type: playbook\n---\n# Heading\n\ntext", "f"
    )
    assert document.title == "Heading" and document.tags == ["disk", "linux"]
    assert document.document_type.value == "playbook"
    assert document_from_text("no heading", "fallback").title == "fallback"
