"""Errors a user can act on. The CLI prints their message, without a traceback, and exits 2.

Defined by the scorer (the bottom layer, which raises them too); re-exported here so
the layers above import them from their own package.
"""

from scorer.errors import GitrampError, KitError

__all__ = ["GitrampError", "KitError"]
