"""The static site: leaderboards, code gallery, lineage and plots, built from the ledger.

    from site_generator import build
    summary = build("path/to/repo", "_site")

What the site uses of `challenge`, and nothing beyond it:
- `challenge.ledger`, its public reading API (`__all__`): `open_ledger`, `Ledger`,
  `FolderLedger`, `RecordFile`, `parse_record`, `record_from`, `LedgerError`, `Visibility`,
  `version_label`; the ledger's layout is never spelt out here;
- `challenge.ranking`: the leaderboard rule (`board`, `team_best`, `value`, ...);
- `challenge.kit` (`load_kit`, `Kit`, `Phase`, `SPEC_FILE`) and `challenge.hub.kit_dirs`
  (the kits of a checkout); `challenge.errors.GitrampError`.
"""

from site_generator.build import BuildSummary, build

__all__ = ["BuildSummary", "build"]
