-- alexa.lua - wrk script for make bench: POST /alexa rotating through a batch of
-- pre-signed requests written by bench/signreq (one "<signature>\t<body>" a line).
--
--   wrk ... -s bench/alexa.lua https://127.0.0.1:PORT/alexa -- REQUESTS_FILE [DELAY_MS] [CERT_URL]
--
-- DELAY_MS (optional, > 0) makes every connection wait that long after each
-- response before sending its next request: an open-ish rate of
-- connections / (DELAY_MS + latency) used for the "p99 at half the maximum
-- throughput" run. done() prints one machine-readable line (BENCH ...) that
-- bench/bench.py parses, including p99.9, which wrk's --latency table lacks.

local reqs = {}
local n = 0
local i = 0
local pause = 0

function init(args)
  local file = args[1]
  pause = tonumber(args[2] or "0") or 0
  local cert_url = args[3] or "https://s3.amazonaws.com/echo.api/binday-dev.pem"
  -- each wrk thread starts at a different offset so threads do not send the
  -- same request at the same moment
  for line in io.lines(file) do
    local sig, body = line:match("^([^\t]+)\t(.*)$")
    if sig then
      n = n + 1
      reqs[n] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json; charset=utf-8",
        ["SignatureCertChainUrl"] = cert_url,
        ["Signature-256"] = sig,
      }, body)
    end
  end
  if n == 0 then
    error("no requests in " .. tostring(file))
  end
  i = math.random(n) - 1
  -- wrk checks for a global delay() after init(); defining it only when asked
  -- keeps the maximum-throughput runs free of a timer per request
  if pause > 0 then
    delay = function() return pause end
  end
end

function request()
  i = i % n + 1
  return reqs[i]
end


function done(summary, latency, requests)
  local s = summary
  local secs = s.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d " ..
    "mean_us=%.1f non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
    s.requests, secs, s.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, s.errors.status, s.errors.connect, s.errors.read, s.errors.write,
    s.errors.timeout))
end
