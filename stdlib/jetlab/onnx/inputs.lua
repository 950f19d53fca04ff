-- jetlab.onnx.inputs — a checkpoint's ONNX inputs and jetlab's probabilities on a
-- jets file, as JSON: what tests/reference/onnx_check.py and the ONNX Runtime side
-- of the latency comparison (stdlib/onnx/ort_latency.py) feed the exported graph.
--
--   local inputs = require "jetlab.onnx.inputs"
--   local r = assert(inputs.write("best.h5", "jets.h5", "batches.json", {max_jets = 512, points = 128}))
--   print(r.jets, r.skipped, r.batches)
--
-- The file: {family = "fcnn" | "lundnet" | "particlenet", batches = {{inputs = {name =
-- nested lists}, probabilities = (B, 2)}...}, skipped = N} in the graph's input names
-- (jetlab.onnx), indices 0-based. ParticleNet (ragged inputs): points, features, mask
-- padded to `points` (default 128), only the jets with k < n <= points constituents
-- (jetlab's forward on the whole chunk); skipped = how many were left out.

local jl = require "jetlab"
local ckpt = require "jetlab.ckpt"
local predict = require "jetlab.predict"
local json = require "jetlab.json"
local fs = require "jetlab.fs"

local M = {}

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
local function padded_row(v, first, n, col, P)
  local row = {}
  for i = 1, P do row[i] = i <= n and v[first + i][col] or 0 end
  return row
end

-- The padded ONNX inputs and jetlab's probabilities p (B, 2) of a ragged chunk's
-- jets with k < n <= P constituents; also how many jets were left out.
local function padded_inputs(b, p, k, P)
  local x, coords, offsets, probs = b.x:tolist(), b.coords:tolist(), b.offsets:tolist(), p:tolist()
  local pts, feats, mask, keep, skipped = {}, {}, {}, {}, 0
  for j = 1, #offsets - 1 do
    local first, n = offsets[j], offsets[j + 1] - offsets[j]
    if n > k and n <= P then
      local f = {}
      for c = 1, #x[1] do f[c] = padded_row(x, first, n, c, P) end
      feats[#feats + 1] = f
      pts[#pts + 1] = {padded_row(coords, first, n, 1, P), padded_row(coords, first, n, 2, P)}
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

--- inputs.write(ckpt_path, jets_path, out, o) → {family =, jets =, skipped =, batches =} | nil, message.
--- o: max_jets (default 512), points (P, default 128), batch (jets per chunk; default 32
--- for ParticleNet, 128 otherwise).
function M.write(ckpt_path, jets_path, out, o)
  o = o or {}
  local max_jets, P = o.max_jets or 512, o.points or 128
  local model, state = ckpt.model(ckpt_path)
  if not model then return nil, state end
  local spec = state.spec.inputs
  local ragged = spec.kind == "ragged"
  local reader, err = predict.chunks(jets_path, spec, {batch = o.batch or (ragged and 32 or 128), degrade = false})
  if not reader then return nil, err end
  local batches, done, left_out = {}, 0, 0
  while done < max_jets do
    local c = reader.next()
    if not c then break end
    local p = jl.no_grad(function() return model(c.x):softmax(2) end)
    if ragged then
      local x, probs, skipped = padded_inputs(c.x, p, model.k, P)
      if #probs > 0 then batches[#batches + 1] = {inputs = x, probabilities = probs} end
      left_out = left_out + skipped
    else
      local x = spec.kind == "lund" and lund_inputs(c.x) or {features = c.x:reshape(c.x.shape[1], -1):tolist()}
      batches[#batches + 1] = {inputs = x, probabilities = p:tolist()}
    end
    done = done + c.n
  end
  local family = ragged and "particlenet" or spec.kind == "lund" and "lundnet" or "fcnn"
  fs.write(out, json.encode({family = family, batches = batches, skipped = left_out}))
  return {family = family, jets = done - left_out, skipped = left_out, batches = #batches}
end

return M
