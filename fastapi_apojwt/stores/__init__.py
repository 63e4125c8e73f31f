"""Token-state stores: the protocol, the in-memory store and (extra ``redis``) the Redis store."""

from .base import SessionIndex, TokenStore
from .memory import MemoryStore

__all__ = ["MemoryStore", "SessionIndex", "TokenStore"]
