-- jetlab.loss.kd — knowledge-distillation criteria (DESIGN.md, study 1).
--
--   local kd = require("jetlab.loss").kd
--   local crit = kd.hinton{alpha = 0.5, T = 4}
--   local teacher_logits = jl.no_grad(function() return teacher(x_full) end)
--   local loss, parts = crit(student(x_degraded), labels, teacher_logits, {weights = w})
--   print(parts.ce:item(), parts.kl:item())
--
--   local feat = kd.features{student_dim = 64, teacher_dim = 400}  -- learned projection
--   opt = optim.AdamW({{params = student:parameters()}, {params = feat:parameters()}})
--   local lf = feat(student_hidden, teacher_hidden)
--
--   local rkd = kd.relational{}
--   local lr = rkd(student_embedding, teacher_embedding)
--
-- hinton{alpha=, T=}: α·CE(student, y) + (1−α)·T²·KL(softmax(teacher/T) ‖
-- softmax(student/T)), both terms batch means — the weighted means
-- sum(w l)/sum(w) when weights are given. The teacher's logits are detached
-- inside (no gradient reaches the teacher; they are never modified).
-- features{student_dim=, teacher_dim=}: MSE between a learned linear
-- projection (nn.Linear student_dim → teacher_dim, bias included) of the
-- student's features and the detached teacher features; an nn.Module whose
-- parameters() the optimizer must train alongside the student.
-- relational{}: RKD distance loss (Park et al. 2019): the pairwise Euclidean
-- distance matrices of the student's and the teacher's (detached) embeddings
-- in the batch, each divided by its mean off-diagonal distance, compared by
-- MSE over the B·(B−1) off-diagonal pairs (the embeddings' widths may differ).
-- Every criterion leaves its inputs unchanged.

local jl = require "jetlab"
local options = require "jetlab.options"
local F = require "jetlab.loss.functional"

local kd = {}

local OPTIONAL = options.OPTIONAL

local function check_number(what, name, v, lo, hi)
  if type(v) ~= "number" or v < lo or v > hi then
    error(string.format("%s: %s must be a number in [%g, %g], got %s", what, name, lo, hi, tostring(v)), 3)
  end
end

--- kd.hinton{alpha=, T=} → crit(student_logits (B, K), labels (B) 1..K,
--- teacher_logits (B, K)[, {weights=}]) → loss, {ce=, kl=}
function kd.hinton(opts)
  local o = options.check("kd.hinton", opts, {alpha = options.REQUIRED, T = options.REQUIRED})
  check_number("kd.hinton", "alpha", o.alpha, 0, 1)
  check_number("kd.hinton", "T", o.T, 1e-6, math.huge)
  local alpha, T = o.alpha, o.T
  return function(student_logits, labels, teacher_logits, call_opts)
    local c = options.check("kd.hinton criterion", call_opts, {weights = OPTIONAL})
    F.check_labels("loss.kd.hinton", student_logits, labels)
    F.check_same_shape("loss.kd.hinton", "student logits", student_logits, "teacher logits", teacher_logits)
    local ce = F.cross_entropy(student_logits, labels, {weights = c.weights})
    local log_p = jl.no_grad(function() return (teacher_logits:detach() * (1 / T)):log_softmax(2) end)
    local log_q = (student_logits * (1 / T)):log_softmax(2)
    local kl = F.kl_div(log_q, log_p, {log_target = true, weights = c.weights})
    return ce * alpha + kl * ((1 - alpha) * T * T), {ce = ce, kl = kl}
  end
end

--- kd.features{student_dim=, teacher_dim=} → an nn.Module: feat(student (B, Ds),
--- teacher (B, Dt)[, {weights=}]) → MSE(proj(student), teacher)
function kd.features(opts)
  local o = options.check("kd.features", opts,
    {student_dim = options.REQUIRED, teacher_dim = options.REQUIRED})
  local nn = require "jetlab.nn"
  local Features = nn.Module:extend("FeatureDistillation")
  function Features:__init()
    nn.Module.__init(self)
    self:register_module("proj", nn.Linear(o.student_dim, o.teacher_dim))
  end
  function Features:forward(student, teacher, call_opts)
    local c = options.check("kd.features criterion", call_opts, {weights = OPTIONAL})
    F.check_tensor("loss.kd.features", "student", student, 2)
    F.check_tensor("loss.kd.features", "teacher", teacher, 2)
    if student:size(2) ~= o.student_dim or teacher:size(2) ~= o.teacher_dim or student:size(1) ~= teacher:size(1) then
      error(string.format("loss.kd.features: student (%s) and teacher (%s) do not fit (B, %d) and (B, %d)",
        table.concat(student.shape, ", "), table.concat(teacher.shape, ", "), o.student_dim, o.teacher_dim), 2)
    end
    return F.mse(self.proj(student), teacher:detach(), {weights = c.weights})
  end
  return Features()
end

-- Pairwise distances (B, B) of x (B, D), zero on the diagonal, and their mean
-- over the B(B-1) off-diagonal pairs. The diagonal is masked before the square
-- root (clamped away from 0), so its gradient is exactly zero.
local function distances(x, off_diagonal, pairs)
  local sq = (x * x):sum(2)
  local d2 = sq:view(-1, 1) + sq:view(1, -1) - x:matmul(x:t()) * 2
  local d = d2:clamp(1e-12):sqrt() * off_diagonal
  return d, d:sum() * (1 / pairs)
end

--- kd.relational{} → crit(student (B, Ds), teacher (B, Dt)) → RKD distance loss
function kd.relational(opts)
  options.check("kd.relational", opts, {})
  return function(student, teacher)
    F.check_tensor("loss.kd.relational", "student", student, 2)
    F.check_tensor("loss.kd.relational", "teacher", teacher, 2)
    local B = student:size(1)
    if B < 2 or teacher:size(1) ~= B then
      error(string.format("loss.kd.relational: needs two or more samples and one teacher row per student row, " ..
        "got student (%s) and teacher (%s)", table.concat(student.shape, ", "), table.concat(teacher.shape, ", ")), 2)
    end
    local pairs = B * (B - 1)
    local i = jl.arange(B)
    local off_diagonal = i:view(-1, 1):ne(i:view(1, -1)):float()
    local ds, mean_s = distances(student, off_diagonal, pairs)
    local dt_norm = jl.no_grad(function()
      local dt, mean_t = distances(teacher:detach(), off_diagonal, pairs)
      return dt / mean_t
    end)
    return ((ds / mean_s - dt_norm) ^ 2):sum() * (1 / pairs)
  end
end

return kd
