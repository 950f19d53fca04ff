-- jetlab.teacher_cache — a distillation teacher's logits, one forward per jet
-- per run (issue 16): train.fit asks it for each batch's teacher logits.
--
--   local logits_of = require("jetlab.teacher_cache").new(teacher, source)
--   local t_logits = logits_of(batch)    -- (B, K), under no_grad
--
-- When the training source offers a teacher pass (source:teacher_pass() → a
-- function returning an iterator of batches in a fixed order, covering its
-- jets, each with jets = (B) i64 ids, as jetlab.data views do when their
-- cache is on), the first call runs the teacher over that pass and keeps the
-- logits by jet; a batch is then answered by two index_selects. A batch with
-- a jet the pass did not give runs the teacher itself. Without a teacher
-- pass every batch runs the teacher.
--
-- The logits of the fixed pass do not depend on the epoch, the shuffle or a
-- resume, so cached runs repeat bit for bit and resume bit-identically; they
-- can differ in the last bits from a forward in the shuffled batch (a GEMM
-- row's rounding depends on its place in the batch), so distillation with
-- the cache on matches it off to float rounding, not bit for bit. The
-- teacher must not change during the run (train.fit keeps it in eval mode).

local jl = require "jetlab"

local M = {}

--- M.new(teacher, source) → function(batch) → teacher logits (B, K).
function M.new(teacher, source)
  local function forward(batch)
    return jl.no_grad(function() return teacher(batch.x_teacher or batch.x) end)
  end
  local pass = type(source) == "table" and type(source.teacher_pass) == "function" and source:teacher_pass()
  if not pass then return forward end
  local slot, store -- slot (top) i64: jet id → row of store (0: none); store (N, K) the pass's logits
  local function build()
    local ids, outs = {}, {}
    for b in pass() do
      ids[#ids + 1], outs[#outs + 1] = b.jets, forward(b)
    end
    local all = jl.cat(ids, 1)
    store = jl.cat(outs, 1)
    slot = jl.zeros({all:max():item()}, {dtype = "i64"}):index_add(1, all,
      jl.arange(1, all:numel() + 1, {dtype = "i64"}))
  end
  return function(batch)
    if not slot then build() end
    local jets = batch.jets
    if not jl.is_tensor(jets) or jets:numel() ~= batch.y.shape[1] or jets:max():item() > slot:numel() then
      return forward(batch)
    end
    local rows = slot:index_select(1, jets)
    if rows:min():item() < 1 then return forward(batch) end
    return store:index_select(1, rows:to(store.device))
  end
end

return M
