"""Job board REST API."""
