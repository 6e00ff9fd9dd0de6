"""Several ksps nodes as one bus over Redis (spec/cluster.md)."""

from .redis import RedisBackplane

__all__ = ["RedisBackplane"]
