"""Scripts as applications run them through redis-py (Debian's python3-redis).

Run by tests/tests/python_client.rs with the port as the only argument; exits non-zero with
a message on the first difference from what redis-py expects of Redis:
- redis-py's Lock (acquire, extend, release are Lua scripts) under contention from threads:
  every increment of a shared counter made under the lock survives;
- Script objects (register_script: EVALSHA, falling back to EVAL after SCRIPT FLUSH);
- a fixed-window rate limiter (INCR + EXPIRE in one script), the shape of `limits` and
  redis_rate.
"""
import sys
import threading

import redis
from redis.exceptions import LockError, NoScriptError, ResponseError

port = int(sys.argv[1])


def client():
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, decode_responses=True)


r = client()
r.flushall()

# --- Lock under contention -------------------------------------------------------------
THREADS, ROUNDS = 4, 25
errors = []


def worker():
    c = client()
    try:
        for _ in range(ROUNDS):
            with c.lock("resource", timeout=5, blocking_timeout=10, sleep=0.001):
                # A read-modify-write that loses updates unless the lock excludes the others.
                n = int(c.get("shared") or 0)
                c.set("shared", n + 1)
    except Exception as e:  # surfaced below, in the main thread
        errors.append(repr(e))


threads = [threading.Thread(target=worker) for _ in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
assert not errors, errors
assert int(r.get("shared")) == THREADS * ROUNDS, r.get("shared")
assert r.exists("resource") == 0, "the lock was left behind"

lock = r.lock("held", timeout=10)
assert lock.acquire(blocking=False) is True
assert r.lock("held", timeout=10).acquire(blocking=False) is False
assert lock.extend(5) is True
assert 10 < r.pttl("held") <= 15000, r.pttl("held")
assert lock.reacquire() is True
assert lock.owned() is True
lock.release()
assert lock.owned() is False
try:
    lock.release()
    raise AssertionError("releasing a lock not held must fail")
except LockError:
    pass

# --- Script objects ----------------------------------------------------------------------
incr_by = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
assert incr_by(keys=["sc"], args=[5]) == 5
assert r.script_exists(incr_by.sha) == [True]
r.script_flush()
assert r.script_exists(incr_by.sha) == [False]
# redis-py retries with EVAL (SCRIPT LOAD) on NOSCRIPT.
assert incr_by(keys=["sc"], args=[2]) == 7
try:
    r.evalsha("0" * 40, 0)
    raise AssertionError("an unknown sha must fail")
except NoScriptError:
    pass
r.set("not-a-number", "x")
try:
    r.eval("return redis.call('incr', KEYS[1])", 1, "not-a-number")
    raise AssertionError("a failing redis.call must raise")
except ResponseError as e:
    assert "value is not an integer" in str(e), e
assert r.eval("return {1, 'two', {3}}", 0) == [1, "two", [3]]
assert r.eval("return redis.status_reply('FINE')", 0) == "FINE"
assert r.eval("return cjson.encode({a = ARGV[1]})", 0, "x") == '{"a":"x"}'

# --- A fixed-window rate limiter -----------------------------------------------------------
limiter = r.register_script(
    """
    local n = redis.call('incr', KEYS[1])
    if n == 1 then redis.call('pexpire', KEYS[1], ARGV[2]) end
    if n > tonumber(ARGV[1]) then return 0 end
    return 1
    """
)
allowed = sum(limiter(keys=["rl:user"], args=[10, 60000]) for _ in range(25))
assert allowed == 10, allowed
assert 0 < r.pttl("rl:user") <= 60000

print("ok")
