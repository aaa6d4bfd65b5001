"""shopkit SDK."""
