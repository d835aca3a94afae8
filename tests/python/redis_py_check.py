"""What an application using redis-py (Debian's python3-redis) does against a server.

Run by tests/tests/python_client.rs with the port as the only argument; exits non-zero with
a message on the first difference from what redis-py expects of Redis.
"""
import sys
import time

import redis

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, decode_responses=True)

assert r.ping() is True
r.client_setname("py-check")
assert r.client_getname() == "py-check"
info = r.client_info()
assert info["name"] == "py-check", info

assert r.set("greeting", "hello", ex=100) is True
assert r.get("greeting") == "hello"
assert 0 < r.ttl("greeting") <= 100
assert r.set("greeting", "x", nx=True) is None
assert r.incrby("counter", 5) == 5
assert r.incrbyfloat("float", 1.5) == 1.5
assert r.mset({"a": "1", "b": "2"}) is True
assert r.mget("a", "b", "missing") == ["1", "2", None]
assert r.exists("a", "b", "missing") == 2
assert r.delete("a", "b") == 2

assert r.hset("user:1", mapping={"name": "ada", "age": "36"}) == 2
assert r.hgetall("user:1") == {"name": "ada", "age": "36"}
assert r.hincrby("user:1", "age", 1) == 37

assert r.rpush("queue", "j1", "j2") == 2
assert r.blpop(["queue"], timeout=1) == ("queue", "j1")
assert r.lrange("queue", 0, -1) == ["j2"]
assert r.brpop(["empty"], timeout=0.1) is None

assert r.sadd("tags", "x", "y", "z") == 3
assert r.smembers("tags") == {"x", "y", "z"}

assert r.zadd("board", {"ann": 10, "bob": 7.5}) == 2
assert r.zrange("board", 0, -1, withscores=True) == [("bob", 7.5), ("ann", 10.0)]
assert r.zincrby("board", 5, "bob") == 12.5
assert r.zrevrank("board", "bob") == 0

with r.pipeline(transaction=True) as p:
    p.set("tx", "1").incr("tx").get("tx")
    assert p.execute() == [True, 2, "2"]

with r.pipeline(transaction=True) as p:
    p.watch("watched")
    p.multi()
    r.set("watched", "changed by someone else")
    p.set("watched", "mine")
    try:
        p.execute()
        raise AssertionError("WATCH did not abort the transaction")
    except redis.WatchError:
        pass

keys = set(r.scan_iter(match="user:*", count=10))
assert keys == {"user:1"}, keys
assert r.type("board") == "zset"
assert r.config_get("maxclients") == {"maxclients": "10000"}
server = r.info("server")
assert server["redis_version"].startswith("7."), server
assert r.info("keyspace")["db0"]["keys"] >= 8
assert r.dbsize() >= 8

sub = r.pubsub()
sub.subscribe("news")
assert sub.get_message(timeout=2)["type"] == "subscribe"
assert r.publish("news", "hi") == 1
deadline = time.time() + 5
msg = None
while msg is None and time.time() < deadline:
    msg = sub.get_message(timeout=1)
assert msg is not None and msg["data"] == "hi", msg
sub.close()

try:
    r.execute_command("NOSUCHCOMMAND")
    raise AssertionError("unknown command accepted")
except redis.ResponseError as e:
    assert "unknown command" in str(e), e

try:
    r.lpush("greeting", "x")
    raise AssertionError("WRONGTYPE not raised")
except redis.ResponseError as e:
    assert str(e).startswith("WRONGTYPE"), e

assert r.flushdb() is True
assert r.dbsize() == 0
print("redis-py", redis.__version__, "ok")
