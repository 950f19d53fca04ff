-- jetlab.events — real simulated events (text files as in Debian's
-- fastjet-examples) turned into jets in the ATLAS layout, so any trained
-- tagger can score them.
--
--   local events = require "jetlab.events"
--   local batch, info = events.jets({"boosted_top_event.dat"}, {r = 1.0, ptmin = 500, label = 1})
--   assert(jl.io.write_jets("real.h5", batch))   -- batch: pt/eta/phi/E (n, 200) GeV, jet_*, labels, weights
--   print(#info, info[1].file, info[1].event, info[1].pt)

local options = require "jetlab.options"

local events = {}

local CONSTITUENT_KEYS = {pt = true, eta = true, phi = true, E = true}

local DEFAULTS = {algo = "antikt", r = 1.0, ptmin = 500, max_eta = math.huge, constituents = 200, label = 0,
                  labels = options.OPTIONAL}

-- Constituent rows {pt, eta, phi, E} of one jet, hardest first, massless-safe
-- (a particle with pt == 0 has no direction in eta and is dropped).
local function constituents(particles, jet)
  local cons = {}
  for _, k in ipairs(jet.constituents) do
    local px, py, pz, e = table.unpack(particles[k])
    local pt = math.sqrt(px * px + py * py)
    if pt > 0 then
      local eta = math.log((math.sqrt(pt * pt + pz * pz) + pz) / pt) -- asinh(pz / pt)
      cons[#cons + 1] = {pt, eta, math.atan(py, px), e}
    end
  end
  table.sort(cons, function(a, b) return a[1] > b[1] end)
  return cons
end

--- events.rows(constituents) → a builder of jet rows in the ATLAS layout:
--- rows:add(particles, jet, label) appends a jet of jl.physics.cluster (particles:
--- the event's {px, py, pz, E} rows) and returns its constituent count;
--- rows:count(); rows:batch() → the batch jl.io.write_jets takes.
function events.rows(C)
  local cols = {pt = {}, eta = {}, phi = {}, E = {}, jet_pt = {}, jet_eta = {}, jet_phi = {}, jet_m = {}, labels = {}}
  local n = 0
  local rows = {}
  function rows.add(_, particles, jet, label)
    local cons = constituents(particles, jet)
    for c, key in ipairs({"pt", "eta", "phi", "E"}) do
      local row = {}
      for i = 1, C do row[i] = cons[i] and cons[i][c] or 0 end
      cols[key][n + 1] = row
    end
    n = n + 1
    cols.jet_pt[n], cols.jet_eta[n], cols.jet_phi[n], cols.jet_m[n] = jet.pt, jet.eta, jet.phi, jet.m
    cols.labels[n] = label
    return #cons
  end
  function rows.count() return n end
  function rows.batch()
    local batch = {weights = jl.ones(n)}
    for k, v in pairs(cols) do
      local dtype = k == "labels" and {dtype = "i64"} or nil
      if n > 0 then
        batch[k] = jl.tensor(v, dtype)
      elseif CONSTITUENT_KEYS[k] then
        batch[k] = jl.zeros(0, C)
      else
        batch[k] = jl.zeros(0, dtype)
      end
    end
    return batch
  end
  return rows
end

--- events.jets(files, opts) → batch, info | nil, message
--- files: an array of event-file paths. opts: algo ("antikt"), r (1.0),
--- ptmin (500 GeV), max_eta (none), constituents (200 columns), label (0) or
--- labels (an array, one label per file). Every jet of every event above ptmin
--- becomes a row; info[i] = {file=, event=, jet=, pt=, eta=, m=, n=, label=}.
function events.jets(files, opts)
  local o = options.check("events.jets", opts, DEFAULTS)
  local rows = events.rows(o.constituents)
  local info = {}
  for fi, file in ipairs(files) do
    local evs, err = jl.physics.read_events(file)
    if not evs then return nil, err end
    local label = o.labels and o.labels[fi] or o.label
    for ev, p in ipairs(evs) do
      local particles = p:tolist()
      for ji, j in ipairs(jl.physics.cluster(p, {algo = o.algo, r = o.r, ptmin = o.ptmin})) do
        if math.abs(j.eta) < o.max_eta then
          local n = rows:add(particles, j, label)
          info[#info + 1] = {file = file:match("([^/]+)$"), event = ev, jet = ji, pt = j.pt, eta = j.eta, m = j.m,
                             n = n, label = label}
        end
      end
    end
  end
  if #info == 0 then return nil, "events.jets: no jet with pt >= " .. o.ptmin .. " GeV in " .. table.concat(files, ", ") end
  return rows:batch(), info
end

return events
