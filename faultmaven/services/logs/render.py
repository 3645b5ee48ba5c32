"""Render a `LogDigest` as compact Markdown for the LLM, most important first, within a character budget."""

from __future__ import annotations

from datetime import datetime

from faultmaven.services.logs.digest import ErrorSignature, LogDigest, TemplateStats

RARE_COUNT = 3
TRACE_PREVIEW_LINES = 8
LINE_CHARS = 240


def _time(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else "-"


def _clip(text: str, size: int = LINE_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _summary(digest: LogDigest) -> list[str]:
    totals = digest.totals
    levels = ", ".join(f"{name} {count:,}" for name, count in totals.level_counts.items())
    span = f"{_time(totals.first_timestamp)} → {_time(totals.last_timestamp)}"
    if totals.year_inferred:
        span += " (the log gives no year: inferred as the latest not after the upload)"
    return [
        f"# Log digest{f' of {digest.source}' if digest.source else ''}",
        f"- {totals.lines:,} lines, {totals.bytes / 1e6:.1f} MB, {totals.events:,} events, "
        f"{totals.templates:,} templates; header `{totals.header_layout}`",
        f"- time span: {span}",
        f"- levels: {levels or '-'}",
    ]


def _is_new(error: ErrorSignature, digest: LogDigest) -> bool:
    """First seen in the last half of the file: a change, not a chronic condition."""
    return error.first_line > digest.totals.lines / 2


def _error_items(digest: LogDigest) -> list[str]:
    items = []
    for error in digest.errors:
        flags = (("NEW", _is_new(error, digest)), ("RARE", error.count <= RARE_COUNT))
        tags = [tag for tag, on in flags if on]
        head = (f"- **{error.severity}** x{error.count:,} {' '.join(f'[{tag}]' for tag in tags)} "
                f"`{_clip(error.signature)}` lines {error.first_line}-{error.last_line}, "
                f"{_time(error.first_timestamp)} → {_time(error.last_timestamp)}")
        preview = error.sample[:TRACE_PREVIEW_LINES] if error.kind == "exception" else error.sample[:1]
        body = [f"    {sample.line_number}: {_clip(sample.text)}" for sample in preview]
        items.append("\n".join([head, *body]))
    return items


def _burst_items(digest: LogDigest) -> list[str]:
    return [
        f"- {_time(burst.start)} → {_time(burst.end)}: {burst.error_count:,} errors "
        f"(peak {burst.peak_per_window}/{burst.window_seconds}s vs baseline {burst.baseline_per_window:g}); "
        f"top: {'; '.join(f'`{_clip(text, 120)}`' for text in burst.top_templates)}"
        for burst in digest.bursts
    ]


def _timeline_items(digest: LogDigest) -> list[str]:
    return [f"- line {entry.line_number} {_time(entry.timestamp)}: `{_clip(entry.signature, 160)}`"
            for entry in digest.first_errors]


def _template_item(template: TemplateStats) -> str:
    sample = template.samples[0] if template.samples else None
    example = ""
    if sample and "<*>" in template.template:
        example = f"\n    e.g. {sample.line_number}: {_clip(sample.text, 160)}"
    return (f"- x{template.count:,} [{template.severity or '-'}] `{_clip(template.template)}` "
            f"lines {template.first_line}-{template.last_line}{example}")


def _sections(digest: LogDigest) -> list[tuple[str, list[str]]]:
    warnings = [t for t in digest.templates if t.severity == "WARNING"]
    return [
        ("## Errors and exceptions (by severity, then count)", _error_items(digest)),
        ("## Error bursts", _burst_items(digest)),
        ("## First occurrence of each error", _timeline_items(digest)),
        ("## Warnings", [_template_item(t) for t in warnings]),
        ("## Top templates", [_template_item(t) for t in digest.templates]),
    ]


def render_markdown(digest: LogDigest, max_chars: int = 8_000) -> str:
    """Markdown digest no longer than `max_chars`; each section adds items while they fit."""
    out = ""
    for line in _summary(digest):
        if len(out) + len(line) + 1 > max_chars:
            break
        out = f"{out}\n{line}" if out else line
    for title, items in _sections(digest):
        if not items:
            continue
        block = f"\n\n{title}"
        if len(out) + len(block) + 40 > max_chars:
            break
        out += block
        shown = 0
        for item in items:
            if len(out) + len(item) + 1 + 40 > max_chars:
                break
            out += "\n" + item
            shown += 1
        if shown < len(items):
            out += f"\n- … {len(items) - shown} more"
    return out[:max_chars]
