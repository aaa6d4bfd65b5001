"""What several replicas of a service share through Redis (``SHOPKIT_REDIS_URL``).

- :mod:`.bus`: one connection for commands, one subscription per process to the shop's
  channel; every process hears catalog writes, account changes and revoked token families.
- :mod:`.throttle`: the sign-in throttle's counters and back-off locks in Redis, shared by
  every process, falling back to the process's own store while Redis does not answer.

Without a Redis URL none of this is loaded and every process keeps its own state.
"""
