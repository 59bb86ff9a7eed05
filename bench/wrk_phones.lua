-- wrk script for bench/bench_walklist.py: each wrk thread is one phone (one connection, -t N -c N),
-- sending its own bearer token (and, for the conditional phase, the ETag it holds) to its own path.
--   wrk -t16 -c16 -d8s -s bench/wrk_phones.lua http://127.0.0.1:PORT -- PHONES_FILE EXPECTED_STATUS
-- PHONES_FILE: one line per phone, "token path [etag]". Prints one line: "RESULT key=value ...".

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("slot", #threads)
end

function init(args)
   local lines = {}
   for line in io.lines(args[1]) do table.insert(lines, line) end
   local token, path, etag = lines[((slot - 1) % #lines) + 1]:match("^(%S+) (%S+) ?(%S*)$")
   local headers = {["Authorization"] = "Bearer " .. token}
   if etag ~= "" then headers["If-None-Match"] = etag end
   request_text = wrk.format("GET", path, headers)
   expected = tonumber(args[2])
   unexpected = 0
end

function request()
   return request_text
end

function response(status, headers, body)
   if status ~= expected then unexpected = unexpected + 1 end
end

function done(summary, latency, requests)
   local wrong = 0
   for _, thread in ipairs(threads) do wrong = wrong + thread:get("unexpected") end
   local errors = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d bytes=%d unexpected_status=%d socket_errors=%d " ..
      "p50_us=%d p95_us=%d p99_us=%d max_us=%d mean_us=%.1f\n",
      summary.requests, summary.duration, summary.bytes, wrong,
      errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
