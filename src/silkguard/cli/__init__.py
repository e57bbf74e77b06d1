"""The ``silkguard`` command line: a thin layer over the services."""
