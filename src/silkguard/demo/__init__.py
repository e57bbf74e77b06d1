"""The demo data set shipped with silkguard and the code that seeds it."""
