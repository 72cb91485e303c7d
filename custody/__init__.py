"""custody: signed provenance, tamper-evident custody logs and disclosure bundles for
AI-generated and machine-captured evidence."""

__version__ = "0.1.0"
