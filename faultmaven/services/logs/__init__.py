"""Log parsing and digests: header detection, template mining, and a compact digest for the agent."""

from faultmaven.services.logs.api import digest_file, digest_lines, parse_stream, sniff_header
from faultmaven.services.logs.digest import (
    Burst,
    DigestBuilder,
    ErrorSignature,
    LogDigest,
    LogTotals,
    SampleLine,
    TemplateStats,
    TimelineEntry,
    exception_signature,
)
from faultmaven.services.logs.header import HeaderSchema, ParsedLine, detect_header
from faultmaven.services.logs.render import render_markdown
from faultmaven.services.logs.templates import Template, TemplateMiner, mask_variables

__all__ = [
    "Burst",
    "DigestBuilder",
    "ErrorSignature",
    "HeaderSchema",
    "LogDigest",
    "LogTotals",
    "ParsedLine",
    "SampleLine",
    "Template",
    "TemplateMiner",
    "TemplateStats",
    "TimelineEntry",
    "detect_header",
    "digest_file",
    "digest_lines",
    "exception_signature",
    "mask_variables",
    "parse_stream",
    "render_markdown",
    "sniff_header",
]
