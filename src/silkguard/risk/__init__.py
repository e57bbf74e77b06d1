"""Risk: forecasts of where and when attacks are likely, backtests, and threat levels.

The numerical core (projection, grid, events, models, backtest) is pure numpy/scipy and knows
nothing of the database; :mod:`silkguard.risk.service` connects it to the incident store.

Units everywhere in the core: time in days since the Unix epoch (float), distances in km on an
equal-area projection (:mod:`silkguard.risk.projection`), intensities as expected event counts.
"""
