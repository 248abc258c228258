-- wrk script for scripts/bench/rollout_bench.py: a fixed request rate
-- (delay() paces each connection; run it with as many threads as
-- connections, so each thread has one connection and its request() and
-- response() calls alternate), and every answer kept with the monotonic
-- time it came, its latency and its status. done() writes them to
-- $ROLLOUT_BENCH_OUT as "end_us latency_us status" lines, then one
-- "errors connect read write status timeout" line of wrk's own counts,
-- so the driver can split them into before and during the rollout.
--
-- Environment: ROLLOUT_BENCH_RATE (requests per second per connection),
-- ROLLOUT_BENCH_CONNECTIONS (to spread their starts), ROLLOUT_BENCH_OUT
-- (the output file), ROLLOUT_BENCH_PATH (default /).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } rollout_bench_timespec;
  int clock_gettime(int clock_id, rollout_bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1 -- the clock of Python's time.monotonic() on Linux
local ts = ffi.new("rollout_bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local interval_ms, next_at_ms, sent_at_us
answers = {}
non_2xx = 0

function init(args)
  local rate = tonumber(os.getenv("ROLLOUT_BENCH_RATE") or "50")
  interval_ms = 1000 / rate
  -- Spread the connections' first requests over one interval.
  local connections = tonumber(os.getenv("ROLLOUT_BENCH_CONNECTIONS") or "1")
  next_at_ms = now_us() / 1000 + interval_ms * (index or 0) / connections
  wrk.path = os.getenv("ROLLOUT_BENCH_PATH") or "/"
  wrk.headers["Connection"] = "keep-alive"
end

function delay()
  local now_ms = now_us() / 1000
  local wait = next_at_ms - now_ms
  next_at_ms = next_at_ms + interval_ms
  if wait < 0 then
    -- Behind (a slow answer): send now, but do not burst to catch up.
    if next_at_ms < now_ms then next_at_ms = now_ms + interval_ms end
    wait = 0
  end
  return math.floor(wait)
end

function request()
  sent_at_us = now_us()
  return wrk.format(nil)
end

function response(status, headers, body)
  local now = now_us()
  if status < 200 or status > 299 then non_2xx = non_2xx + 1 end
  table.insert(answers, string.format("%d %d %d", now, now - (sent_at_us or now), status))
end

function done(summary, latency, requests)
  local out = assert(io.open(assert(os.getenv("ROLLOUT_BENCH_OUT"), "ROLLOUT_BENCH_OUT unset"), "w"))
  for _, thread in ipairs(threads) do
    for _, line in ipairs(thread:get("answers")) do
      out:write(line, "\n")
    end
  end
  local e = summary.errors
  out:write(string.format("errors %d %d %d %d %d\n", e.connect, e.read, e.write, e.status, e.timeout))
  out:close()
end
