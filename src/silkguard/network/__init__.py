"""Road network: the compact array graph, OpenStreetMap import, the shipped corridor network
and routing (see docs/network.md)."""
