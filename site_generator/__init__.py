"""The static site: leaderboards, code gallery, lineage and plots, built from the ledger.

    from site_generator import build
    summary = build("path/to/repo", "_site")
"""

from site_generator.build import BuildSummary, build

__all__ = ["BuildSummary", "build"]
