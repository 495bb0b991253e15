"""pysix: s6-style process supervision for containers."""
__version__ = "0.1.0"
