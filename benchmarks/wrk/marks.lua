-- wrk script for the HTTP workloads: prints the runner's window markers, so the server's
-- CPU time is sampled over wrk's run only (not the warmup run before it).
--   setup(): called once per wrk thread before any connection is opened -> "#mark start"
--   done():  called after the threads have stopped (and the summary is out) -> "#mark end"
-- Each line is flushed at once: wrk's stdout is a pipe, fully buffered otherwise.
-- pipeline.lua loads this file and adds pipelining on top.

local started = false

function setup(thread)
   if not started then
      started = true
      io.write("#mark start\n")
      io.flush()
   end
end

function done(summary, latency, requests)
   io.write("#mark end\n")
   io.flush()
end
