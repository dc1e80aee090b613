"""Errors a user can act on. The CLI prints their message, without a traceback, and exits 2.

They live at the bottom layer, the scorer, so that every layer above raises the same
ones; `challenge.errors` re-exports them.
"""


class GitrampError(Exception):
    """Base of every error whose message says what is wrong and what to do."""


class KitError(GitrampError, ValueError):
    """A kit that cannot be used as it is; the message says where and how to fix it."""
