"""Organisations (and, with the API, users, roles, API keys and the audit trail)."""
