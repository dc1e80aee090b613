"""The `gitramp` command line: the top layer. Nothing imports it."""
