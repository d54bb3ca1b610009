-- tshark's own display filters, many in one read of a capture: each line of
-- the file named by WIRELAB_FILTERS becomes a tap with that filter, and
-- every frame it matches is printed as "LINE<TAB>FRAME" (LINE from 1).
-- The filters are tshark's, evaluated by its own engine, as -Y would.
-- tests/it/filter.rs: tshark -q -X lua_script:tests/tshark-filters.lua -r FILE
local path = os.getenv("WIRELAB_FILTERS")
assert(path, "WIRELAB_FILTERS names the file of filters, one per line")
local n = 0
for line in io.lines(path) do
  n = n + 1
  local k = n
  local tap = Listener.new(nil, line)
  function tap.packet(pinfo)
    io.write(k, "\t", pinfo.number, "\n")
  end
end
