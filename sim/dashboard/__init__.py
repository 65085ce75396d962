"""gradsim dashboard: Mesa SolaraViz app of a running county (docs/dashboard.md); app.py needs the `dashboard` extra."""
