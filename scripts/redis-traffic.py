#!/usr/bin/env python3
"""Redis traffic from Python's redis-py client to a redis-server on
127.0.0.1:6379, for captures (`make-captures.sh redis` starts the server).

    redis-traffic.py resp2    SET/GET/INCR/DEL, a null bulk string, error
                              replies, an empty array, a pipeline, a 100,000-byte
                              value, pub/sub (SUBSCRIBE and PSUBSCRIBE), a stream
                              with a consumer group
    redis-traffic.py resp3    HELLO 3, then maps, sets, doubles, null, booleans,
                              a big number, a verbatim string, pub/sub pushes

redis-py 8 speaks RESP3 by default, so resp2 asks for protocol=2 explicitly.
"""
import sys
import time

import redis

MODE = sys.argv[1]
if MODE not in ("resp2", "resp3"):
    sys.exit("usage: redis-traffic.py resp2|resp3")
PROTOCOL = 3 if MODE == "resp3" else 2


def client():
    return redis.Redis(host="127.0.0.1", port=6379, protocol=PROTOCOL)


def expect_error(fn, *args):
    try:
        fn(*args)
    except redis.ResponseError as e:
        return str(e)
    raise SystemExit(f"expected an error reply to {args}")


def read_until(pubsub, want, what, timeout=5.0):
    """get_message in a loop until `want` messages of a type in `what` came."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}: got {got}")
        m = pubsub.get_message(timeout=0.5)
        if m is not None and m["type"] in what:
            got.append(m)
    return got


def pubsub(r, messages):
    """One SUBSCRIBE news subscriber (and in RESP2 a PSUBSCRIBE n* one too), a
    publisher sending `messages` to news; each subscriber reads all of them."""
    subs = [(r.pubsub(), "subscribe", "message")]
    if PROTOCOL == 2:
        subs.append((r.pubsub(), "psubscribe", "pmessage"))
    subs[0][0].subscribe("news")
    if PROTOCOL == 2:
        subs[1][0].psubscribe("n*")
    for p, confirm, _ in subs:          # the subscription is active: publish
        read_until(p, 1, (confirm,))
    for text in messages:
        r.publish("news", text)
    for p, _, kind in subs:
        got = read_until(p, len(messages), (kind,))
        assert [m["data"].decode() for m in got] == messages, got
    subs[0][0].unsubscribe("news")
    read_until(subs[0][0], 1, ("unsubscribe",))
    if PROTOCOL == 2:
        subs[1][0].punsubscribe("n*")
        read_until(subs[1][0], 1, ("punsubscribe",))
    for p, _, _ in subs:
        p.close()


def resp2(r):
    r.set("greeting", "hello, redis")
    r.get("greeting")
    r.set("counter", 41)
    r.execute_command("INCR", "counter")                 # r.incr() sends INCRBY n 1
    r.delete("greeting")
    assert r.get("greeting") is None                      # $-1
    r.set("name", "wirelab")
    print(expect_error(r.execute_command, "INCR", "name"))  # -ERR not an integer
    r.rpush("queue", "a", "b")
    print(expect_error(r.get, "queue"))                   # -WRONGTYPE
    assert r.lrange("missing-list", 0, -1) == []          # *0

    # Pipelining: the commands leave in one write, the replies come in one.
    p = r.pipeline(transaction=False)
    p.set("p:1", "one").set("p:2", "two").incr("p:n").get("p:1").get("p:2")
    p.mget("p:1", "p:2", "p:missing").lrange("queue", 0, -1)
    print(p.execute())

    # A 100,000-byte bulk string: more than one 65,483-byte loopback segment.
    big = bytes(ord("a") + i % 26 for i in range(100_000))
    r.set("big", big)
    assert r.get("big") == big

    pubsub(r, ["first", "second", "third"])

    # A stream with a consumer group.
    ids = [r.xadd("jobs", {"job": n, "size": i}) for i, n in enumerate(["resize", "encode", "upload"], 1)]
    r.xgroup_create("jobs", "workers", id="0")
    c1 = r.xreadgroup("workers", "c1", {"jobs": ">"}, count=1)
    c2 = r.xreadgroup("workers", "c2", {"jobs": ">"}, count=1)
    assert c1[0][1][0][0] == ids[0] and c2[0][1][0][0] == ids[1], (c1, c2)
    r.xack("jobs", "workers", ids[0])
    pending = r.xpending("jobs", "workers")
    assert pending["pending"] == 1 and pending["consumers"][0]["name"] == b"c2", pending
    c1 = r.xreadgroup("workers", "c1", {"jobs": ">"}, count=1)
    assert c1[0][1][0][0] == ids[2], c1


def resp3(r):
    # redis-py connects with HELLO 3 (its reply is a map) before the first command.
    r.hset("user:1", mapping={"name": "ada", "lang": "en"})
    print(r.hgetall("user:1"))                            # map %
    r.sadd("tags", "red", "green", "blue")
    print(r.smembers("tags"))                             # set ~
    r.zadd("scores", {"ada": 2.5, "bob": 7})
    print(r.zscore("scores", "ada"))                      # double ,
    assert r.get("missing") is None                       # null _
    print(r.eval("redis.setresp(3); return true", 0))    # boolean #t
    print(r.eval("redis.setresp(3); return {big_number='1234567890123456789012345678901234567890'}", 0))  # (
    print(r.eval("redis.setresp(3); return {double=3.5}", 0))  # ,3.5
    print(r.info("server")["redis_version"])              # verbatim string =
    pubsub(r, ["first", "second"])                        # pushes >


r = client()
resp2(r) if PROTOCOL == 2 else resp3(r)
r.close()
