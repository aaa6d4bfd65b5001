"""One module per noun; each exposes Typer commands."""
