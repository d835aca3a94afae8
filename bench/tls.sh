#!/usr/bin/env bash
# redis-benchmark --tls against redish and redis-server configured the same: TLS port only
# (`--port 0`), one server certificate and CA made here with openssl, client certificates
# required (Redis's default `tls-auth-clients yes`), no persistence. One run each, side by
# side, with the same redis-benchmark flags; prints both results and the ratio.
#
#   bench/tls.sh target/release/server [-n 1000000] [-c 50] [-P 16] [-t set,get]
set -euo pipefail
server=${1:?usage: bench/tls.sh path/to/redish-server [redis-benchmark flags]}
shift
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(-n 1000000 -c 50 -P 16 -t set,get -r 100000)

dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

# A CA, a server certificate for 127.0.0.1 and a client certificate, EC P-256.
(
  cd "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=bench-ca -keyout ca.key -out ca.pem 2>/dev/null
  for who in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=bench-$who" -keyout $who.key -out $who.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=%s\n' \
      "$([ $who = server ] && echo serverAuth || echo clientAuth)" > $who.ext
    openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile $who.ext -out $who.pem 2>/dev/null
  done
)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tls_args=(--tls-cert-file "$dir/server.pem" --tls-key-file "$dir/server.key" --tls-ca-cert-file "$dir/ca.pem")
cli_tls=(--tls --cacert "$dir/ca.pem" --cert "$dir/client.pem" --key "$dir/client.key")

wait_up() {
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$1" "${cli_tls[@]}" PING 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "server on $1 did not start" >&2
  exit 1
}

run() { # name port -> "test rps" lines
  redis-benchmark -p "$2" "${cli_tls[@]}" "${flags[@]}" -q 2>/dev/null | tr '\r' '\n' |
    grep -E 'requests per second' | sed -E 's/^([A-Z]+): ([0-9.]+) requests.*/\1 \2/'
}

rport=$(free_port)
redis-server --port 0 --tls-port "$rport" "${tls_args[@]}" --save '' --appendonly no \
  --dir "$dir" >/dev/null &
pids+=($!)
wait_up "$rport"
redis_out=$(run redis "$rport")
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true

oport=$(free_port)
"$server" --port 0 --tls-port "$oport" "${tls_args[@]}" --dir "$dir" >/dev/null 2>&1 &
pids+=($!)
wait_up "$oport"
ours_out=$(run redish "$oport")

echo "redis-benchmark ${flags[*]} --tls, client certificates"
join <(echo "$redis_out" | sort) <(echo "$ours_out" | sort) |
  awk '{ printf "%-6s redis-server %12.0f rps   redish %12.0f rps   ratio %.2fx\n", $1, $2, $3, $3 / $2 }'
