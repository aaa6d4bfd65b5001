"""shopkit CLI."""
