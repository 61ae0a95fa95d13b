"""The signed, SSRF-safe image proxy."""
