import time


class DictStore:
    """A TokenStore in a plain dict: the smallest backend (one process only, like MemoryStore)."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[float, float]] = {}  # key -> (value, expires at)

    def _get(self, key: str) -> float | None:
        value, until = self.records.get(key, (0.0, 0.0))
        return value if until > time.time() else None

    def _put(self, key: str, value: float, ttl: float) -> None:
        self.records[key] = (value, time.time() + ttl)

    async def is_revoked(self, *, jti: str | None, sub: str, issued_at: float, family: str | None = None) -> bool:
        if jti is not None and self._get(f"t:{jti}") is not None:
            return True
        if family is not None and self._get(f"f:{family}") is not None:
            return True
        cut_off = self._get(f"s:{sub}")
        return cut_off is not None and issued_at <= cut_off

    async def revoke_token(self, jti: str, *, ttl: float) -> None:
        self._put(f"t:{jti}", 1, ttl)

    async def revoke_family(self, family: str, *, ttl: float) -> None:
        self._put(f"f:{family}", 1, ttl)

    async def revoke_subject(self, sub: str, *, issued_before: float, ttl: float) -> None:
        self._put(f"s:{sub}", max(issued_before, self._get(f"s:{sub}") or 0), ttl)

    async def use_refresh_token(self, jti: str, *, family: str, ttl: float) -> bool:
        if self._get(f"u:{jti}") is not None:  # no await between the check and the write: atomic
            return False
        self._put(f"u:{jti}", 1, ttl)
        return True

    async def is_refresh_token_used(self, jti: str, *, family: str) -> bool:
        return self._get(f"u:{jti}") is not None

    async def close(self) -> None:
        self.records.clear()
