-- jetlab.schedule — learning-rate schedules, stepped once per epoch.
--
--   local schedule = require "jetlab.schedule"
--   local sched = schedule.MultiStep(opt, {milestones = {10, 20}, gamma = 0.1})  -- LundNet
--   for epoch = 1, 30 do train_one_epoch(); sched:step() end
--   print(sched:get_lr()[1])            -- the lr of group 1 now
--
--   -- 5 epochs of linear warm-up from 0.1·lr, combined with a cosine decay:
--   local sched = schedule.warmup(opt, {epochs = 5, start_factor = 0.1,
--                                       main = schedule.Cosine(opt, {T_max = 30})})
--
-- Each schedule remembers every group's lr when it is made (its base) and
-- sets group.lr = rule(base, e) after e calls of step() (e = 0 on creation,
-- which is applied at once, as torch's schedulers do). Rules, closed form:
--   MultiStep{milestones=, gamma=0.1}: base · gamma^(number of milestones <= e)
--   Step{step_size=, gamma=0.1}:       base · gamma^floor(e / step_size)
--   Cosine{T_max=, eta_min=0}:         eta_min + (base - eta_min)(1 + cos(π e / T_max)) / 2
--   warmup{epochs=, start_factor=, main=}: the main schedule's lr (base when
--     none) times start_factor + (1 - start_factor) · min(e, epochs) / epochs —
--     a product, as torch's ChainedScheduler of LinearLR and main, so main's
--     milestones stay at their absolute epochs. main is then driven by the
--     warm-up (its epoch and bases follow): call step() on the warm-up only.
-- state_dict() → {epoch = e, base_lrs = {...}};
-- load_state_dict(sd) restores them and sets the lrs of epoch e.

local options = require "jetlab.options"

local schedule = {}

local Schedule = {}
Schedule.__index = Schedule

local function new(opt, rule, what)
  if type(opt) ~= "table" or type(opt.param_groups) ~= "table" then
    error(what .. ": an optimizer is expected", 3)
  end
  local self = setmetatable({opt = opt, rule = rule, epoch = 0, base_lrs = {}}, Schedule)
  for i, g in ipairs(opt.param_groups) do self.base_lrs[i] = g.lr end
  self:apply()
  return self
end

--- sched:lr_at(group_index, epoch) → the lr that group gets at that epoch.
function Schedule:lr_at(i, epoch) return self.rule(self.base_lrs[i], epoch, i) end

--- sched:apply() — sets every group's lr for the current epoch.
function Schedule:apply()
  if self.main then
    self.main.epoch, self.main.base_lrs = self.epoch, self.base_lrs
  end
  for i, g in ipairs(self.opt.param_groups) do g.lr = self:lr_at(i, self.epoch) end
end

--- sched:step() — one epoch further.
function Schedule:step()
  self.epoch = self.epoch + 1
  self:apply()
end

--- sched:get_lr() → {lr of group 1, lr of group 2, ...}
function Schedule:get_lr()
  local out = {}
  for i, g in ipairs(self.opt.param_groups) do out[i] = g.lr end
  return out
end

function Schedule:state_dict()
  return {epoch = self.epoch, base_lrs = {table.unpack(self.base_lrs)}}
end

function Schedule:load_state_dict(sd)
  if type(sd) ~= "table" or math.type(sd.epoch) ~= "integer" or type(sd.base_lrs) ~= "table" then
    error("schedule:load_state_dict: {epoch = <integer>, base_lrs = {...}} expected", 2)
  end
  if #sd.base_lrs ~= #self.base_lrs then
    error(string.format("schedule:load_state_dict: %d groups saved, %d in the optimizer", #sd.base_lrs,
      #self.base_lrs), 2)
  end
  self.epoch = sd.epoch
  self.base_lrs = {table.unpack(sd.base_lrs)}
  self:apply()
end

local function check_positive(what, name, v, integer)
  if type(v) ~= "number" or v <= 0 or (integer and math.type(v) ~= "integer") then
    error(string.format("%s: %s must be a positive %s, got %s", what, name, integer and "integer" or "number",
      tostring(v)), 3)
  end
end

--- schedule.MultiStep(opt, {milestones = {10, 20}, gamma = 0.1})
function schedule.MultiStep(opt, opts)
  local o = options.check("schedule.MultiStep", opts, {milestones = options.REQUIRED, gamma = 0.1})
  if type(o.milestones) ~= "table" then error("schedule.MultiStep: milestones must be an array of epochs", 2) end
  for i, m in ipairs(o.milestones) do
    check_positive("schedule.MultiStep", "milestone " .. i, m, true)
    if i > 1 and m <= o.milestones[i - 1] then error("schedule.MultiStep: milestones must increase", 2) end
  end
  local milestones, gamma = {table.unpack(o.milestones)}, o.gamma
  return new(opt, function(base, e)
    local k = 0
    for _, m in ipairs(milestones) do
      if e >= m then k = k + 1 end
    end
    return base * gamma ^ k
  end, "schedule.MultiStep")
end

--- schedule.Step(opt, {step_size = 10, gamma = 0.1})
function schedule.Step(opt, opts)
  local o = options.check("schedule.Step", opts, {step_size = options.REQUIRED, gamma = 0.1})
  check_positive("schedule.Step", "step_size", o.step_size, true)
  return new(opt, function(base, e) return base * o.gamma ^ (e // o.step_size) end, "schedule.Step")
end

--- schedule.Cosine(opt, {T_max = 30, eta_min = 0})
function schedule.Cosine(opt, opts)
  local o = options.check("schedule.Cosine", opts, {T_max = options.REQUIRED, eta_min = 0})
  check_positive("schedule.Cosine", "T_max", o.T_max, true)
  return new(opt, function(base, e)
    return o.eta_min + (base - o.eta_min) * (1 + math.cos(math.pi * e / o.T_max)) / 2
  end, "schedule.Cosine")
end

--- schedule.warmup(opt, {epochs = 5, start_factor = 0.1, main = <schedule>})
function schedule.warmup(opt, opts)
  local o = options.check("schedule.warmup", opts,
    {epochs = options.REQUIRED, start_factor = 1 / 3, main = options.OPTIONAL})
  check_positive("schedule.warmup", "epochs", o.epochs, true)
  if type(o.start_factor) ~= "number" or o.start_factor <= 0 or o.start_factor > 1 then
    error("schedule.warmup: start_factor must be in (0, 1]", 2)
  end
  local main = o.main
  if main ~= nil and (getmetatable(main) ~= Schedule or main.opt ~= opt) then
    error("schedule.warmup: main must be a schedule of the same optimizer", 2)
  end
  local sf, n = o.start_factor, o.epochs
  local self = new(opt, function(base, e, i)
    local lr = main and main:lr_at(i, e) or base
    return lr * (sf + (1 - sf) * math.min(e, n) / n)
  end, "schedule.warmup")
  self.main = main
  if main then
    self.base_lrs = {table.unpack(main.base_lrs)}
    self:apply()
  end
  return self
end

return schedule
