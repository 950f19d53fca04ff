-- jetlab convert — real simulated events (text files as in Debian's
-- fastjet-examples) into jets in the ATLAS layout, so any trained tagger can
-- score them.
--
--   jetlab convert --events boosted_top_event.dat --r 1.0 --ptmin 500 --label 1 -o jets.h5

local cli = require "jetlab.cli"
local events = require "jetlab.events"
local json = require "jetlab.json"

local spec = {
  name = "jetlab convert",
  usage = "jetlab convert --events FILE.dat [--algo antikt] [--r R] [--ptmin PT] [--max-eta E]\n" ..
          "                      [--label 0|1] --o OUT.h5",
  about = "Clusters every event of FILE.dat (`px py pz E` per line, GeV, `#END` between events) with the\n" ..
          "generalised-kt algorithm and writes every jet with pt >= PT in the ATLAS Top Tagging layout\n" ..
          "(fjet_clus_pt/eta/phi/E (N, 200) MeV sorted by decreasing pT, fjet_pt/eta/phi/m, labels,\n" ..
          "training_weights = 1), written to a temporary file and renamed. Prints the jets written.",
  options = {
    {"events", "string", help = "event file", required = true},
    {"algo", "string", "antikt", help = "jet algorithm", choices = {"antikt", "cambridge", "kt"}},
    {"r", "number", 1.0, help = "jet radius R"},
    {"ptmin", "number", 500, help = "keep jets with pt >= ptmin (GeV)"},
    {"max-eta", "number", math.huge, help = "keep jets with |eta| < max-eta"},
    {"label", "number", 0, help = "label of every jet (1 signal, 0 background)"},
    {"o", "string", help = "output HDF5 file", required = true},
  },
}

local opts = cli.parse_or_exit(arg, spec)
if #opts > 0 then
  io.stderr:write("jetlab convert: unexpected argument '" .. opts[1] .. "' (see --help)\n")
  os.exit(2)
end
if opts.label ~= 0 and opts.label ~= 1 then
  io.stderr:write("jetlab convert: --label must be 0 or 1 (see --help)\n")
  os.exit(2)
end

local batch, info = events.jets({opts.events}, {algo = opts.algo, r = opts.r, ptmin = opts.ptmin,
                                                max_eta = opts["max-eta"], label = opts.label})
local ok, err = batch, info
if batch then ok, err = jl.io.write_jets(opts.o, batch) end
if not ok then
  io.stderr:write("jetlab convert: " .. err .. "\n")
  os.exit(1)
end
local jet_object = json.ordered{"event", "pt", "eta", "m", "n", "label"}
for _, j in ipairs(info) do
  print(json.encode(jet_object{event = j.event, pt = j.pt, eta = j.eta, m = j.m, n = j.n, label = j.label}, {digits = 6}))
end
io.stderr:write(string.format("jetlab convert: %d jets written to %s\n", #info, opts.o))
