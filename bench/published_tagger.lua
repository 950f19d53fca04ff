-- published_tagger.lua — what bench/generator_realism.lua and generator_scores.lua share:
-- the first jets of a file, and the signal probability the LundNet authors' published top
-- tagger (tests/fixtures/lundnet) gives each jet.
--
--   package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
--   local P = require "published_tagger"
--   local rows = P.read("py_top500.h5", 4000)
--   local p = P.scores(P.model(3), 3, rows)              -- (n) f32 tensor
local ckpt = require "jetlab.ckpt"

local P = {}
local BATCH = 1000

--- P.read(path, count) → the first min(count, all) jets of an ATLAS-layout file (columns).
function P.read(path, count)
  local f = assert(jl.io.open_jets(path))
  local rows = assert(f:read(1, math.min(count, f:count())))
  f:close()
  return rows
end

--- P.model(features) → the published Top_QCD_500GeV_LundNet<features> tagger (eval mode).
function P.model(features)
  local file = string.format("tests/fixtures/lundnet/Top_QCD_500GeV_LundNet%d.pt", features)
  return assert(ckpt.import(file, {model = "lundnet" .. features, layout = "lundnet"}))
end

--- P.scores(model, features, rows) → (n) the model's top probability for each jet of rows,
--- Lund graphs built and scored BATCH jets at a time.
function P.scores(model, features, rows)
  local total = rows.labels.shape[1]
  local parts = {}
  for first = 1, total, BATCH do
    local b = {}
    for k, v in pairs(rows) do b[k] = type(v) == "userdata" and v:narrow(1, first, math.min(BATCH, total - first + 1)) or v end
    local g = jl.lund.graphs(b, {features = features})
    parts[#parts + 1] = jl.no_grad(function() return model(g):softmax(2):narrow(2, 2, 1):reshape(-1) end)
  end
  return jl.cat(parts, 1)
end

return P
