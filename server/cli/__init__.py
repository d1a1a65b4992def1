"""The `forum` command (main.py) and the demo data it loads (demo.py)."""
