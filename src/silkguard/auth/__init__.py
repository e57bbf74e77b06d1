"""Organisations, users, roles and permissions, API keys, access and refresh tokens, password
hashing, sharing groups and the tamper-evident audit trail. Call the services through
``from silkguard.auth import service as auth_service``."""
