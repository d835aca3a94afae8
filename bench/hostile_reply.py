#!/usr/bin/env python3
"""One small request with an unbounded reply, from clients that never read.

Starts SERVER (redish's `server` or `redis-server`) on a free port, fills a 3-member set,
hash and sorted set, then opens N clients per command sending
`SRANDMEMBER s -2147483648` (and HRANDFIELD … WITHVALUES, ZRANDMEMBER … WITHSCORES) that
never read, while one more client sends PING every 10 ms. Reports the server's peak RSS
growth (VmRSS of /proc/PID/status) and that client's PING latencies. Stops at --seconds or
when the RSS passes --max-rss-mib, then kills the server.

    bench/hostile_reply.py /path/to/server [--per-kind 3] [--seconds 10] [--only srandmember]
"""
import argparse, os, socket, subprocess, sys, threading, time

HOSTILE = {
    "srandmember": b"SRANDMEMBER s -2147483648\r\n",
    "hrandfield": b"HRANDFIELD h -2147483648 WITHVALUES\r\n",
    "zrandmember": b"ZRANDMEMBER z -2147483648 WITHSCORES\r\n",
}

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def call(sock, req):
    sock.sendall(req)
    buf = b""
    while not buf.endswith(b"\r\n"):
        buf += sock.recv(65536)
    return buf

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--per-kind", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--max-rss-mib", type=int, default=2048)
    ap.add_argument("--only", default=None)
    a = ap.parse_args()
    port = free_port()
    proc = subprocess.Popen([a.server, "--port", str(port), "--save", ""],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                c = socket.create_connection(("127.0.0.1", port)); break
            except OSError:
                time.sleep(0.05)
        for req in [b"SADD s a b c\r\n", b"HSET h f1 v1 f2 v2 f3 v3\r\n",
                    b"ZADD z 1 a 2 b 3 c\r\n", b"SET k v\r\n"]:
            call(c, req)
        time.sleep(0.2)
        base = rss_kib(proc.pid)
        kinds = [a.only] if a.only else list(HOSTILE)
        hostile = []
        for k in kinds:
            for _ in range(a.per_kind):
                h = socket.create_connection(("127.0.0.1", port))
                h.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
                h.sendall(HOSTILE[k]); hostile.append(h)
        c.settimeout(a.seconds)
        start = time.time(); lat = []; stopped = "time"
        state = {"peak": base, "capped": False, "done": False}
        def sample():
            # RSS every 10 ms, even while PING waits; past the cap the server is killed.
            while not state["done"]:
                r = rss_kib(proc.pid)
                state["peak"] = max(state["peak"], r)
                if r - base > a.max_rss_mib * 1024:
                    state["capped"] = True; proc.kill(); return
                time.sleep(0.01)
        sampler = threading.Thread(target=sample, daemon=True); sampler.start()
        while time.time() - start < a.seconds and not state["capped"]:
            t = time.time()
            try:
                assert call(c, b"PING\r\n") == b"+PONG\r\n"
            except (socket.timeout, OSError):
                lat.append(time.time() - t); stopped = "PING unanswered"; break
            lat.append(time.time() - t)
            if os.environ.get("VERBOSE") and lat[-1] > 0.005:
                print(f"  slow PING at {t - start:.3f}s: {lat[-1] * 1000:.1f} ms")
            time.sleep(0.01)
        if state["capped"]:
            stopped = f"RSS cap ({a.max_rss_mib} MiB, server killed)"
        state["done"] = True; sampler.join(); peak = state["peak"]
        lat.sort()
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
        print(f"{os.path.basename(a.server)}: {len(hostile)} non-reading clients ({','.join(kinds)}), "
              f"{time.time() - start:.1f}s, stopped by {stopped}: RSS growth peak "
              f"{(peak - base) / 1024:.1f} MiB; PING n={len(lat)} p50 {p(0.5):.2f} ms "
              f"p99 {p(0.99):.2f} ms max {lat[-1] * 1000:.2f} ms")
        for h in hostile: h.close()
        time.sleep(1)
        if proc.poll() is None:
            print(f"  after the hostile clients left: RSS growth {(rss_kib(proc.pid) - base) / 1024:.1f} MiB")
    finally:
        proc.kill(); proc.wait()

if __name__ == "__main__":
    main()
