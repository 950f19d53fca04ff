-- realism_table.lua — the README's realism table: for each sample (NAME=FILE.h5,
-- the reference last, e.g. Pythia), per class (signal label 1, QCD label 0),
-- the jet mass median, the mean multiplicity, the means of ln z, ln Δ, ψ,
-- ln m, ln kt of all declusterings, the primary Lund plane (declusterings per
-- jet, shape distance to the last sample; jetlab.realism) and the annulus
-- 0.8 <= ΔR < 1.0 (pT per unit area: underlying event and ISR), as Markdown rows.
--
--   jetlab bench/realism_table.lua before=gen_old.h5 after=gen_new.h5 pythia=py.h5 [jets (4000)]
local realism = require "jetlab.realism"

local usage = "usage: jetlab bench/realism_table.lua NAME=FILE.h5 [NAME=FILE.h5 ...] [jets]"
local samples, n = {}, 4000
for _, a in ipairs(arg) do
  local name, path = a:match("^([^=]+)=(.+)$")
  if name then samples[#samples + 1] = {name = name, path = path} else n = assert(math.tointeger(tonumber(a)), usage) end
end
assert(#samples > 0, usage)

for _, s in ipairs(samples) do
  local f = assert(jl.io.open_jets(s.path))
  s.d = realism.describe(assert(f:read(1, math.min(n, f:count()))))
  f:close()
end
local ref = samples[#samples].d

local header = {"class", "sample", "jets", "mass q50", "mult", "ln z", "ln Δ", "ψ", "ln m", "ln kt", "primaries",
                "plane dist.", "annulus GeV"}
print("| " .. table.concat(header, " | ") .. " |")
print("|" .. string.rep(" --- |", #header))
for _, c in ipairs(realism.CLASSES) do
  for _, s in ipairs(samples) do
    local d = s.d[c.label]
    if d and d.jets > 0 then
      local f = d.features
      print(string.format("| %s | %s | %d | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.3f | %.2f |",
                          c.name, s.name, d.jets, d.mass.q50, d.mult.mean, f.ln_z.mean, f.ln_delta.mean, f.psi.mean,
                          f.ln_m.mean, f.ln_kt.mean, d.primaries, realism.plane_distance(d.plane, ref[c.label].plane),
                          d.ue_pt))
    end
  end
end
