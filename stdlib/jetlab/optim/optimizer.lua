-- jetlab.optim.optimizer — the base of every optimizer: parameter groups,
-- zero_grad, step over the parameters that have a gradient, state_dict.
--
--   local Optimizer = require "jetlab.optim.optimizer"
--   local Mine = Optimizer.class("Mine", {lr = options.REQUIRED, decay = 0})
--   function Mine:update(p, grad, group, state) ... end   -- in place on p
--   local opt = Mine(model:parameters(), {lr = 0.1})
--
-- Parameters come as an array of tensors, or as an array of groups
-- {params = {...}, lr = ...}: a group's own settings override the options
-- given to the constructor, which override the class defaults. Every
-- parameter has a global index: its position counting through the groups in
-- order (1-based), which keys the state. step() skips parameters without a
-- gradient and frozen ones (requires_grad false); update(p, grad, group,
-- state) runs under no_grad with the parameter's state table (created empty).
--
-- state_dict() format (tensors share storage with the live state; the
-- checkpoint writer copies them out):
--   { groups = { {params = {1, 2, 3}, lr = 1e-3, betas = {0.9, 0.999}, ...}, ... },
--     state  = { ["1"] = {step = 5, exp_avg = <tensor>, exp_avg_sq = <tensor>},
--                ["4"] = {momentum_buffer = <tensor>}, ... } }
-- Keys of state are the global indices as strings; each entry holds numbers
-- (step) and tensors of the parameter's shape. load_state_dict(sd) checks the
-- group sizes and every tensor's shape against the live parameters, then
-- copies the hyperparameters and (copies of) the state in.

local jl = require "jetlab"
local options = require "jetlab.options"

local Optimizer = {}
Optimizer.__index = Optimizer

local function is_group(x)
  return type(x) == "table" and not jl.is_tensor(x) and x.params ~= nil
end

local shape_str, same_shape = jl.shape_str, jl.same_shape

-- The group list of params_or_groups, each group {params = array, <settings>}.
local function build_groups(what, params_or_groups, settings)
  if type(params_or_groups) ~= "table" then error(what .. ": parameters (an array of tensors or groups) expected", 3) end
  local raw = is_group(params_or_groups[1]) and params_or_groups or {{params = params_or_groups}}
  local seen, groups, index = {}, {}, 0
  for gi, g in ipairs(raw) do
    if not is_group(g) then error(string.format("%s: group %d must be a table with params", what, gi), 3) end
    local extra = {}
    for k, v in pairs(g) do
      if k ~= "params" then extra[k] = v end
    end
    local group = options.check(string.format("%s group %d", what, gi), extra, settings)
    group.params = {}
    for pi, p in ipairs(g.params) do
      if not jl.is_tensor(p) then error(string.format("%s: group %d item %d is not a tensor", what, gi, pi), 3) end
      if seen[p] then error(string.format("%s: a parameter appears twice (group %d item %d)", what, gi, pi), 3) end
      if p.dtype ~= "f32" or not p.is_leaf then
        error(string.format("%s: group %d item %d must be an f32 leaf tensor", what, gi, pi), 3)
      end
      seen[p] = true
      index = index + 1
      group.params[pi] = p
    end
    groups[gi] = group
  end
  if index == 0 then error(what .. ": no parameters to optimize", 3) end
  return groups
end

-- A value for a message: strings quoted, the rest as tostring shows it.
local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

--- Optimizer.check_number(where, key, v, min[, below]) raises "<where>: <key>
--- must be a finite number >= min [and < below], got <v>" unless v is one;
--- for the classes' validate(group, where).
function Optimizer.check_number(where, key, v, min, below)
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge or v < min or (below and v >= below) then
    error(string.format("%s: %s must be a finite number >= %g%s, got %s", where, key, min,
      below and string.format(" and < %g", below) or "", show(v)), 4)
  end
end

--- Optimizer.class(name, defaults) → a new optimizer class: Class(params, opts).
--- A class's validate(group, where) checks one group's settings, naming
--- where (the class, or "<class> group <i>" when there are several groups).
function Optimizer.class(name, defaults)
  local cls = {__name = name, defaults = defaults}
  cls.__index = cls
  options.declare(cls, defaults)
  return setmetatable(cls, {
    __index = Optimizer,
    __call = function(c, params, opts)
      -- a required setting may come from the constructor or from every group
      local loose, group_defaults = {}, {}
      for k, v in pairs(c.defaults) do loose[k] = v == options.REQUIRED and options.OPTIONAL or v end
      local settings = options.check(name, opts, loose)
      for k, v in pairs(c.defaults) do
        if settings[k] == nil then group_defaults[k] = v else group_defaults[k] = settings[k] end
      end
      local self = setmetatable({settings = settings, state = {}}, c)
      self.param_groups = build_groups(name, params, group_defaults)
      if self.validate then
        local groups = self.param_groups
        for gi, g in ipairs(groups) do
          self:validate(g, #groups > 1 and string.format("%s group %d", name, gi) or name)
        end
      end
      return self
    end,
  })
end

--- opt:each(fn) → calls fn(p, group, index) for every parameter in order.
function Optimizer:each(fn)
  local index = 0
  for _, group in ipairs(self.param_groups) do
    for _, p in ipairs(group.params) do
      index = index + 1
      fn(p, group, index)
    end
  end
end

--- opt:zero_grad() — every parameter's .grad becomes nil.
function Optimizer:zero_grad()
  self:each(function(p) p.grad = nil end)
end

--- opt:step() — one update of every trainable parameter that has a gradient.
function Optimizer:step()
  jl.no_grad(function()
    self:each(function(p, group, index)
      if not p.requires_grad then return end
      local grad = p.grad
      if grad == nil then return end
      local key = tostring(index)
      local state = self.state[key]
      if state == nil then
        state = {}
        self.state[key] = state
      end
      self:update(p, grad, group, state)
    end)
  end)
end

-- A copy of a group's settings (tables such as betas copied too).
local function copy_settings(group)
  local out = {}
  for k, v in pairs(group) do
    if k ~= "params" then
      if type(v) == "table" then
        local c = {}
        for i, x in pairs(v) do c[i] = x end
        v = c
      end
      out[k] = v
    end
  end
  return out
end

--- opt:state_dict() → {groups = ..., state = ...} (see the header)
function Optimizer:state_dict()
  local groups, index = {}, 0
  for gi, group in ipairs(self.param_groups) do
    local g = copy_settings(group)
    g.params = {}
    for pi = 1, #group.params do
      index = index + 1
      g.params[pi] = index
    end
    groups[gi] = g
  end
  local state = {}
  for key, s in pairs(self.state) do
    local c = {}
    for k, v in pairs(s) do c[k] = jl.is_tensor(v) and v:detach() or v end
    state[key] = c
  end
  return {groups = groups, state = state}
end

--- opt:load_state_dict(sd) — restores hyperparameters and state (copied).
function Optimizer:load_state_dict(sd)
  local what = self.__name .. ":load_state_dict"
  if type(sd) ~= "table" or type(sd.groups) ~= "table" or type(sd.state) ~= "table" then
    error(what .. ": a table {groups = ..., state = ...} is expected", 2)
  end
  if #sd.groups ~= #self.param_groups then
    error(string.format("%s: %d groups in the state dict, %d in the optimizer", what, #sd.groups, #self.param_groups), 2)
  end
  local params = {}
  for gi, group in ipairs(self.param_groups) do
    local saved = sd.groups[gi]
    if type(saved.params) ~= "table" or #saved.params ~= #group.params then
      error(string.format("%s: group %d has %d parameters in the state dict, %d in the optimizer", what, gi,
        type(saved.params) == "table" and #saved.params or 0, #group.params), 2)
    end
    for _, p in ipairs(group.params) do params[#params + 1] = p end
  end
  local state = {}
  for key, s in pairs(sd.state) do
    local p = params[tonumber(key)]
    if p == nil then error(string.format("%s: state for parameter %s, which does not exist", what, tostring(key)), 2) end
    local c = {}
    for k, v in pairs(s) do
      if jl.is_tensor(v) then
        if not same_shape(v, p) then
          error(string.format("%s: state %s.%s has shape %s but the parameter has %s", what, tostring(key), k,
            shape_str(v), shape_str(p)), 2)
        end
        v = jl.no_grad(function() return v:to(p.device):to("f32"):clone() end)
      end
      c[k] = v
    end
    state[tostring(key)] = c
  end
  for gi, group in ipairs(self.param_groups) do
    local settings = copy_settings(sd.groups[gi])
    options.check(string.format("%s group %d", what, gi), settings, self.defaults)
    for k, v in pairs(settings) do group[k] = v end
  end
  self.state = state
end

return Optimizer
