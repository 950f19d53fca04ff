-- jetlab.teacher_cache — a distillation teacher's logits, one forward per jet
-- per run (issue 16): train.fit asks it for each batch's teacher logits.
--
--   local logits_of, train_source = require("jetlab.teacher_cache").new(teacher, source)
--   local t_logits = logits_of(batch)    -- (B, K), under no_grad; batch from train_source
--
-- When the training source offers a teacher pass (source:teacher_pass() → a
-- function returning an iterator of batches in a fixed order, covering its
-- jets, each with jets = (B) i64 ids, as jetlab.data views do when their
-- cache is on), the first call runs the teacher over that pass and keeps the
-- logits by jet; a batch is then answered by two index_selects. train_source
-- is what to train on: the source, or its batches without the teacher's
-- view when the pass offers such a source (jetlab.data views: no x_teacher
-- copied per batch). A batch with a jet the pass did not give runs the
-- teacher itself (an error when the batch has no teacher view). Without a
-- teacher pass every batch runs the teacher.
--
-- The logits of the fixed pass do not depend on the epoch, the shuffle or a
-- resume, so cached runs repeat bit for bit and resume bit-identically; they
-- can differ in the last bits from a forward in the shuffled batch (a GEMM
-- row's rounding depends on its place in the batch), so distillation with
-- the cache on matches it off to float rounding, not bit for bit. The
-- teacher must not change during the run (train.fit keeps it in eval mode).

local jl = require "jetlab"

local M = {}

--- M.new(teacher, source) → function(batch) → teacher logits (B, K), and the source to train on.
function M.new(teacher, source)
  local function forward(batch)
    return jl.no_grad(function() return teacher(batch.x_teacher or batch.x) end)
  end
  local pass, student
  if type(source) == "table" and type(source.teacher_pass) == "function" then pass, student = source:teacher_pass() end
  if not pass then return forward, source end
  local function missed(batch)
    if student and batch.x_teacher == nil then
      error("teacher_cache: a batch has a jet the teacher's pass did not give, and no teacher view to run it on", 0)
    end
    return forward(batch)
  end
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
      return missed(batch)
    end
    local rows = slot:index_select(1, jets)
    if rows:min():item() < 1 then return missed(batch) end
    return store:index_select(1, rows:to(store.device))
  end, student or source
end

return M
