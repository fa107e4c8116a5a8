#!/bin/bash
# make run: start binday in development mode on https://localhost:8443 with the
# bundled demo data. Everything lives in ./run/ (delete it to start afresh).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${BINDAY_RUN_DIR:-$PWD/run}
DATA=$RUN/data
PORT=${BINDAY_PORT:-8443}
mkdir -p "$RUN" "$DATA"
chmod 700 "$DATA"

# A self-signed certificate for localhost, made once.
if [ ! -s "$DATA/dev-tls.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$DATA/dev-tls.key" -out "$DATA/dev-tls.pem" 2>/dev/null
  chmod 600 "$DATA/dev-tls.key"
fi

cat <<MSG

  binday (development mode) on https://localhost:$PORT

  Try, in another terminal:
    curl --cacert $DATA/dev-tls.pem https://localhost:$PORT/healthz

  Stop with Ctrl-C (the server drains in-flight requests and exits).

MSG
exec ./build/release/binday serve --dev --data "$DATA" --listen "127.0.0.1:$PORT" \
  --tls-cert "$DATA/dev-tls.pem" --tls-key "$DATA/dev-tls.key" \
  --skill-id amzn1.ask.skill.binday-dev --threads 2
