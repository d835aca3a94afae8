#!/usr/bin/env bash
# repl_one_replica.sh — SET throughput of a master with one replica attached: redish with a
# redish replica vs redis-server with a redis-server replica, side by side, interleaved.
#
# Usage: bench/repl_one_replica.sh [REDISH_SERVER] [--rounds N] [--requests N] [--pipeline P]
#   REDISH_SERVER  redish's server binary (default target/release/server)
# For each round and each pair: start master and replica on free loopback ports, wait for
# the link (master_link_status:up), run `redis-benchmark -t set -P 16 -c 50 -r 100000`,
# then check the replica caught up (its offset reaches the master's within 10 s) and report
# how long that took. Prints each run and the median ratio redish/redis.
set -uo pipefail
REDISH=target/release/server ROUNDS=3 N=2000000 P=16
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift ;; --requests) N=$2; shift ;; --pipeline) P=$2; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) REDISH=$1 ;;
  esac; shift
done
for b in redis-server redis-cli redis-benchmark "$REDISH"; do
  command -v "$b" >/dev/null || [[ -x $b ]] || { echo "missing $b" >&2; exit 2; }
done
WORK=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { redis-cli -p "$1" info replication 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }
wait_for() { for _ in $(seq 1 200); do eval "$1" && return 0; sleep 0.05; done; return 1; }

run_pair() { # kind -> prints "rps catchup_ms"
  local kind=$1 mp rp mpid rpid
  mp=$(free_port); rp=$(free_port)
  if [[ $kind == redis ]]; then
    redis-server --port "$mp" --save '' --appendonly no --dir "$WORK" >/dev/null & mpid=$!
    wait_for "redis-cli -p $mp ping >/dev/null 2>&1"
    redis-server --port "$rp" --save '' --appendonly no --dir "$WORK" --replicaof 127.0.0.1 "$mp" >/dev/null & rpid=$!
  else
    "$REDISH" --port "$mp" --dir "$WORK" >/dev/null 2>&1 & mpid=$!
    wait_for "redis-cli -p $mp ping >/dev/null 2>&1"
    "$REDISH" --port "$rp" --dir "$WORK" --replicaof 127.0.0.1 "$mp" >/dev/null 2>&1 & rpid=$!
  fi
  wait_for "[[ \$(field $rp master_link_status) == up ]]" || { echo "no link" >&2; kill $mpid $rpid; return 1; }
  local rps
  rps=$(redis-benchmark -p "$mp" -t set -P "$P" -c 50 -n "$N" -r 100000 -q --csv 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"')
  local t0; t0=$(date +%s%N)
  wait_for "[[ \$(field $rp slave_repl_offset) -ge \$(field $mp master_repl_offset) ]]"
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  local km kr; km=$(redis-cli -p "$mp" dbsize); kr=$(redis-cli -p "$rp" dbsize)
  [[ $km == "$kr" ]] || echo "WARNING: $kind master has $km keys, replica $kr" >&2
  kill $mpid $rpid; wait $mpid $rpid 2>/dev/null
  echo "$rps $ms"
}

declare -a RATIOS
for r in $(seq 1 "$ROUNDS"); do
  read -r redis_rps redis_ms < <(run_pair redis)
  read -r ours_rps ours_ms < <(run_pair redish)
  ratio=$(python3 -c "print(f'{$ours_rps/$redis_rps:.3f}')")
  RATIOS+=("$ratio")
  echo "round $r: redis-server $redis_rps rps (replica caught up in ${redis_ms} ms), redish $ours_rps rps (${ours_ms} ms), ratio $ratio"
done
median=$(printf '%s\n' "${RATIOS[@]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")
echo "SUMMARY SET -P $P with one replica: redish/redis median ratio $median"
