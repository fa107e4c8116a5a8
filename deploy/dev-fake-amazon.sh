#!/bin/bash
# dev-fake-amazon.sh: for `make run` - start the fake Amazon cloud
# (tests/integration/fake_amazon.py) in the background and print the
# `binday serve` flags that point binday at it, one per line.
#
#   FLAGS=$(deploy/dev-fake-amazon.sh "$RUN/fake")       # starts it (once)
#   exec binday serve ... $FLAGS
#   deploy/dev-fake-amazon.sh --stop "$RUN/fake"
#
# DIR gets: certs/ (TLS for the Amazon host names), signing/ (a development
# request-signing chain: signing.key for `binday ask --key`, signing-ca.pem for
# --alexa-ca, binday-dev.pem served by the fake cert host), port, pid, log.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--stop" ]; then
  DIR=${2:?usage: dev-fake-amazon.sh --stop DIR}
  [ -s "$DIR/pid" ] && kill "$(cat "$DIR/pid")" 2>/dev/null || true
  rm -f "$DIR/pid" "$DIR/port"
  exit 0
fi
DIR=${1:?usage: dev-fake-amazon.sh DIR}
PY=/usr/bin/python3
FAKE=tests/integration/fake_amazon.py
mkdir -p "$DIR"
[ -s "$DIR/certs/server.pem" ] || $PY $FAKE --make-certs "$DIR/certs" >/dev/null
[ -s "$DIR/signing/binday-dev.pem" ] || $PY $FAKE --make-signing "$DIR/signing" >/dev/null
if ! { [ -s "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; }; then
  rm -f "$DIR/port"
  $PY $FAKE --cert "$DIR/certs/server.pem" --key "$DIR/certs/server.key" --port 0 \
    --port-file "$DIR/port" --pem-dir "$DIR/signing" >"$DIR/log" 2>&1 &
  echo $! >"$DIR/pid"
  for _ in $(seq 100); do [ -s "$DIR/port" ] && break; sleep 0.05; done
  [ -s "$DIR/port" ] || { echo "dev-fake-amazon.sh: fake cloud did not start (see $DIR/log)" >&2; exit 1; }
fi
P=$(cat "$DIR/port")
echo "--alexa-ca $DIR/signing/signing-ca.pem"
echo "--upstream-ca $DIR/certs/ca.pem"
for h in s3.amazonaws.com api.amazonalexa.com api.eu.amazonalexa.com api.fe.amazonalexa.com; do
  echo "--connect-to $h:443:127.0.0.1:$P"
done
