-- Shared by every bench script (prepended by scenarios/bench/http_load.py): each thread
-- counts its outcomes in the global table `counts`; done() sums them over the threads and
-- prints one line "BENCH {json}" that the bench parses.
counts = {}
local threads = {}
local thread_count = 0

function count(name)
  counts[name] = (counts[name] or 0) + 1
end

function setup(thread)
  thread:set("thread_index", thread_count)
  thread:set("thread_total", wrk_threads)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for name, n in pairs(thread:get("counts") or {}) do
      total[name] = (total[name] or 0) + n
    end
  end
  local parts = {}
  for name, n in pairs(total) do
    table.insert(parts, string.format('"%s": %d', name, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d,'
      .. ' "p50_us": %d, "p99_us": %d, "counts": {%s}}\n',
    summary.requests, summary.duration,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status,
    latency:percentile(50), latency:percentile(99), table.concat(parts, ", ")))
end
