"""Click writes: the hot path of the redirect and the buffer behind it.

Two modes (settings.CLICK_BUFFER):

- "redis": one Lua call allocates the click id (INCR) and appends the click to a Redis list
  in the same round trip; `flush_clicks` (beat, every 2 s) bulk-inserts the list. The click
  is in Redis before the 302 leaves, so a web worker that restarts loses nothing; a flush that
  crashes half-way re-inserts the same rows (same ids, ON CONFLICT DO NOTHING).
- "db": one INSERT per click before the 302 (the embedded setup without Redis).

Click ids from Redis are seeded from MAX(id) of the table whenever the counter is missing
(first use, Redis flushed), and every flush moves the table's sequence past them, so ids
from either mode never collide.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from redis import exceptions as redis_errors

from affiliates import resolver_cache
from affiliates.models import Affiliate
from affiliates.resolver_cache import GENERATION_KEY, ResolvedAffiliate, decode_answer
from tracking.models import Click

log = logging.getLogger(__name__)

SEQ_KEY = "tracking:click:seq"
BUFFER_KEY = "tracking:click:buffer"
FLUSHING_KEY = "tracking:click:flushing"
LOCK_KEY = "tracking:click:flush-lock"
FIELDS = (
    "at",
    "affiliate_id",
    "landing_path",
    "referrer_domain",
    "medium",
    "device",
    "visitor_hash",
    "honoured",
    "reason",
)

# KEYS: seq, buffer, resolver generation. ARGV: payload, the generation the caller's resolver
# answer belongs to ('' = just validated). A stale answer (a username or status changed since)
# records nothing and returns -2, so the caller resolves again: the check and the write are
# one round trip.
_STALE = resolver_cache.lua_generation_changed(generation_key="KEYS[3]", generation="ARGV[2]")
_PUSH = f"""
if ARGV[2] ~= '' and {_STALE} then return -2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local id = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], id .. '|' .. ARGV[1])
return id
"""
_RAISE = """
local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return tonumber(redis.call('GET', KEYS[1]))
"""
# The flush lock is owned by a token with a short expiry (LOCK_SECONDS), renewed by every
# step: a flusher killed mid-flush blocks the others for at most LOCK_SECONDS, and one that
# lost its lock (paused longer than that) can no longer take or drop anything, because both
# steps below check the token in the same atomic call. Its batch stays in the flushing list,
# which the new owner inserts first (same ids, ON CONFLICT DO NOTHING).
LOCK_SECONDS = 15
_OWNED = "redis.call('GET', KEYS[3]) == ARGV[2]"
# Move up to ARGV[1] buffered clicks into the flushing list, atomically; nothing (false)
# when the caller no longer owns the lock (KEYS[3], token ARGV[2]).
_TAKE = f"""
if not ({_OWNED}) then return false end
redis.call('EXPIRE', KEYS[3], ARGV[3])
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('RPUSH', KEYS[2], unpack(items))
  redis.call('LTRIM', KEYS[1], #items, -1)
end
return items
"""
# Drop the inserted batch (KEYS[2]) and renew the lock, only while the caller owns it (1),
# else leave both alone (0). KEYS[1] is unused, so the KEYS layout matches _TAKE's.
_DONE = f"""
if not ({_OWNED}) then return 0 end
redis.call('DEL', KEYS[2])
redis.call('EXPIRE', KEYS[3], ARGV[3])
return 1
"""
# Release the lock only if it is still the caller's.
_RELEASE = f"""
if {_OWNED} then redis.call('DEL', KEYS[3]) end
return 0
"""

_client = None
_scripts: dict = {}
# The redirect's own connection (see _hot_evalsha): (pid, connection).
_hot: tuple[int, Any] | None = None


def redis_client():
    """One connection pool per process (gunicorn forks before the first request)."""
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(settings.REDIS_URL)
        _scripts["push"] = _client.register_script(_PUSH)
        _scripts["raise"] = _client.register_script(_RAISE)
        _scripts["take"] = _client.register_script(_TAKE)
        _scripts["done"] = _client.register_script(_DONE)
        _scripts["release"] = _client.register_script(_RELEASE)
        _scripts["resolve_push"] = _client.register_script(_RESOLVE_AND_PUSH)
    return _client


def reset_redis_client() -> None:
    """Drop this process's connections (tests use it to play a restarted worker)."""
    global _client, _hot
    if _hot is not None:
        _hot[1].disconnect()
    _hot = None
    if _client is not None:
        _client.close()
    _client = None
    _scripts.clear()


def buffered() -> bool:
    return settings.CLICK_BUFFER == "redis" and bool(settings.REDIS_URL)


def _max_click_id() -> int:
    return Click.objects.aggregate(m=Max("id"))["m"] or 0


# A buffered click is "<click id>|<affiliate id>|<JSON of the other fields>".
_REST = tuple(f for f in FIELDS if f != "affiliate_id")


def _encode_rest(row: dict) -> str:
    return json.dumps([row[f] if f != "at" else row[f].timestamp() for f in _REST])


def _encode(row: dict) -> str:
    return f"{row['affiliate_id']}|{_encode_rest(row)}"


def _decode(item: bytes) -> tuple:
    """A buffered click as the row `_insert` writes: (id, affiliate id, *_REST)."""
    raw_id, affiliate_id, payload = item.decode().split("|", 2)
    values = json.loads(payload)
    values[0] = datetime.fromtimestamp(values[0], tz=UTC)  # _REST[0] is "at"
    return (int(raw_id), int(affiliate_id), *values)


# The redirect's one round trip: resolve the username from the resolver's shared answers
# (affiliates.resolver_cache.lua_lookup: the current generation's hash) and, when it names an
# approved affiliate, record the click, atomically. KEYS: generation, seq, buffer.
# ARGV: name, the click's other fields, a token for a missing generation.
# Returns {answer or false, click id}: id 0 = nothing recorded (no answer cached yet, or not
# approved), -1 = the id counter is missing (the caller seeds it).
_RESOLVE_AND_PUSH = (
    resolver_cache.lua_lookup(generation_key="KEYS[1]", name="ARGV[1]", token="ARGV[3]")
    + """
if not answer then return {false, 0} end
if not approved_pk then return {answer, 0} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {answer, -1} end
local id = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[3], id .. '|' .. approved_pk .. '|' .. ARGV[2])
return {answer, id}
"""
)


def resolve_and_write(*, name: str, row: dict) -> tuple[bool, ResolvedAffiliate | None, int | None]:
    """The buffered hot path in one Redis call. Returns (answered, affiliate, click id):
    answered False when no process has resolved `name` in this generation yet (the caller
    takes the slow path once); click id None when nothing was recorded."""
    raw, click_id = _hot_evalsha(
        _scripts_loaded()["resolve_push"],
        3,
        GENERATION_KEY,
        SEQ_KEY,
        BUFFER_KEY,
        name,
        _encode_rest(row),
        resolver_cache.new_token(),
    )
    if raw is None:
        return False, None, None
    resolved = decode_answer(raw)
    return True, resolved, (int(click_id) if click_id > 0 else None)


def _scripts_loaded() -> dict:
    redis_client()
    return _scripts


def _hot_evalsha(script: Any, *args: Any) -> Any:
    """EVALSHA of `script` on this process's own connection, sent and read directly: the
    redirect's one round trip without redis-py's per-command pool checkout, release and retry
    wrapper (a third of the lane's time in a profile). The script is loaded with EVAL when
    Redis does not know it (first call, Redis restarted). A connection found broken before the
    command is sent is replaced once; one broken while waiting for the answer is not retried
    (the script may have run: a retry could record the click twice) — the error goes to the
    caller, which sends the visitor on without a cookie."""
    global _hot
    pid = os.getpid()
    if _hot is None or _hot[0] != pid:  # first call, or a forked child
        _hot = (pid, redis_client().connection_pool.make_connection())
    conn = _hot[1]
    try:
        conn.send_command("EVALSHA", script.sha, *args)
    except (redis_errors.ConnectionError, redis_errors.TimeoutError):
        conn.disconnect()
        conn.send_command("EVALSHA", script.sha, *args)
    try:
        return conn.read_response()
    except redis_errors.NoScriptError:
        conn.send_command("EVAL", script.script, *args)
        return conn.read_response()
    except (redis_errors.ConnectionError, redis_errors.TimeoutError):
        conn.disconnect()
        raise


def write_click(row: dict, *, generation: str | None = None) -> int | None:
    """Store one click (see the module doc) and return its id; None (nothing stored) when
    `generation` is no longer the resolver's current one."""
    if not buffered():
        return Click.objects.create(**row).pk
    redis_client()
    keys = [SEQ_KEY, BUFFER_KEY, GENERATION_KEY]
    args = [_encode(row), generation or ""]
    click_id = _scripts["push"](keys=keys, args=args)
    if click_id == -1:
        # Counter missing (first click ever, or Redis was flushed): seed it past every id in
        # the table and in the buffer-being-flushed, then push. Rare: one SELECT.
        _scripts["raise"](keys=[SEQ_KEY], args=[_max_click_id()])
        click_id = _scripts["push"](keys=keys, args=args)
    return None if click_id == -2 else int(click_id)


def allocate_click_ids(count: int) -> list[int] | None:
    """Ids for clicks written straight to the table (demo data) in buffered mode; None in db
    mode, where the table's sequence assigns them."""
    if not buffered() or count == 0:
        return None
    client = redis_client()
    if not client.exists(SEQ_KEY):
        _scripts["raise"](keys=[SEQ_KEY], args=[_max_click_id()])
    last = client.incrby(SEQ_KEY, count)
    return list(range(last - count + 1, last + 1))


def buffered_count() -> int:
    if not buffered():
        return 0
    client = redis_client()
    return client.llen(BUFFER_KEY) + client.llen(FLUSHING_KEY)


# PostgreSQL reads the buffered items itself: one text parameter, the items one per line (a
# JSON payload never holds a raw newline), split and cast in SQL. Only clicks whose affiliate
# still exists are kept (one deleted meanwhile would fail the whole batch on its foreign key).
_PG_INSERT = """
INSERT INTO {table} ({columns})
SELECT c.id, c.affiliate_id, to_timestamp((c.f->>0)::float8), c.f->>1, c.f->>2, c.f->>3,
       c.f->>4, c.f->>5, (c.f->>6)::boolean, c.f->>7
FROM (
  SELECT split_part(item, '|', 1)::bigint AS id, split_part(item, '|', 2)::bigint AS affiliate_id,
         substr(item, strpos(substr(item, strpos(item, '|') + 1), '|') + strpos(item, '|') + 1)::jsonb AS f
  FROM unnest(string_to_array(%s, E'\\n')) AS item
) AS c
WHERE EXISTS (SELECT 1 FROM {affiliates} a WHERE a.id = c.affiliate_id)
ON CONFLICT DO NOTHING
"""


def _insert(items: list[bytes]) -> int:
    """Insert buffered clicks ("<id>|<affiliate id>|<JSON>"), skipping ids already stored (a
    crashed flush's leftovers) and clicks whose affiliate was deleted meanwhile; returns the
    rows inserted. Written out rather than through bulk_create: the flush runs every 2 s
    beside the redirect, and model instances and the ORM's per-value preparation were four
    fifths of its CPU. PostgreSQL parses the items in one statement; SQLite gets one
    executemany of the decoded rows."""
    if not items:
        return 0
    quote = connection.ops.quote_name
    meta = Click._meta
    columns = ", ".join(quote(meta.get_field(f).column) for f in ("id", "affiliate", *_REST))
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                _PG_INSERT.format(
                    table=quote(meta.db_table),
                    columns=columns,
                    affiliates=quote(Affiliate._meta.db_table),
                ),
                [b"\n".join(items).decode()],
            )
            return cursor.rowcount
        rows = [_decode(i) for i in items]
        known = set(
            Affiliate.objects.filter(pk__in={r[1] for r in rows}).values_list("pk", flat=True)
        )
        adapt = connection.ops.adapt_datetimefield_value
        cursor.executemany(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) "
            f"VALUES ({', '.join(['%s'] * len(rows[0]))}) ON CONFLICT DO NOTHING",
            [(r[0], r[1], adapt(r[2]), *r[3:]) for r in rows if r[1] in known],
        )
        return cursor.rowcount


def _advance_sequences() -> None:
    top = _max_click_id()
    if connection.vendor == "postgresql" and top:
        # Explicit ids do not move the serial; keep it ahead so a "db"-mode insert never
        # collides. GREATEST: never move it back.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('tracking_click', 'id'), "
                "GREATEST(%s, (SELECT last_value FROM tracking_click_id_seq)))",
                [top],
            )
    _scripts["raise"](keys=[SEQ_KEY], args=[top])


def flush_clicks(*, batch_size: int = 5000, max_batches: int = 100) -> int:
    """Bulk-insert buffered clicks; returns how many rows were written. Safe to run twice
    and after a crash: leftovers in the flushing list are inserted again (same ids)."""
    if not buffered():
        return 0
    client = redis_client()
    # One flusher at a time: a second one could empty the flushing list under the first.
    token = resolver_cache.new_token()
    if not client.set(LOCK_KEY, token, nx=True, ex=LOCK_SECONDS):
        return 0
    keys = [BUFFER_KEY, FLUSHING_KEY, LOCK_KEY]
    written = 0
    try:
        for _ in range(max_batches):
            items = client.lrange(FLUSHING_KEY, 0, -1)  # a crashed flush's leftovers first
            if not items:
                items = _scripts["take"](keys=keys, args=[batch_size, token, LOCK_SECONDS])
            if not items:
                break
            written += _insert(items)
            if not _scripts["done"](keys=keys, args=["", token, LOCK_SECONDS]):
                log.warning(
                    "click flush lost its lock after %s rows; the new owner goes on", written
                )
                break
        if written:
            _advance_sequences()
    finally:
        _scripts["release"](keys=keys, args=["", token])
    return written
