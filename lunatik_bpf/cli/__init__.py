"""The command-line tools, one module each (lunatik-trace, ...)."""
