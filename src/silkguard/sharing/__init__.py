"""Intelligence sharing with partner authorities: STIX 2.1 bundles and a TAXII 2.1 server
(issue 9)."""
