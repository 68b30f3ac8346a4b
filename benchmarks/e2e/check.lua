-- wrk script: cycle through the paths given as arguments and count every
-- response that is not application/problem+json (the 200 route excepted).
local paths, counter, threads = {}, 0, {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  paths = args
  counter = 0
  bad = 0
  total = 0
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

function response(status, headers, body)
  total = total + 1
  local kind = headers["content-type"] or headers["Content-Type"] or ""
  if status >= 400 and kind ~= "application/problem+json" then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total, all_total = 0, 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    all_total = all_total + thread:get("total")
  end
  io.write(string.format("checked %d responses, %d not problems\n", all_total, bad_total))
  io.write(string.format("latency p50 %d p99 %d\n", latency:percentile(50), latency:percentile(99)))
end
