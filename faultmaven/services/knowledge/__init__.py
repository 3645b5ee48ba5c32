"""The knowledge base: documents, their chunks and embeddings, search, and documents read from files."""
