"""Loopback servers speaking real protocols (Tastytrade REST, DXLink, a brokerage, a webhook)."""
