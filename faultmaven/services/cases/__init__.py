"""Cases: their lifecycle and messages, titles, reports and retention."""
