-- onnx_inputs.lua — a checkpoint's inputs and jetlab's probabilities on a jets file,
-- as JSON for tests/reference/onnx_check.py (ONNX Runtime on the exported file):
--   jetlab tests/sh/onnx_inputs.lua CKPT.h5 JETS.h5 OUT.json [MAX_JETS [POINTS [BATCH]]]
-- OUT.json: {family = "fcnn" | "lundnet" | "particlenet", batches = {{inputs = {name =
-- nested lists}, probabilities = (B, 2)}...}} in the graph's input names (jetlab.onnx),
-- indices 0-based. ParticleNet (ragged inputs): points, features, mask padded to POINTS
-- (default 128), only the jets with k < n <= POINTS constituents (jetlab's forward on
-- the whole chunk); skipped = how many were left out. BATCH: jets per chunk (default 32
-- for ParticleNet, 128 otherwise).
local jl = require "jetlab"
local ckpt = require "jetlab.ckpt"
local predict = require "jetlab.predict"
local json = require "jetlab.json"
local fs = require "jetlab.fs"

local ckpt_path, jets_path, out, max_jets = arg[1], arg[2], arg[3], tonumber(arg[4] or "512")
local P = math.tointeger(tonumber(arg[5] or "128"))
local model, state = assert(ckpt.model(ckpt_path))
local inputs = state.spec.inputs
local ragged = inputs.kind == "ragged"
local batch = math.tointeger(tonumber(arg[6] or (ragged and "32" or "128")))
local reader = assert(predict.chunks(jets_path, inputs, {batch = batch, degrade = false}))

-- The ONNX inputs of a LundNet batch: 0-based src/dst, node_jet from the offsets.
local function lund_inputs(b)
  local offsets, node_jet = b.offsets:tolist(), {}
  for j = 1, #offsets - 1 do
    for _ = offsets[j] + 1, offsets[j + 1] do node_jet[#node_jet + 1] = j - 1 end
  end
  return {node_features = b.x:tolist(), edge_src = json.array((b.src - 1):tolist()),
    edge_dst = json.array((b.dst - 1):tolist()), node_jet = node_jet, num_jets = #offsets - 1}
end

-- A (P) list: row values v[first + 1 .. first + n][col], then zeros.
local function padded_row(v, first, n, col)
  local row = {}
  for i = 1, P do row[i] = i <= n and v[first + i][col] or 0 end
  return row
end

-- The padded ONNX inputs and jetlab's probabilities of a ragged chunk's jets with
-- k < n <= P constituents; also how many jets were left out.
local function padded_inputs(b, p)
  local x, coords, offsets, probs = b.x:tolist(), b.coords:tolist(), b.offsets:tolist(), p:tolist()
  local pts, feats, mask, keep, skipped = {}, {}, {}, {}, 0
  for j = 1, #offsets - 1 do
    local first, n = offsets[j], offsets[j + 1] - offsets[j]
    if n > model.k and n <= P then
      local f = {}
      for c = 1, #x[1] do f[c] = padded_row(x, first, n, c) end
      feats[#feats + 1] = f
      pts[#pts + 1] = {padded_row(coords, first, n, 1), padded_row(coords, first, n, 2)}
      local m = {}
      for i = 1, P do m[i] = i <= n and 1 or 0 end
      mask[#mask + 1] = {m}
      keep[#keep + 1] = probs[j]
    else
      skipped = skipped + 1
    end
  end
  return {points = pts, features = feats, mask = mask}, keep, skipped
end

local batches, done, left_out = {}, 0, 0
while done < max_jets do
  local c = reader.next()
  if not c then break end
  local p = jl.no_grad(function() return model(c.x):softmax(2) end)
  if ragged then
    local x, probs, skipped = padded_inputs(c.x, p)
    if #probs > 0 then batches[#batches + 1] = {inputs = x, probabilities = probs} end
    left_out = left_out + skipped
  else
    local x = inputs.kind == "lund" and lund_inputs(c.x) or {features = c.x:reshape(c.x.shape[1], -1):tolist()}
    batches[#batches + 1] = {inputs = x, probabilities = p:tolist()}
  end
  done = done + c.n
end
local family = ragged and "particlenet" or inputs.kind == "lund" and "lundnet" or "fcnn"
fs.write(out, json.encode({family = family, batches = batches, skipped = left_out}))
print(string.format("onnx_inputs: %d jets (%d left out) in %d batches → %s", done - left_out, left_out, #batches, out))
