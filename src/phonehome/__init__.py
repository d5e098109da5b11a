"""phonehome: audit a network for restricted-vendor equipment and for data leaving it."""

__version__ = "0.1.0"
