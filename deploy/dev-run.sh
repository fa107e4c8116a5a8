#!/bin/bash
# make run: binday in development mode on https://localhost:8443 with the
# bundled demo district (~60,000 synthetic Breckland properties) and a fake of
# Amazon's cloud (cert host, Device Address and Customer Profile APIs) on
# loopback. Everything lives in ./run/ (delete it to start afresh).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${BINDAY_RUN_DIR:-$PWD/run}
DATA=$RUN/data
PORT=${BINDAY_PORT:-8443}
STAFF_PORT=${BINDAY_STAFF_PORT:-8444}
BIN=./build/release/binday
mkdir -p "$RUN" "$DATA"
chmod 700 "$DATA"

# A self-signed certificate for localhost, made once.
if [ ! -s "$DATA/dev-tls.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$DATA/dev-tls.key" -out "$DATA/dev-tls.pem" 2>/dev/null
  chmod 600 "$DATA/dev-tls.key"
fi

# The demo district, imported once (re-import any time: the server sees it at once).
if [ ! -s "$RUN/demo-imported" ]; then
  echo "generating and importing the demo district (about 60,000 properties)..."
  deploy/load-demo-data.sh "$DATA" 60000 "$BIN"
  date -u +%FT%TZ > "$RUN/demo-imported"
fi

# The staff console's first account: a demo admin with a random password,
# printed once, on the first run only (binday staff add --if-no-accounts).
ADMIN_PW=$($BIN staff add --data "$DATA" --user admin --role admin --random-password --if-no-accounts)

# The fake Amazon cloud; its flags point binday at it (stopped when we exit).
FAKE_FLAGS=$(deploy/dev-fake-amazon.sh "$RUN/fake")
# A local SMTP server (STARTTLS, certificate from the fake cloud's CA) that
# writes emailed links to run/mail/*.eml instead of sending them anywhere.
rm -f "$RUN/mail.port"
/usr/bin/python3 deploy/dev-mail-sink.py --cert "$RUN/fake/certs/server.pem" --key "$RUN/fake/certs/server.key" \
  --outdir "$RUN/mail" --port-file "$RUN/mail.port" > "$RUN/mail-sink.log" 2>&1 &
SINK=$!
trap 'kill $SINK 2>/dev/null; deploy/dev-fake-amazon.sh --stop "$RUN/fake"' EXIT
for _ in $(seq 100); do [ -s "$RUN/mail.port" ] && break; sleep 0.05; done
[ -s "$RUN/mail.port" ] || { echo "dev-run.sh: mail sink did not start (see $RUN/mail-sink.log)" >&2; exit 1; }
MAIL_FLAGS="--smtp smtp://localhost:$(cat "$RUN/mail.port") --mail-from bins@breckland.example --public-url https://localhost:$PORT"

cat <<MSG

  binday (development mode) on https://localhost:$PORT, demo data in $DATA

  Talk to it as Alexa would, from another terminal:
    $BIN ask --key $RUN/fake/signing/signing.key --insecure-ca $DATA/dev-tls.pem "open breckland bins"
    $BIN ask --key $RUN/fake/signing/signing.key --insecure-ca $DATA/dev-tls.pem "when is the black bin"
  (the fake cloud answers the token tok-granted with 12 High Street, Dereham, NR19 1AA;
   try --api-token tok-403, tok-204, tok-20146 or tok-slow-500ms too)

  Emailed links ("email me the link", then "yes") land in $RUN/mail/*.eml.

  Staff console: https://localhost:$STAFF_PORT/  (certificate: $DATA/dev-tls.pem)
MSG
if [ -n "$ADMIN_PW" ]; then
  cat <<MSG
    first run: sign in as admin with the password  $ADMIN_PW
    (shown this once; not stored anywhere. Add accounts with
     $BIN staff add --data $DATA --user NAME --role viewer|editor|admin)
MSG
else
  echo "    sign in with the admin account made on the first run (binday staff passwd --user admin to reset)"
fi
cat <<MSG

  Staff tools:
    $BIN lookup --data $DATA --postcode "NR19 1AA" --line "12 High Street"
    curl --cacert $DATA/dev-tls.pem https://localhost:$PORT/healthz

  Stop with Ctrl-C (in-flight requests finish first).

MSG
# shellcheck disable=SC2086
$BIN serve --dev --data "$DATA" --listen "127.0.0.1:$PORT" \
  --tls-cert "$DATA/dev-tls.pem" --tls-key "$DATA/dev-tls.key" \
  --staff-listen "127.0.0.1:$STAFF_PORT" \
  --skill-id amzn1.ask.skill.binday-dev --threads 2 $FAKE_FLAGS $MAIL_FLAGS
