-- wrk script: POST the bodies of BODIES (one JSON per line) to PATH in turn; at the end print
-- one line "RESULT requests rps p50_ms p99_ms errors".
local path = os.getenv("BENCH_PATH")
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  counter = counter + 1
  return wrk.format(nil, path, nil, bodies[(counter % #bodies) + 1])
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %.2f %.2f %.2f %d\n", summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
