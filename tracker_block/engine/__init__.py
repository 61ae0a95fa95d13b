"""The engine: MIME in, MIME out. parse (mime, html, css) -> find sites -> decide (rules, filterlist,
heuristics, detect, policy) -> rewrite -> report. The hot path is the Rust core, tracker_block._core."""
