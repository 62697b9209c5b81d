"""make bench: figures for the state API traced and untraced, side by side
with peer tracers, and for the observer. Nothing here asserts: every figure
is printed (one table) and written to build/bench/results.json."""
