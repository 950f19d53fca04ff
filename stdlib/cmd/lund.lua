-- jetlab lund — Lund-plane declustering of jets, one JSON line per jet.
--
--   jetlab lund --events Pythia-PtMin1000-LHC-10ev.dat --r 1.0 --ptmin 500
--   jetlab lund --h5 train.h5 --max-jets 100 --ln-kt-min -1

local cli = require "jetlab.cli"
local json = require "jetlab.json"

local spec = {
  name = "jetlab lund",
  usage = "jetlab lund (--events FILE.dat [--r R] [--ptmin PT] | --h5 FILE.h5 [--max-jets N]) [--ln-kt-min X]",
  about = "Re-clusters each jet's constituents with Cambridge/Aachen and declusters the tree along\n" ..
          "both branches (primary and secondary Lund planes); prints one JSON line per jet:\n" ..
          "  {\"event\":1,\"pt\":..,\"m\":..,\"n\":constituents,\"nodes\":[[parent,lnz,lnDelta,psi,lnm,lnkt],...]}\n" ..
          "nodes depth-first, harder branch first; parent is the 0-based position of the parent\n" ..
          "node in the list, -1 for the root. With j1 the harder and j2 the softer branch (by pt),\n" ..
          "y the rapidity: Delta = sqrt(dy^2 + dphi^2), z = pt2/(pt1+pt2), kt = pt2 Delta,\n" ..
          "m = m(j1+j2), psi = atan((y2-y1)/(phi2-phi1)) with phi2-phi1 in (-pi, pi]; logarithms\n" ..
          "of values below 1e-12 are those of 1e-12 (core/jl_lund.h). With --ln-kt-min, a\n" ..
          "declustering with ln kt below it is no node and only its harder branch is followed.\n" ..
          "--events: anti-kt jets of FILE.dat (as `jetlab cluster`), event = 1-based event, pt\n" ..
          "and m of the jet, values in double precision. --h5: the jets of an ATLAS-layout or\n" ..
          "PyTables file, event = 1-based jet number, pt and m = the file's jet pt and mass,\n" ..
          "node features as LundNet gets them (f32). GeV throughout.",
  options = {
    {"events", "string", help = "event file (px py pz E per line, #END between events)"},
    {"h5", "string", help = "jets file in HDF5 (ATLAS or PyTables layout)"},
    {"r", "number", 1.0, help = "anti-kt radius R (--events)"},
    {"ptmin", "number", 0, help = "keep anti-kt jets with pt >= PT, GeV (--events)"},
    {"max-jets", "integer", 0, help = "first N jets of the file, 0 for all (--h5)"},
    {"ln-kt-min", "number", help = "drop declusterings with ln(kt/GeV) below this, following the harder branch"},
  },
}

local function usage(msg)
  io.stderr:write("jetlab lund: " .. msg .. " (see --help)\n")
  os.exit(2)
end

local opts = cli.parse_or_exit(arg, spec)
if #opts > 0 then usage("unexpected argument '" .. opts[1] .. "'") end
if (opts.events == nil) == (opts.h5 == nil) then usage("give exactly one of --events and --h5") end
if not (opts.r > 0) then usage("--r must be > 0") end
if not (opts.ptmin >= 0) then usage("--ptmin must be >= 0") end
if opts["max-jets"] < 0 then usage("--max-jets must be >= 0") end
local ln_kt_min = opts["ln-kt-min"]

-- One jet as a JSON line; nodes are arrays {parent, lnz, lnDelta, psi, lnm, lnkt}, floats with digits digits.
local jet_object = json.ordered{"event", "pt", "m", "n", "nodes"}
local function jet_line(event, pt, m, n, nodes, digits)
  return json.encode(jet_object{event = event, pt = pt, m = m, n = n, nodes = json.array(nodes)}, {digits = digits})
end

local out = {}
local function flush()
  if #out > 0 then io.write(table.concat(out, "\n"), "\n") end
  out = {}
end

if opts.events then
  local jets, err = jl.lund.events(opts.events, {r = opts.r, ptmin = opts.ptmin, ln_kt_min = ln_kt_min})
  if not jets then
    io.stderr:write("jetlab lund: " .. err .. "\n")
    os.exit(1)
  end
  for _, j in ipairs(jets) do
    local nodes = {}
    for i, nd in ipairs(j.nodes) do nodes[i] = {nd.parent - 1, nd.ln_z, nd.ln_delta, nd.psi, nd.ln_m, nd.ln_kt} end
    out[#out + 1] = jet_line(j.event, j.pt, j.m, j.n, nodes, 17)
  end
  flush()
  return
end

local f, err = jl.io.open_jets(opts.h5)
if not f then
  io.stderr:write("jetlab lund: " .. err .. "\n")
  os.exit(1)
end
local total = f:count()
if opts["max-jets"] > 0 and opts["max-jets"] < total then total = opts["max-jets"] end
local chunk = 4096
for first = 1, total, chunk do
  local n = math.min(chunk, total - first + 1)
  local b = assert(f:read(first, n))
  local g = jl.lund.graphs(b, {features = 5, ln_kt_min = ln_kt_min})
  local x, parent, off = g.x:tolist(), g.parent:tolist(), g.offsets:tolist()
  local ncons, jet_pt, jet_m = g.n_constituents:tolist(), b.jet_pt:tolist(), b.jet_m:tolist()
  for j = 1, n do
    local nodes = {}
    for k = off[j] + 1, off[j + 1] do
      local r = x[k]
      local p = parent[k] == 0 and -1 or parent[k] - 1 - off[j]
      nodes[#nodes + 1] = {p, r[1], r[2], r[3], r[4], r[5]}
    end
    out[#out + 1] = jet_line(first + j - 1, jet_pt[j], jet_m[j], ncons[j], nodes, 9)
  end
  flush()
end
f:close()
