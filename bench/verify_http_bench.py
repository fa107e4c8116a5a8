#!/usr/bin/python3
"""verify_http_bench.py - signed POST /alexa through the real release binary on
ONE server thread over HTTPS keep-alive (wrk), and the latency a certificate
cache miss adds (chain fetched from a local fake S3 over TLS), next to a
cached request. Needs the server to route POST /alexa through verify.

usage: verify_http_bench.py BINDAY_BINARY [SECONDS]
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ["BINDAY_BIN"] = os.path.abspath(sys.argv[1])

import alexa_pki  # noqa: E402
import fake_s3  # noqa: E402
import harness  # noqa: E402

harness.BIN = os.path.abspath(sys.argv[1])
SKILL = "amzn1.ask.skill.bench"
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def body_and_sig(key, age=0):
    import datetime
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=age)
    b = ('{"version":"1.0","session":{"new":false,"sessionId":"amzn1.echo-api.session.1","application":'
         '{"applicationId":"%s"},"attributes":{},"user":{"userId":"amzn1.ask.account.%s"}},"context":{"System":'
         '{"application":{"applicationId":"%s"},"user":{"userId":"amzn1.ask.account.%s"},"device":{"deviceId":'
         '"amzn1.ask.device.X","supportedInterfaces":{}},"apiEndpoint":"https://api.eu.amazonalexa.com",'
         '"apiAccessToken":"%s"}},"request":{"type":"IntentRequest","requestId":"amzn1.echo-api.request.1",'
         '"timestamp":"%s","locale":"en-GB","intent":{"name":"AMAZON.HelpIntent","confirmationStatus":"NONE"}}}'
         % (SKILL, "A" * 200, SKILL, "A" * 200, "e" * 1300, t.strftime("%Y-%m-%dT%H:%M:%SZ"))).encode()
    return b, alexa_pki.sign(b, key)


def main():
    with harness.tempdir("binday-vhb-") as d:
        pki = harness.server_cert(d)
        apki = alexa_pki.make_pki(os.path.join(d, "alexa"))
        for i in range(12):
            shutil.copy(os.path.join(apki, "chain_good.pem"), os.path.join(apki, "miss%d.pem" % i))
        key = os.path.join(apki, "good.key")
        s3, port = fake_s3.start(apki)
        try:
            extra = ["--alexa-ca", os.path.join(apki, "root.pem"), "--upstream-ca", os.path.join(apki, "tls_root.pem"),
                     "--connect-to", "s3.amazonaws.com:443:127.0.0.1:%d" % port, "--log-level", "warn"]
            with harness.Server(d, pki, skill_ids=(SKILL,), extra=extra, threads=1) as srv:
                url = "https://s3.amazonaws.com/echo.api/chain_good.pem"
                b, sig = body_and_sig(key)
                conn = srv.connection()
                st, _, _ = srv.request("POST", "/alexa", b, {"SignatureCertChainUrl": url, "Signature-256": sig},
                                       conn=conn)
                if st in (404, 405):
                    print("http_bench=skipped (POST /alexa is not routed by this binary)")
                    return 0
                if st != 200:
                    print("http_bench=failed (status %d)" % st)
                    return 1
                cached, miss = [], []
                for i in range(12):
                    t0 = time.perf_counter()
                    srv.request("POST", "/alexa", b, {"SignatureCertChainUrl": url, "Signature-256": sig}, conn=conn)
                    cached.append(time.perf_counter() - t0)
                    u = "https://s3.amazonaws.com/echo.api/miss%d.pem" % i
                    t0 = time.perf_counter()
                    st, _, _ = srv.request("POST", "/alexa", b, {"SignatureCertChainUrl": u, "Signature-256": sig},
                                           conn=conn)
                    miss.append(time.perf_counter() - t0)
                    if st != 200:
                        print("cache miss request failed: %d" % st)
                        return 1
                conn.close()
                mc, mm = statistics.median(cached) * 1e3, statistics.median(miss) * 1e3
                print("latency_cached_ms=%.2f latency_cache_miss_ms=%.2f added_by_miss_ms=%.2f "
                      "(local fake S3 over TLS; add real S3 RTTs in production)" % (mc, mm, mm - mc))
                lua = os.path.join(d, "post.lua")
                bodyf = os.path.join(d, "body.json")
                with open(bodyf, "wb") as f:
                    f.write(b)
                with open(lua, "w") as f:
                    f.write('wrk.method = "POST"\nlocal f = io.open("%s", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
                            'wrk.headers["Content-Type"] = "application/json"\n'
                            'wrk.headers["SignatureCertChainUrl"] = "%s"\nwrk.headers["Signature-256"] = "%s"\n'
                            % (bodyf, url, sig))
                out = subprocess.run(["wrk", "-t1", "-c8", "-d%ds" % SECONDS, "-s", lua,
                                      "https://127.0.0.1:%d/alexa" % srv.port],
                                     stdout=subprocess.PIPE, universal_newlines=True).stdout
                rps = [l for l in out.splitlines() if "Requests/sec" in l]
                bad = [l for l in out.splitlines() if "Non-2xx" in l]
                print("wrk -t1 -c8 -d%ds, 1 server thread, keep-alive, body %d bytes:" % (SECONDS, len(b)))
                print("  " + (rps[0].strip() if rps else "no result"))
                if bad:
                    print("  WARNING " + bad[0].strip())
        finally:
            s3.kill()
            s3.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
