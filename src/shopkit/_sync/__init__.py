"""The sync client: generated from the async code by ``scripts/unasync.py`` (except ``_io.py``).

Do not edit the generated files; edit the async source and run ``uv run python
scripts/unasync.py`` (tests/sdk/test_sync_generated.py fails when they drift).
"""
