"""Incidents, their source records (provenance), importers and cross-source de-duplication."""
