"""Tracker rule data (TOML). Shipped inside the wheel as ``tracker_block.ruledata``; no code lives here."""
