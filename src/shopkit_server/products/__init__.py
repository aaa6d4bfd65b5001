"""The products service."""
