"""Several ksps nodes as one bus over Redis (spec/cluster.md)."""

from .history import RedisHistory
from .redis import RedisBackplane

__all__ = ["RedisBackplane", "RedisHistory"]
