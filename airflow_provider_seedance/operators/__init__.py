"""Operators: ``seedance`` (the three generation operators, one per Seedance 2.0 mode) and
``ledger`` (spend reconciliation and the spend report)."""
