-- alexa.lua - wrk script for make bench: POST /alexa rotating through a batch of
-- pre-signed requests written by bench/signreq (one "<signature>\t<body>" a line).
--
--   wrk ... -s bench/alexa.lua https://127.0.0.1:PORT/alexa -- REQUESTS_FILE [DELAY_MS] [CERT_URL] [persec]
--
-- DELAY_MS (optional, > 0) makes every connection wait that long after each
-- response before sending its next request: an open-ish rate of
-- connections / (DELAY_MS + latency) used for the "p99 at half the maximum
-- throughput" run. done() prints one machine-readable line (BENCH ...) that
-- bench/bench.py parses, including p99.9, which wrk's --latency table lacks.
-- "persec" (optional) also counts the responses completed in each wall-clock
-- second (os.time(), the clock bench.py samples the server's CPU time on) and
-- prints them (BENCHSEC second:count ...), so a measured window can leave out
-- the seconds in which the connections (and their TLS handshakes) were made.

local reqs = {}
local n = 0
local i = 0
local pause = 0
local threads = {}  -- main state: the threads, for done()
persec = nil        -- thread state: second -> responses (global: thread:get)

function setup(thread)
  table.insert(threads, thread)
end

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
  -- likewise response(): wrk parses the headers and body for Lua only when
  -- it is defined
  if args[4] == "persec" then
    persec = {}
    response = function()
      local s = os.time()
      persec[s] = (persec[s] or 0) + 1
    end
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
  local agg, keys = {}, {}
  for _, t in ipairs(threads) do
    local c = t:get("persec")
    if c then
      for k, v in pairs(c) do
        if agg[k] == nil then table.insert(keys, k) end
        agg[k] = (agg[k] or 0) + v
      end
    end
  end
  if #keys > 0 then
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do table.insert(parts, string.format("%d:%d", k, agg[k])) end
    io.write("BENCHSEC " .. table.concat(parts, " ") .. "\n")
  end
end
