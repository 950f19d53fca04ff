-- frozen_speed.lua — the cost of seed 2's frozen transfer against training from
-- scratch, per sample (issue 16, "frozen means free"; seed 2's Table 1: LundNet5
-- 3.1× cheaper, ParticleNet 1.7×; targets >= 2.5× and >= 1.6×).
--
--   jetlab bench/frozen_speed.lua FILE.h5 [--models lundnet5,particlenet-lite,particlenet] [--jets 4096]
--          [--batch 256] [--runs 5] [--threads 2] [--epochs 30]
--
-- The jets of FILE.h5 (ATLAS layout, the first --jets, 100 constituents) become
-- LundNet5 graphs (jl.lund.graphs) or ParticleNet's ragged 7 features, in batches of
-- --batch jets, before any timing. Per model, the sides, run one after the other in
-- every round (the order turning round by round, so a load change on a shared
-- machine hits all of them):
--   scratch  a fresh model in train mode: forward, backward, Adam, over every batch
--   frozen   the same network with its backbone frozen up to the pooled representation
--            (jetlab.nn.backbone.freeze: no grad, eval-mode BatchNorm, forward under
--            no_grad): forward, backward of the head, Adam on the head
--   fusion   LundNet only: frozen with upto = "blocks" (the fusion block trained:
--            jetlab's earlier frozen variant)
--   head     the head's step on pooled representations computed beforehand
--            (jetlab.pooled_source's epochs), and represent: model:represent over
--            every batch once (its first pass); cached = head + represent / --epochs,
--            the per-sample cost of a run of --epochs epochs.
-- ms/sample per side and round; ratios scratch / side per round; medians over
-- --runs rounds (after one warm-up round) printed as a table and one JSON line per model.
-- For benchmark runs unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE.

local cli = require "jetlab.cli"
local json = require "jetlab.json"
local nn = require "jetlab.nn"
local loss = require "jetlab.loss"
local optim = require "jetlab.optim"
local backbone = require "jetlab.nn.backbone"

local spec = {
  name = "frozen_speed",
  usage = "jetlab bench/frozen_speed.lua FILE.h5 [--models lundnet5,particlenet-lite,particlenet] [--jets 4096] " ..
          "[--batch 256] [--runs 5] [--threads 2] [--epochs 30]",
  about = "Frozen-backbone transfer against training from scratch, ms/sample, side by side.",
  options = {
    {"models", "string", "lundnet5,particlenet-lite,particlenet", help = "comma-separated models"},
    {"jets", "integer", 4096, help = "jets read from the file (the first ones)"},
    {"batch", "integer", 256, help = "jets per batch"},
    {"runs", "integer", 5, help = "timed rounds (medians over them)"},
    {"threads", "integer", 2, help = "threads"},
    {"epochs", "integer", 30, help = "epochs over which the cached representations' pass is spread"},
  },
}
local opts = cli.parse_or_exit(arg, spec)
if #opts ~= 1 then cli.fail(spec, "expected FILE.h5") end
jl.set_num_threads(opts.threads)
jl.manual_seed(1)

local f = assert(jl.io.open_jets(opts[1], {max_constituents = 100}))
local n = math.min(opts.jets, f:count())
local raw = assert(f:read(1, n))
f:close()
local labels = raw.labels:to("i64") + 1
local bs = opts.batch
local n_batches = n // bs
if n_batches < 1 then cli.fail(spec, string.format("%d jets, fewer than one batch of %d", n, bs)) end

-- Batches {x = model input, y} of consecutive jets.
local function lund_batches()
  local g = jl.lund.graphs(raw, {features = 5})
  local out = {}
  for b = 1, n_batches do
    local idx = jl.arange((b - 1) * bs + 1, b * bs + 1, {dtype = "i64"})
    out[b] = {x = nn.models.lundnet_select(g, idx), y = labels:narrow(1, (b - 1) * bs + 1, bs)}
  end
  return out
end

local function ragged_batches()
  local x, offsets, coords = jl.data.features(raw.pt, raw.eta, raw.phi, raw.E, {format = "ragged",
    max_constituents = 100})
  local off = offsets:tolist()
  local out = {}
  for b = 1, n_batches do
    local first, last = off[(b - 1) * bs + 1], off[b * bs + 1]
    out[b] = {x = {x = x:narrow(1, first + 1, last - first):contiguous(),
      coords = coords:narrow(1, first + 1, last - first):contiguous(),
      offsets = offsets:narrow(1, (b - 1) * bs + 1, bs + 1) - first}, y = labels:narrow(1, (b - 1) * bs + 1, bs)}
  end
  return out
end

local MODELS = {
  ["lundnet5"] = {make = function() return nn.models.lundnet{features = 5} end, batches = lund_batches,
    fusion_side = true},
  ["particlenet-lite"] = {make = nn.models.particlenet_lite, batches = ragged_batches},
  ["particlenet"] = {make = nn.models.particlenet, batches = ragged_batches},
}

-- A model and its Adam for a side: "scratch", "frozen" (up to the pooled representation), "fusion".
local function setup(M, side)
  local model = M.make()
  if side == "frozen" then backbone.freeze(model) end
  if side == "fusion" then backbone.freeze(model, {upto = "blocks"}) end
  model:train()
  return model, optim.Adam(model:parameters({trainable = true}), {lr = 1e-3})
end

-- Seconds for one training step over every batch.
local function epoch_seconds(model, opt, batches, input_of)
  collectgarbage()
  local t0 = jl.clock()
  local l
  for _, b in ipairs(batches) do
    opt:zero_grad()
    l = loss.cross_entropy(model(input_of(b)), b.y)
    l:backward()
    opt:step()
  end
  l:item()
  return jl.clock() - t0
end

local function median(list)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  local m = #s
  return m % 2 == 1 and s[(m + 1) // 2] or (s[m // 2] + s[m // 2 + 1]) / 2
end

local function whole_input(b) return b.x end
local function pooled_input(b) return {pooled = b.pooled} end

local rows = {}
for name in opts.models:gmatch("[^,]+") do
  local M = MODELS[name] or cli.fail(spec, "unknown model " .. name .. " (lundnet5, particlenet-lite, particlenet)")
  local batches = M.batches()
  local sides = {"scratch", "frozen"}
  if M.fusion_side then sides[#sides + 1] = "fusion" end
  local models = {}
  for _, side in ipairs(sides) do models[side] = {setup(M, side)} end
  local frozen = models.frozen[1]
  local samples = n_batches * bs
  local ms = {represent = {}, head = {}, cached = {}}
  for _, side in ipairs(sides) do ms[side] = {} end
  for round = 0, opts.runs do
    local order = {}
    for i, side in ipairs(sides) do order[(i + round - 1) % #sides + 1] = side end
    for _, side in ipairs(order) do
      local t = epoch_seconds(models[side][1], models[side][2], batches, whole_input)
      if round > 0 then ms[side][round] = t / samples * 1e3 end
    end
    collectgarbage()
    local t0 = jl.clock()
    for _, b in ipairs(batches) do b.pooled = frozen:represent(b.x) end
    local represent = jl.clock() - t0
    local head = epoch_seconds(frozen, models.frozen[2], batches, pooled_input)
    if round > 0 then
      ms.represent[round], ms.head[round] = represent / samples * 1e3, head / samples * 1e3
      ms.cached[round] = ms.head[round] + ms.represent[round] / opts.epochs
    end
  end
  local row = {model = name, params = frozen:num_parameters(), trainable_frozen = frozen:num_parameters({trainable = true}),
    batch = bs, jets = samples, runs = opts.runs, threads = opts.threads, epochs = opts.epochs}
  for side, list in pairs(ms) do row[side .. "_ms_per_sample"] = median(list) end
  for _, side in ipairs({"frozen", "fusion", "cached"}) do
    if ms[side] and ms[side][1] then
      local ratios = {}
      for r = 1, opts.runs do ratios[r] = ms.scratch[r] / ms[side][r] end
      row["scratch_over_" .. side] = median(ratios)
    end
  end
  rows[#rows + 1] = row
  print(json.encode(row, {digits = 4}))
end

print(string.format("\n| model | scratch | frozen | fusion trained | head on cached | represent (once) | " ..
  "cached, %d epochs | scratch/frozen | scratch/fusion | scratch/cached |", opts.epochs))
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
local function cell(v, fmt) return v and string.format(fmt, v) or "—" end
for _, r in ipairs(rows) do
  print(string.format("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", r.model,
    cell(r.scratch_ms_per_sample, "%.4f"), cell(r.frozen_ms_per_sample, "%.4f"), cell(r.fusion_ms_per_sample, "%.4f"),
    cell(r.head_ms_per_sample, "%.5f"), cell(r.represent_ms_per_sample, "%.4f"), cell(r.cached_ms_per_sample, "%.4f"),
    cell(r.scratch_over_frozen, "%.2f×"), cell(r.scratch_over_fusion, "%.2f×"), cell(r.scratch_over_cached, "%.1f×")))
end
