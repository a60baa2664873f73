-- The benchmark's wrk script: sends, round robin, the requests listed in a file, one per
-- line as METHOD<TAB>PATH<TAB>AUTHORIZATION<TAB>BODY (empty fields allowed), each thread
-- from its own offset and, when several nodes are given, each thread to its own node.
-- At the end it prints one line the benchmark parses; wrk has already corrected the
-- latency histogram for coordinated omission by then.
--
-- Environment: USERPLANE_WRK_REQUESTS (the file), USERPLANE_WRK_THREADS (wrk's -t),
-- USERPLANE_WRK_NODES (optional, "host:port,host:port": thread i goes to node i mod n).

local thread_count = 0

function setup(thread)
  local nodes = {}
  for node in string.gmatch(os.getenv("USERPLANE_WRK_NODES") or "", "[^,]+") do
    nodes[#nodes + 1] = node
  end
  if #nodes > 0 then
    local host, port = string.match(nodes[(thread_count % #nodes) + 1], "^(.*):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
  end
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local requests = {}
local next_index = 0

function init(args)
  for line in io.lines(os.getenv("USERPLANE_WRK_REQUESTS")) do
    local method, path, authorization, body = string.match(line, "^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    if authorization ~= "" then
      headers["Authorization"] = authorization
    end
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/json"
    end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  local threads = tonumber(os.getenv("USERPLANE_WRK_THREADS") or "1")
  next_index = math.floor(#requests * thread_index / threads)
end

function request()
  next_index = (next_index % #requests) + 1
  return requests[next_index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "userplane-wrk requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
