"""People and sites: the personnel and places silkguard protects.

So far: sites (project sites, camps, offices, hotels) with location, perimeter, headcount and
criticality, which the risk engine gives threat levels. Personnel, consent and positions follow.
"""
