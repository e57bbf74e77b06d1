"""Journeys: risk-weighted routes over the road network and the movement policy (rules that
decide escorts, approvals and refusals); movement requests and approvals come next (see
docs/network.md)."""
