-- wrk script shared by the benchmarks: optional random paths, and a one-line JSON report.
-- BENCH_PATHS=<file>: each request picks a random line of the file as its path (long tail).
local paths = nil
local file = os.getenv("BENCH_PATHS")
if file then
  paths = {}
  for line in io.lines(file) do paths[#paths + 1] = line end
  math.randomseed(os.time())
end

request = function()
  if paths then
    return wrk.format(nil, paths[math.random(#paths)])
  end
  return wrk.request()
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'REPORT {"requests": %d, "seconds": %.6f, "errors": %d, "p50": %d, "p95": %d, "p99": %d}\n',
    summary.requests, summary.duration / 1e6, errors, latency:percentile(50),
    latency:percentile(95), latency:percentile(99)))
end
