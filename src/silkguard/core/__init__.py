"""Settings, database engine and sessions, errors, portable column types, clock."""
