"""`switchboard compare`: the same real asks sent to several models, figures side by side.

`asks` turns the user's code into asks, `run` sends each to every model alone (a one-model
route, the cache bypassed), `report` turns the results into figures and a suggested route,
`chart` draws usable rate against cost and latency as a self-contained HTML page.
"""
