"""Importers: readers for CSV / XLSX / JSON Lines, and converters from GTD, ACLED, the native
schema and mapped tables into :class:`~silkguard.incidents.fields.IncidentFields`."""
