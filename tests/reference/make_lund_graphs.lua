-- make_lund_graphs.lua — the Lund-plane graphs of real jets that
-- tests/reference/lundnet_reference.py runs the published LundNet on (its
-- output, tests/fixtures/published_lundnet.json, is what
-- tests/lua/test_published_models.lua reads).
--
--   build/jetlab tests/reference/make_lund_graphs.lua /tmp/lund_graphs.json
--
-- Jets: anti-kt R = 1.0, pT > 500 GeV jets of the Pythia events in Debian's
-- fastjet-examples (Pythia-PtMin1000-LHC-10ev.dat: QCD dijets; boosted_top_event.dat:
-- a boosted top pair), clustered as `jetlab convert` does (jetlab.events).
-- Graphs: jl.lund.graphs, 5 and 3 features, of
--   FULL jets 1, 2 (QCD) and 22, 23 (the top event): the whole declustering tree;
--   CUT  jets 3, 4, 6 with ln_kt_min = 3 (kt > 20 GeV, the LundNet authors' JetTree
--        ktmin): trees of 2, 1 and 1 nodes, so one-node jets (no edges) are in the batch.
-- One batch, FULL jets then CUT jets. Written 0-based (offsets, src, dst, edge_offsets
-- as jl_lund.h lays them out); x: the float32 values, exactly.

local events = require "jetlab.events"
local json = require "jetlab.json"
local models = require("jetlab.nn").models

local out = assert(arg[1], "usage: jetlab make_lund_graphs.lua OUT.json")
local D = "/usr/share/doc/fastjet-examples/examples/"
local files = {"Pythia-PtMin1000-LHC-10ev.dat", "boosted_top_event.dat"}
local FULL, CUT, LN_KT_MIN = {1, 2, 22, 23}, {3, 4, 6}, 3

local paths = {}
for i, f in ipairs(files) do paths[i] = D .. f end
local batch, info = assert(events.jets(paths, {r = 1.0, ptmin = 500}))

local function picked(features)
  local parts = {}
  for _, p in ipairs({{FULL, nil}, {CUT, LN_KT_MIN}}) do
    local g = jl.lund.graphs(batch, {features = features, ln_kt_min = p[2]})
    local s = models.lundnet_select(g, p[1])
    parts[#parts + 1] = {x = s.x:tolist(), offsets = s.offsets:tolist(), src = s.src:tolist(), dst = s.dst:tolist(),
      edge_offsets = s.edge_offsets:tolist()}
  end
  -- one batch: the parts one after the other, indices shifted, 0-based
  local x, offsets, src, dst, edge_offsets = {}, {0}, {}, {}, {0}
  for _, s in ipairs(parts) do
    local nodes, edges = #x, #src
    for _, row in ipairs(s.x) do x[#x + 1] = row end
    for b = 2, #s.offsets do offsets[#offsets + 1] = nodes + s.offsets[b] end
    for e = 1, #s.src do
      src[#src + 1] = nodes + s.src[e] - 1
      dst[#dst + 1] = nodes + s.dst[e] - 1
    end
    for i = 2, #s.edge_offsets do edge_offsets[#edge_offsets + 1] = edges + s.edge_offsets[i] end
  end
  return {x = x, offsets = offsets, src = json.array(src), dst = json.array(dst), edge_offsets = edge_offsets}
end

local jets = {}
for _, p in ipairs({{FULL, "full"}, {CUT, "ln_kt_min = 3"}}) do
  for _, j in ipairs(p[1]) do
    local i = info[j]
    jets[#jets + 1] = {file = i.file, event = i.event, pt = i.pt, eta = i.eta, m = i.m, constituents = i.n,
      tree = p[2]}
  end
end

local f = assert(io.open(out, "w"))
f:write(json.encode({jets = jets, graphs5 = picked(5), graphs3 = picked(3)}), "\n")
f:close()
print("make_lund_graphs: " .. #jets .. " jets written to " .. out)
