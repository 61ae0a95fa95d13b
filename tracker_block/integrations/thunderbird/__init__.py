"""Thunderbird: the add-on (bridge/), its native host, its installer and image cache."""
