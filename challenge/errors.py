"""Errors a user can act on. The CLI prints their message, without a traceback, and exits 2."""


class GitrampError(Exception):
    """Base of every error whose message says what is wrong and what to do."""
