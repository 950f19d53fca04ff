-- jetlab.pythia.select — the jets a Pythia event contributes, as in the anchors'
-- runs: the two hardest anti-kt jets with |y| < eta, each kept when its pT is
-- in [lo, hi).
--
--   local select = require "jetlab.pythia.select"
--   local rows = require("jetlab.events").rows(200)
--   select.jets(rows, particles, {r = 1.0, eta = 2.5, lo = 500, hi = math.huge}, 1)

local select = {}

--- select.jets(rows, particles, o, label) adds the event's selected jets to rows
--- (jetlab.events.rows); particles: {{px, py, pz, E}, ...} GeV; o: r, eta, lo, hi.
function select.jets(rows, particles, o, label)
  if #particles == 0 then return end
  local taken = 0
  -- jets below lo cannot be among the two hardest in the window, so they are not made
  for _, j in ipairs(jl.physics.cluster(jl.tensor(particles), {r = o.r, ptmin = o.lo})) do
    if math.abs(j.y) < o.eta then
      if j.pt < o.hi then rows:add(particles, j, label) end
      taken = taken + 1
      if taken == 2 then return end
    end
  end
end

return select
