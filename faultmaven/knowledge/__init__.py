"""Package data: the starter runbooks (`runbooks/*.md`) loaded into the knowledge base on first start."""
