-- jetlab.pythia.select — the jets a Pythia event contributes, as in the anchors'
-- runs: the two hardest anti-kt jets with |y| < eta, each kept when its pT is
-- in [lo, hi). With truth (the event's decay quarks, jetlab.pythia.workers), a
-- jet is kept only when every decay quark of one top or W lies within ΔR <
-- jl.gen.containment × R of its axis (rapidity–azimuth distance): the truth
-- containment of the ATLAS Top Tagging labels and of the built-in generator.
--
--   local select = require "jetlab.pythia.select"
--   local rows = require("jetlab.events").rows(200)
--   select.jets(rows, particles, {r = 1.0, eta = 2.5, lo = 500, hi = math.huge}, 1)

local select = {}

-- True when every quark of some group of truth ({{group, y, phi}, ...}) is within
-- ΔR < radius of the jet's axis.
local function contained(jet, truth, radius)
  local out = {}
  for _, q in ipairs(truth) do
    local dphi = math.abs(q[3] - jet.phi) % (2 * math.pi)
    dphi = math.min(dphi, 2 * math.pi - dphi)
    if (q[2] - jet.y) ^ 2 + dphi ^ 2 >= radius ^ 2 then out[q[1]] = true end
  end
  for _, q in ipairs(truth) do
    if not out[q[1]] then return true end
  end
  return false
end

--- select.jets(rows, particles, o, label) adds the event's selected jets to rows
--- (jetlab.events.rows); particles: {{px, py, pz, E}, ...} GeV, with .truth when
--- the jets are to be truth-matched; o: r, eta, lo, hi.
function select.jets(rows, particles, o, label)
  if #particles == 0 then return end
  local truth = particles.truth
  local taken = 0
  -- jets below lo cannot be among the two hardest in the window, so they are not made
  for _, j in ipairs(jl.physics.cluster(jl.tensor(particles), {r = o.r, ptmin = o.lo})) do
    if math.abs(j.y) < o.eta then
      if j.pt < o.hi and (not truth or contained(j, truth, jl.gen.containment * o.r)) then
        rows:add(particles, j, label)
      end
      taken = taken + 1
      if taken == 2 then return end
    end
  end
end

return select
