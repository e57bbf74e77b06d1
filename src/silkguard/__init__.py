"""silkguard: protective security and duty of care for an infrastructure corridor."""

__version__ = "0.1.0"
__all__ = ["__version__"]
