"""FaultMaven: an AI troubleshooting copilot for SRE and DevOps engineers."""

__version__ = "0.1.0"
