-- jetlab cluster — clusters the events of a text file into jets and prints
-- one JSON line per jet.
--
--   jetlab cluster --events boosted_top_event.dat --algo antikt --r 1.0 --ptmin 500

local cli = require "jetlab.cli"
local json = require "jetlab.json"

local spec = {
  name = "jetlab cluster",
  usage = "jetlab cluster --events FILE.dat [--algo antikt|cambridge|kt] [--r R] [--ptmin PT] [--constituents]",
  about = "Clusters every event of FILE.dat (`px py pz E` per line in GeV, extra columns ignored,\n" ..
          "`#` comments, `#END` between events: the format of Debian's fastjet-examples) with the\n" ..
          "generalised-kt algorithm (E-scheme, FastJet's conventions) and prints one JSON line per\n" ..
          "inclusive jet with pt >= PT, hardest first within each event:\n" ..
          "  {\"event\":1,\"pt\":..,\"eta\":..,\"phi\":..,\"m\":..,\"n\":constituents}\n" ..
          "event numbers are 1-based (the first event in the file is 1); phi is in [0, 2pi);\n" ..
          "pt and m in GeV; m = sqrt(max(m^2, 0)).",
  options = {
    {"events", "string", help = "event file", required = true},
    {"algo", "string", "antikt", help = "jet algorithm", choices = {"antikt", "cambridge", "kt"}},
    {"r", "number", 1.0, help = "jet radius R"},
    {"ptmin", "number", 0, help = "keep jets with pt >= ptmin (GeV)"},
    {"constituents", "boolean", false,
     help = "add \"constituents\":[...], the 1-based positions of the jet's particles within its event"},
  },
}

local opts = cli.parse_or_exit(arg, spec)
if #opts > 0 then
  io.stderr:write("jetlab cluster: unexpected argument '" .. opts[1] .. "' (see --help)\n")
  os.exit(2)
end
if not (opts.r > 0) then
  io.stderr:write("jetlab cluster: --r must be > 0 (see --help)\n")
  os.exit(2)
end
if not (opts.ptmin >= 0) then
  io.stderr:write("jetlab cluster: --ptmin must be >= 0 (see --help)\n")
  os.exit(2)
end

local jets, err = jl.physics.cluster_file(opts.events, {algo = opts.algo, r = opts.r, ptmin = opts.ptmin})
if not jets then
  io.stderr:write("jetlab cluster: " .. err .. "\n")
  os.exit(1)
end

local jet_object = json.ordered{"event", "pt", "eta", "phi", "m", "n", "constituents"}
local out = {}
for _, j in ipairs(jets) do
  out[#out + 1] = json.encode(jet_object{event = j.event, pt = j.pt, eta = j.eta, phi = j.phi, m = j.m, n = j.n,
    constituents = opts.constituents and json.array(j.constituents) or nil}, {digits = 12})
end
if #out > 0 then io.write(table.concat(out, "\n"), "\n") end
