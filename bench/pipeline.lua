-- wrk script: 16-deep HTTP/1.1 pipelining. Every write carries 16 GET requests back to back;
-- wrk counts (and times) each of the 16 responses and writes the next batch once all arrived.
--   wrk -t1 -c50 -d5s --latency -s bench/pipeline.lua http://127.0.0.1:PORT/

local depth = 16

init = function(args)
  local requests = {}
  for i = 1, depth do
    requests[i] = wrk.format()
  end
  batch = table.concat(requests)
end

request = function()
  return batch
end
