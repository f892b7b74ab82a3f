-- wrk script for `make bench` (scripts/bench/run.py sets the environment it reads).
--
-- BENCH_MODE     static (default): one fixed request (BENCH_METHOD, BENCH_BODY, BENCH_AUTH)
--                refresh: token rotation; each thread keeps a pool of refresh tokens (BENCH_TOKENS, one per line)
--                         and every answer's new refresh token goes back into the pool
--                flood:   wrong-password logins for rotating emails (BENCH_FLOOD_EMAILS), paced to BENCH_RATE
--                         requests per second over all connections
-- BENCH_OUT      where done() writes the JSON summary (latencies in microseconds)
-- BENCH_THREADS, BENCH_CONNECTIONS  the -t and -c given to wrk (for token partitioning and pacing)

local mode = os.getenv("BENCH_MODE") or "static"
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local connections = tonumber(os.getenv("BENCH_CONNECTIONS") or "1")

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.headers["Accept"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. auth
end
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
end
if (body and body ~= "") or mode ~= "static" then
  wrk.headers["Content-Type"] = "application/json"
end

-- main state: number the threads so each one takes its own share of the refresh tokens
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      table.insert(lines, line)
    end
  end
  return lines
end

-- thread states: per-status counters, read back in done()
statuses = {}
local function count(status)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

if mode == "refresh" then
  local pool = {}
  function init(args)
    local all = read_lines(os.getenv("BENCH_TOKENS"))
    for i, token in ipairs(all) do
      if (i - 1) % nthreads == tid then
        table.insert(pool, token)
      end
    end
  end
  function request()
    -- an empty pool (only after failures) sends a token the server refuses: it counts as an error
    local token = table.remove(pool) or "exhausted"
    return wrk.format("POST", nil, nil, '{"refresh":"' .. token .. '"}')
  end
  function response(status, headers, resp_body)
    count(status)
    if status == 200 then
      local token = string.match(resp_body, '"refresh"%s*:%s*"([^"]+)"')
      if token then
        table.insert(pool, token)
      end
    end
  end
elseif mode == "flood" then
  local emails = {}
  local n = 0
  function init(args)
    emails = read_lines(os.getenv("BENCH_FLOOD_EMAILS"))
    n = tid
  end
  function request()
    n = n + 1
    local email = emails[(n % #emails) + 1]
    return wrk.format("POST", nil, nil, '{"email":"' .. email .. '","password":"wrong-password-' .. n .. '"}')
  end
  function response(status, headers, resp_body)
    count(status)
  end
end

-- BENCH_RATE paces any mode: each connection waits connections/rate seconds between its requests
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
if rate > 0 then
  local pause = math.floor(1000 * connections / rate)
  function delay()
    return pause
  end
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    if counts then
      for status, value in pairs(counts) do
        merged[status] = (merged[status] or 0) + value
      end
    end
  end
  local parts = {}
  for status, value in pairs(merged) do
    table.insert(parts, string.format('"%s":%d', status, value))
  end
  local e = summary.errors
  local out = io.open(os.getenv("BENCH_OUT"), "w")
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,'
      .. '"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    table.concat(parts, ",")
  ))
  out:close()
end
