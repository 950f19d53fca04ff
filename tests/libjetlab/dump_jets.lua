-- dump_jets.lua — the jets of an ATLAS-layout file as text for score_jets.cc
-- (which links libjetlab only, not HDF5): a line "N", then one line per jet,
-- its real constituents' count followed by pt eta phi E of each (%.9g: the
-- f32 values exactly), in the file's order.
--   jetlab tests/libjetlab/dump_jets.lua JETS.h5 OUT.txt
local jl = require "jetlab"

local f = assert(jl.io.open_jets(arg[1]))
local r = assert(f:read(1, f:count()))
local pt, eta, phi, E = r.pt:tolist(), r.eta:tolist(), r.phi:tolist(), r.E:tolist()
local out = assert(io.open(arg[2], "w"))
out:write(#pt, "\n")
for i = 1, #pt do
  local row = {}
  for j = 1, #pt[i] do
    if pt[i][j] > 0 then
      row[#row + 1] = string.format("%.9g %.9g %.9g %.9g", pt[i][j], eta[i][j], phi[i][j], E[i][j])
    end
  end
  out:write(#row, #row > 0 and " " or "", table.concat(row, " "), "\n")
end
out:close()
print(string.format("dump_jets: %d jets → %s", #pt, arg[2]))
