"""The username resolver's shared cache: its one protocol, owned here.

The redirect resolves a username on every click, so answers are cached and stamped with the
resolver's *generation*: a random token that every username or status change replaces
(`bump_generation`, on commit). Everything that reads or writes that cache goes through this
module: `affiliates.selectors` (the resolver itself) and `tracking.clicks` (whose Redis script
resolves and records a click in one round trip, composed from `lua_lookup` below).

The protocol:

- the current generation: the string at GENERATION_KEY in Redis when REDIS_URL is set
  (shared by every web process), else the file GENERATION_FILE under var/ (one machine);
  created on first use (or after Redis was flushed), so every older answer becomes stale;
- the answers of generation `g`: the Redis hash `answers_key(g)`, name → `encode_answer()`,
  kept ANSWERS_TTL; a change simply starts a new, empty hash;
- an answer: "<pk>|<public id>|<username>|<status>", or "-" for "no such name". The status
  is letters only, so Lua can read it as `%a+`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from django.conf import settings

from affiliates.models import Affiliate

if TYPE_CHECKING:
    from redis import Redis

GENERATION_KEY = "ambassador:resolver:generation"
GENERATION_FILE = settings.VAR_DIR / "resolver-generation"
ANSWERS_TTL = 24 * 60 * 60
_NONE = "-"

# The resolver's status for an approved affiliate whose user account is deactivated: its
# links are not honoured, like a suspended one's. Letters only (lua_lookup reads the status
# as `%a+`) and not a real status, so nothing mistakes it for approved.
INACTIVE_USER = "inactive"


@dataclass(frozen=True, slots=True)
class ResolvedAffiliate:
    id: int
    public_id: str
    username: str  # the current username (the resolved name may be an earlier alias)
    status: str

    @property
    def is_approved(self) -> bool:
        return self.status == Affiliate.Status.APPROVED


def answers_key(generation: str) -> str:
    """The hash holding generation `generation`'s answers (lua_lookup builds the same key)."""
    return f"{GENERATION_KEY}:{generation}"


def encode_answer(value: ResolvedAffiliate | None) -> str:
    if value is None:
        return _NONE
    return f"{value.id}|{value.public_id}|{value.username}|{value.status}"


def decode_answer(raw: bytes) -> ResolvedAffiliate | None:
    """An answer as stored in a generation's hash (or returned by a lua_lookup script)."""
    text = raw.decode()
    if text == _NONE:
        return None
    pk, public_id, username, status = text.split("|")
    return ResolvedAffiliate(int(pk), public_id, username, status)


def new_token() -> str:
    """A fresh generation, also passed to lua_lookup scripts for a missing one."""
    return secrets.token_hex(8)


def current_generation(client: Redis | None) -> str:
    """The current generation, created when missing (first use, or Redis was flushed: every
    memo becomes stale). `client` None: the file-backed one-machine setup."""
    if client is not None:
        value = client.get(GENERATION_KEY)
        if value is None:
            client.set(GENERATION_KEY, new_token(), nx=True)
            value = client.get(GENERATION_KEY)
        # Our clients never set decode_responses, so a reply is bytes (redis-py types it as
        # bytes | str | None whatever the client).
        return cast(bytes, value).decode()
    try:
        return GENERATION_FILE.read_text()
    except FileNotFoundError:
        return _new_file_generation()


def bump_generation(client: Redis | None) -> None:
    """Make every answer cached so far stale, in every process at once."""
    if client is not None:
        client.set(GENERATION_KEY, new_token())
    else:
        _new_file_generation()


def _new_file_generation() -> str:
    token = new_token()
    tmp = GENERATION_FILE.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(token)
    tmp.replace(GENERATION_FILE)  # atomic: a reader sees the old token or the new one
    return token


def store_answer(
    client: Redis, *, generation: str, name: str, value: ResolvedAffiliate | None
) -> None:
    """Share an answer with every process (one pipelined round trip)."""
    key = answers_key(generation)
    pipe = client.pipeline(transaction=False)
    pipe.hset(key, name, encode_answer(value))
    pipe.expire(key, ANSWERS_TTL)
    pipe.execute()


def lua_lookup(*, generation_key: str, name: str, token: str) -> str:
    """Lua statements for a script that resolves a name inside Redis: they leave the locals
    `g` (the current generation, created from `token` when missing), `answer` (the encoded
    answer cached for `name` in generation `g`, or false) and `approved_pk` (the affiliate's
    pk when the answer names an approved affiliate, else false). The arguments are Lua
    expressions, the caller's KEYS[i] / ARGV[j]; `generation_key` must be GENERATION_KEY."""
    return f"""
local g = redis.call('GET', {generation_key})
if not g then
  redis.call('SET', {generation_key}, {token}, 'NX')
  g = redis.call('GET', {generation_key})
end
local answer = redis.call('HGET', {generation_key} .. ':' .. g, {name})
local approved_pk = false
if answer then
  local pk, status = string.match(answer, '^(%d+)|.*|(%a+)$')
  if status == '{Affiliate.Status.APPROVED.value}' then approved_pk = pk end
end
"""


def lua_generation_changed(*, generation_key: str, generation: str) -> str:
    """A Lua expression: true when the current generation is no longer `generation` (an
    answer memoised under it may be stale). Lua expressions, as for lua_lookup."""
    return f"redis.call('GET', {generation_key}) ~= {generation}"
