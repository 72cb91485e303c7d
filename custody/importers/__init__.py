"""Bulk importers, one module per source (chat transcripts, ...). Each is all-or-nothing: every
input is read and checked before anything is stored, and all its ledger entries are appended in
one transaction; importing the same input again adds nothing."""
