"""redis-py's Sentinel client across a failover (tests/tests/sentinel.rs runs it).

Args: the master's pid, then the sentinels' ports. Writes through Sentinel.master_for,
with WAIT 2 every 50 writes; SIGKILLs the master after 300; keeps writing (retrying on
connection errors, as an application would) until 200 writes after the kill succeeded,
for at most 30 s. Then every key acknowledged by WAIT before the kill must be on the
new master. Exits non-zero with a message otherwise.
"""
import os
import signal
import sys
import time

from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError
from redis.sentinel import MasterNotFoundError, Sentinel

pid = int(sys.argv[1])
sentinel = Sentinel([("127.0.0.1", int(p)) for p in sys.argv[2:]], socket_timeout=1.0)
old = sentinel.discover_master("m")
master = sentinel.master_for("m", socket_timeout=1.0)

written = 0
waited = 0
killed_at = None
after_kill = 0
deadline = time.time() + 30
while after_kill < 200:
    if time.time() > deadline:
        sys.exit(f"writes did not resume: {after_kill} after the kill, {written} in all")
    if killed_at is None and written >= 300:
        os.kill(pid, signal.SIGKILL)
        killed_at = time.time()
    try:
        master.set(f"py{written}", written)
        written += 1
        if killed_at is not None:
            after_kill += 1
        elif written % 50 == 0:
            if master.execute_command("WAIT", 2, 5000) != 2:
                sys.exit("WAIT 2 before the kill")
            waited = written
    except (ConnectionError, ReadOnlyError, TimeoutError, MasterNotFoundError):
        time.sleep(0.05)

new = sentinel.discover_master("m")
if new == old:
    sys.exit(f"writes resumed but Sentinel still names {old}")
missing = [i for i in range(waited) if master.get(f"py{i}") is None]
if missing:
    sys.exit(f"{len(missing)} keys acknowledged by WAIT are missing: {missing[:10]}")
print(f"master {old} -> {new}; {waited} keys acknowledged by WAIT kept; "
      f"first 200 writes after the kill took {time.time() - killed_at:.1f} s")
