-- wrk script: every connection sends DEPTH requests back to back, then waits for the
-- DEPTH responses before sending the next batch (HTTP/1.1 pipelining).
--   wrk -s pipeline.lua http://host:port/ -- DEPTH        (DEPTH defaults to 16)
-- The window markers of marks.lua (same directory) are kept.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "marks.lua")

local batch

function init(args)
   local depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format()
   end
   batch = table.concat(r)
end

function request()
   return batch
end
