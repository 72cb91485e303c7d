"""Data shipped with custody: tool-card examples, question sets, dossier text (data, not code)."""
