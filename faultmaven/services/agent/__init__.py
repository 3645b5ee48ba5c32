"""The agent's helpers: its output schema and instructions, the offline answer."""
