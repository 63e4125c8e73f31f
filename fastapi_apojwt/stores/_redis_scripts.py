"""The Lua scripts of the Redis store (run with ``EVALSHA``; ``EVAL`` loads one a node lacks)."""

from __future__ import annotations

import hashlib

__all__ = ["ADD_SESSION", "RELEASE", "REVOKE_SUBJECT", "USE", "Script"]


class Script:
    """A Lua script and its SHA1 (run with ``EVALSHA``, loaded by ``EVAL`` when a node lacks it)."""

    __slots__ = ("sha", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


# Raise a subject's cut-off to max(old, new) and its TTL to max(old, new), atomically.
REVOKE_SUBJECT = Script("""
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
local cut = tonumber(ARGV[1])
if old > cut then cut = old end
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], string.format('%.6f', cut), 'PX', ttl)
return 1
""")

# Use a refresh token once. The value is the using call's nonce: a resend of the same call (redis-py
# retries a command whose reply was lost) finds its own nonce and succeeds again; any other call gets 0.
# The resend writes too, so that a WAIT on its connection covers the key.
USE = Script("""
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
""")

# Give a use back (its WAIT failed): only if the key still holds this call's nonce.
RELEASE = Script("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")

# Record one session of a subject: drop expired ones, keep at most ARGV[6], never shorten the TTL.
# KEYS[1]: hash family -> "created refreshed expires"; KEYS[2]: sorted set family -> expires.
ADD_SESSION = Script("""
local now = tonumber(ARGV[5])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
for i = 1, #gone do redis.call('HDEL', KEYS[1], gone[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[6])
if extra > 0 then
  local dropped = redis.call('ZRANGE', KEYS[2], 0, extra - 1)
  for i = 1, #dropped do redis.call('HDEL', KEYS[1], dropped[i]) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
local ttl = math.ceil((tonumber(ARGV[4]) - now) * 1000)
for i = 1, 2 do
  local left = redis.call('PTTL', KEYS[i])
  if left < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
""")
