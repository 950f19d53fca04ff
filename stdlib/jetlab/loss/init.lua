-- jetlab.loss — every criterion: the plain ones of jetlab.loss.functional
-- (cross_entropy, bce_with_logits, mse, kl_div, reduce) and the distillation
-- criteria as loss.kd (jetlab.loss.kd: hinton, features, relational).
--
--   local loss = require "jetlab.loss"
--   local l = loss.cross_entropy(logits, labels, {weights = w})
--   local crit = loss.kd.hinton{alpha = 0.5, T = 4}
--   local total, parts = crit(student_logits, labels, teacher_logits)

local loss = {}
for name, fn in pairs(require "jetlab.loss.functional") do loss[name] = fn end
loss.kd = require "jetlab.loss.kd"

return loss
