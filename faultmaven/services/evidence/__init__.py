"""Case evidence: uploads stored sanitized and line-numbered, classified, and digested when log-like."""

from faultmaven.services.evidence.classify import LOG_LIKE, Classification, DataType, classify
from faultmaven.services.evidence.models import (
    EvidenceItem,
    EvidenceLine,
    ProcessingStatus,
    StagedUpload,
)
from faultmaven.services.evidence.service import EvidenceService, search_terms

__all__ = [
    "LOG_LIKE",
    "Classification",
    "DataType",
    "EvidenceItem",
    "EvidenceLine",
    "EvidenceService",
    "ProcessingStatus",
    "StagedUpload",
    "classify",
    "search_terms",
]
