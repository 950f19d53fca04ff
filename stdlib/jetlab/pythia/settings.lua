-- jetlab.pythia.settings — the Pythia 8 settings of `jetlab gen --engine pythia`:
-- by default those of the runs that made the LundNet papers' data (seed 2's
-- data; run headers in shared/anchors/jetsgame-runs/): tune 4C, pp at 14 TeV,
-- π0 and weakly decaying B hadrons stable, MPI on, tt̄ → hadrons, WW → quarks,
-- QCD dijets.
--
--   local settings = require "jetlab.pythia.settings"
--   local lines = settings.lines("top", {tune = 5, ecm = 14, pthatmin = 400, pi0_decays = false, b_decays = false})
--   print(settings.pthatmin_for(500), settings.pthatmin_for(2000))   --> 400.0  1800.0

local settings = {}

-- The hard processes, by --signal name ("qcd" is the background).
local PROCESSES = {
  top = {"Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"},
  w = {"WeakDoubleBoson:ffbar2WW = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"},
  qcd = {"HardQCD:all = on"},
}

-- Weakly decaying B hadrons, kept stable as in the anchors' runs ("B decay 0").
local B_HADRONS = {511, 521, 531, 541, 5122, 5132, 5232, 5332}

--- settings.lines(process, o) → the Pythia setting lines for process ("top",
--- "w" or "qcd"); o: tune (Tune:pp), ecm (TeV), pthatmin (GeV), pi0_decays,
--- b_decays (booleans). Random seeds are the worker's business.
function settings.lines(process, o)
  local lines = {
    string.format("Beams:eCM = %.17g", o.ecm * 1000),
    string.format("Tune:pp = %d", o.tune),
    "PartonLevel:MPI = on",
    string.format("PhaseSpace:pTHatMin = %.17g", o.pthatmin),
  }
  if not o.pi0_decays then lines[#lines + 1] = "111:mayDecay = off" end
  if not o.b_decays then
    for _, id in ipairs(B_HADRONS) do lines[#lines + 1] = id .. ":mayDecay = off" end
  end
  for _, line in ipairs(assert(PROCESSES[process], "unknown process " .. tostring(process))) do
    lines[#lines + 1] = line
  end
  return lines
end

--- settings.pthatmin_for(ptmin) → the default PhaseSpace:pTHatMin (GeV) for jets
--- above ptmin: ptmin - max(100, ptmin / 10), at least ptmin / 2 — the anchors'
--- 400 GeV for 500 GeV jets and 1800 GeV for 2 TeV jets.
function settings.pthatmin_for(ptmin)
  return math.max(ptmin / 2, ptmin - math.max(100, ptmin / 10))
end

return settings
