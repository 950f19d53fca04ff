-- test_published_models.lua — the LundNet authors' published models
-- (tests/fixtures/lundnet: Top_QCD_500GeV_LundNet5.pt, zip format, and
-- Top_QCD_500GeV_LundNet3.pt, legacy format) imported through ckpt.import (layout
-- lundnet) give PyTorch's logits on the Lund graphs of real jets.
--
-- Reference: tests/fixtures/published_lundnet.json, made by
-- tests/reference/make_lund_graphs.lua (the graphs: jl.lund.graphs of anti-kt R = 1.0
-- jets of Debian's fastjet-examples Pythia events, four whole trees and three trees
-- cut at ln kt > 3 with 2, 1 and 1 nodes) and tests/reference/lundnet_reference.py
-- (the logits: the architecture written in plain PyTorch from the anchors README,
-- the same .pt files through torch.load + load_state_dict(strict=True), eval mode,
-- float64). So this test needs no PyTorch; it checks jetlab's network (layout,
-- nn.GraphEdgeConv, fusion, pooling, head) on the same graphs, not the features.
--
-- Normalised error: max |ours - torch| / max |torch| over the logits of the whole
-- trees and, apart, of the cut trees, <= 1e-5,
-- with the fused C ops, with the plain ops (nn.edgeconv.composed = true), and with the
-- edges left for the model to group by dst. Parameter counts: 391,724 and 391,528.
local T = require "jetlab.test"
local ckpt = require "jetlab.ckpt"
local json = require "jetlab.json"
local edgeconv = require "jetlab.nn.edgeconv"

local TOL = 1e-5
local FIXTURE = "tests/fixtures/published_lundnet.json"
local PARAMS = {[5] = 391724, [3] = 391528}

local fixture
do
  local f = assert(io.open(FIXTURE))
  fixture = assert(json.decode(f:read("a")))
  f:close()
end

-- max |got - want| / max |want| over the rows of want whose jet is in group.
local function normalised_error(got, want, group)
  local diff, scale = 0, 0
  for b, row in ipairs(want) do
    if group[b] then
      for k, v in ipairs(row) do
        local d = math.abs(got[b][k] - v)
        if d ~= d then return math.huge end
        diff, scale = math.max(diff, d), math.max(scale, math.abs(v))
      end
    end
  end
  return diff / scale
end

-- The jets of each tree kind ("full", "ln_kt_min = 3"), as sets of batch rows: the
-- error is normalised within each (the cut trees' logits are ten times larger).
local groups = {}
for b, j in ipairs(fixture.jets) do
  groups[j.tree] = groups[j.tree] or {}
  groups[j.tree][b] = true
end

-- The fixture's graphs as a LundNet batch (src, dst 1-based; offsets 0-based counts).
local function batch_of(g, grouped)
  local function plus1(t)
    local o = {}
    for i, v in ipairs(t) do o[i] = v + 1 end
    return o
  end
  local b = {x = jl.tensor(g.x), offsets = jl.tensor(g.offsets, {dtype = "i64"}),
    src = jl.tensor(plus1(g.src), {dtype = "i64"}), dst = jl.tensor(plus1(g.dst), {dtype = "i64"})}
  if grouped then b.edge_offsets = jl.tensor(g.edge_offsets, {dtype = "i64"}) end
  return b
end

local function logits_of(model, g, grouped)
  return jl.no_grad(function() return model(batch_of(g, grouped)):tolist() end)
end

local worst = {}

for _, features in ipairs({5, 3}) do
  local ref = fixture["lundnet" .. features]
  local graphs = fixture["graphs" .. features]
  local path = "tests/fixtures/lundnet/" .. ref.file

  T.case(ref.file .. ": imports with " .. PARAMS[features] .. " parameters", function()
    local model, report = assert(ckpt.import(path, {model = "lundnet" .. features, layout = "lundnet"}))
    io.write(string.format("  %s: %s format, %d tensors, %d parameters (PyTorch: %d)\n", ref.file, report.format,
      report.tensors, report.parameters, ref.parameters))
    T.eq(report.parameters, PARAMS[features])
    T.eq(model:num_parameters(), ref.parameters)
    T.eq(report.tensors, 112)
    T.eq(report.spec.inputs.features, features)
    T.ok(not model.training, "imported in eval mode")
  end)

  T.case(ref.file .. ": logits equal PyTorch's on the Lund graphs of " .. #fixture.jets .. " real jets", function()
    local model = assert(ckpt.import(path, {model = "lundnet" .. features, layout = "lundnet"}))
    T.eq(#ref.logits, #graphs.offsets - 1)
    local one_node = 0
    for b = 1, #graphs.offsets - 1 do
      if graphs.offsets[b + 1] - graphs.offsets[b] == 1 then one_node = one_node + 1 end
    end
    T.ok(one_node >= 2, "the batch holds one-node jets")
    for _, run in ipairs({{"fused", false, true}, {"composed", true, true}, {"grouped here", false, false}}) do
      edgeconv.composed = run[2]
      local ok, got = pcall(logits_of, model, graphs, run[3])
      edgeconv.composed = false
      if not ok then error(got, 0) end
      for _, tree in ipairs({"full", "ln_kt_min = 3"}) do
        local err = normalised_error(got, ref.logits, groups[tree])
        local label = string.format("LundNet%d %s, %s trees", features, run[1], tree)
        worst[#worst + 1] = string.format("  %-42s max normalised error %.2e", label, err)
        T.ok(err <= TOL, string.format("%s: normalised error %.3g > %g", label, err, TOL))
      end
    end
  end)

  T.case(ref.file .. ": its nn.compile graph plan (BatchNorm folded) gives PyTorch's logits", function()
    local model = assert(ckpt.import(path, {model = "lundnet" .. features, layout = "lundnet"}))
    local plan = require("jetlab.nn").compile(model)
    for _, grouped in ipairs({true, false}) do
      local got = plan(batch_of(graphs, grouped)):tolist()
      for _, tree in ipairs({"full", "ln_kt_min = 3"}) do
        local err = normalised_error(got, ref.logits, groups[tree])
        local label = string.format("LundNet%d plan%s, %s trees", features, grouped and "" or " (grouped here)", tree)
        worst[#worst + 1] = string.format("  %-42s max normalised error %.2e", label, err)
        T.ok(err <= TOL, string.format("%s: normalised error %.3g > %g", label, err, TOL))
      end
    end
  end)

  T.case(ref.file .. ": export to .safetensors and import again gives the same logits", function()
    local model = assert(ckpt.import(path, {model = "lundnet" .. features, layout = "lundnet"}))
    local out = os.tmpname()
    assert(ckpt.export(model, out, {layout = "lundnet"}))
    local again, report = assert(ckpt.import(out, {model = "lundnet" .. features, layout = "lundnet"}))
    os.remove(out)
    T.eq(report.format, "safetensors")
    T.eq(logits_of(again, graphs, true), logits_of(model, graphs, true))
  end)
end

T.case("report the normalised errors", function()
  for _, line in ipairs(worst) do io.write(line, "\n") end
  T.eq(#worst, 20) -- 2 models x 2 tree kinds x (3 eager runs + 2 plan runs)
end)

T.run()
