#!/usr/bin/env python3
"""Eviction side by side: redish and redis-server under the same maxmemory settings.

For each policy (allkeys-lru, allkeys-lfu) it starts both servers with `maxmemory` (default
32mb), runs the same Zipf-distributed cache workload on each — GET a key, SET it (VALUE
bytes) on a miss, pipelined 16 deep — and prints the hit ratio
(keyspace_hits / (hits + misses)) and the client-side throughput. Then it measures
eviction's throughput cost with redis-benchmark SET -P 16 over a keyspace far larger than
the limit, against the same server without maxmemory.

The client is plain Python sockets (no dependency); its throughput figures are bounded by
the client, the redis-benchmark ones are the servers'.

    bench/evict_zipf.py [--redish PATH] [--redis-server PATH] [--ops N] [--keys N]
"""
import argparse
import bisect
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(1 << 16)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self.buf += self.s.recv(1 << 16)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        if kind == b"-":
            raise RuntimeError(rest.decode())
        return rest

    def call(self, *args):
        self.s.sendall(resp(*args))
        return self.reply()

    def pipeline(self, cmds):
        self.s.sendall(b"".join(resp(*c) for c in cmds))
        return [self.reply() for _ in cmds]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, port, settings, tmp):
    args = [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", tmp]
    for k, v in settings:
        args += ["--" + k, v]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while True:
        try:
            c = Conn(port)
            if c.call("PING") == b"PONG":
                return p, c
        except OSError:
            pass
        if time.time() > deadline:
            p.kill()
            sys.exit(f"{binary} did not start")
        time.sleep(0.1)


def info(c, section):
    text = c.call("INFO", section).decode()
    return dict(l.split(":", 1) for l in text.split("\r\n") if ":" in l)


def zipf_sampler(n, s, rng):
    weights = [1.0 / (i ** s) for i in range(1, n + 1)]
    total = sum(weights)
    cdf, acc = [], 0.0
    for w in weights:
        acc += w / total
        cdf.append(acc)
    return lambda: min(bisect.bisect_left(cdf, rng.random()), n - 1)


def workload(c, ops, keys, value, seed):
    rng = random.Random(seed)
    # Ranks are shuffled onto key names so that hot keys are not neighbours.
    names = [b"key:%d" % i for i in range(keys)]
    rng.shuffle(names)
    sample = zipf_sampler(keys, 1.0, rng)
    c.call("CONFIG", "RESETSTAT")
    start = time.time()
    done = 0
    while done < ops:
        batch = [names[sample()] for _ in range(16)]
        got = c.pipeline([("GET", k) for k in batch])
        misses = [("SET", k, value) for k, v in zip(batch, got) if v is None]
        if misses:
            c.pipeline(misses)
        done += len(batch) + len(misses)
    elapsed = time.time() - start
    st = info(c, "stats")
    hits, misses = int(st["keyspace_hits"]), int(st["keyspace_misses"])
    return hits / max(1, hits + misses), done / elapsed, int(st["evicted_keys"])


def bench_set(port, keyspace, value_bytes):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "set", "-n", "1000000", "-r", str(keyspace),
         "-d", str(value_bytes), "-c", "50", "-P", "16", "-q"],
        capture_output=True, text=True).stdout
    m = re.findall(r"SET: ([0-9.]+) requests per second", out.replace("\r", "\n"))
    return float(m[-1]) if m else 0.0


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target")),
                           "release", "server")
    ap.add_argument("--redish", default=default)
    ap.add_argument("--redis-server", default="redis-server")
    ap.add_argument("--maxmemory", default="32mb")
    ap.add_argument("--ops", type=int, default=300_000)
    ap.add_argument("--keys", type=int, default=200_000)
    ap.add_argument("--value", type=int, default=1000)
    ap.add_argument("--samples", default="5")
    a = ap.parse_args()
    value = b"v" * a.value
    servers = [("redish", a.redish), ("redis-server", a.redis_server)]
    print(f"Zipf(s=1) over {a.keys} keys, {a.ops} ops, {a.value}-byte values, "
          f"maxmemory {a.maxmemory}, maxmemory-samples {a.samples}")
    print(f"{'policy':<12} {'server':<13} {'hit ratio':>9} {'ops/s (client)':>15} {'evicted':>9}")
    for policy in ["allkeys-lru", "allkeys-lfu"]:
        for name, binary in servers:
            with tempfile.TemporaryDirectory() as tmp:
                port = free_port()
                p, c = start(binary, port, [("maxmemory", a.maxmemory),
                                            ("maxmemory-policy", policy),
                                            ("maxmemory-samples", a.samples)], tmp)
                try:
                    ratio, rate, evicted = workload(c, a.ops, a.keys, value, 42)
                finally:
                    p.kill()
                    p.wait()
            print(f"{policy:<12} {name:<13} {ratio:>9.4f} {rate:>15.0f} {evicted:>9}")
    print()
    print("redis-benchmark SET -P 16 -c 50, 1M requests over 1M keys of 1000 bytes:")
    print(f"{'server':<13} {'no maxmemory':>13} {'allkeys-lru':>12} {'cost':>7}")
    for name, binary in servers:
        rates = []
        for settings in [[], [("maxmemory", a.maxmemory), ("maxmemory-policy", "allkeys-lru")]]:
            with tempfile.TemporaryDirectory() as tmp:
                port = free_port()
                p, c = start(binary, port, settings, tmp)
                try:
                    rates.append(bench_set(port, 1_000_000, 1000))
                finally:
                    p.kill()
                    p.wait()
        cost = 100.0 * (1 - rates[1] / rates[0]) if rates[0] else 0.0
        print(f"{name:<13} {rates[0]:>13.0f} {rates[1]:>12.0f} {cost:>6.1f}%")


if __name__ == "__main__":
    main()
