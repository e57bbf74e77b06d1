"""Pure geography: coordinate checks, distances, H3 cells and an offline gazetteer of Pakistan."""
