-- jetlab.nn.module — nn.Module, the base class of every layer and model.
--
--   local nn = require "jetlab.nn"
--   local Scale = nn.Module:extend("Scale")
--   function Scale:__init(n)
--     nn.Module.__init(self)
--     self:register_parameter("gain", jl.ones(n))
--   end
--   function Scale:_reset() nn.init.ones_(self.gain) end
--   function Scale:forward(x) return x * self.gain end
--
--   local m = Scale(4)
--   local y = m(jl.randn(2, 4))             -- __call runs forward
--   m:freeze("gain"); print(m, m:num_parameters({trainable = true}))
--
-- A module keeps its parameters, buffers and children as fields (self.weight,
-- self.head) and remembers their registration order, which gives the stable
-- dotted names of named_parameters ("blocks.1.mlp.2.weight"). Parameters are
-- f32 leaf tensors; buffers (running statistics, counters) are tensors saved in
-- the state dict but never trained. A layer with parameters defines _reset()
-- to (re)initialise its own, in place, so optimizers keep their references.
--
-- Names in freeze/unfreeze: a plain dotted prefix ("blocks.1" matches
-- "blocks.1.weight" but not "blocks.10.weight"), or a Lua pattern when it
-- holds one of ^$*+?()[]%- ("^blocks%.[12]%."). No pattern means everything.

local jl = require "jetlab"

local Module = {}
Module.__index = Module
Module.__name = "Module"

local inherited_metamethods = {"__call", "__tostring"}

local function construct(cls, ...)
  local obj = setmetatable({}, cls)
  obj:__init(...)
  return obj
end

--- Module:extend(name) → a subclass; Sub(...) creates an instance and calls Sub.__init.
function Module:extend(name)
  assert(type(name) == "string", "extend: a class name is expected")
  local cls = {__name = name, super = self}
  for _, k in ipairs(inherited_metamethods) do cls[k] = self[k] end
  cls.__index = cls
  return setmetatable(cls, {__index = self, __call = construct})
end

setmetatable(Module, {__call = construct})

function Module:__init()
  rawset(self, "training", true)
  self._param_names, self._buffer_names, self._child_names, self._children = {}, {}, {}, {}
end

--- Module.is_module(x) → true for instances of Module and its subclasses.
function Module.is_module(x)
  return type(x) == "table" and type(rawget(x, "_child_names")) == "table" and getmetatable(x) ~= nil
end

function Module:__call(...) return self:forward(...) end

function Module:forward()
  error(self.__name .. ": forward is not implemented", 2)
end

-- Errors unless name is a fresh field name of self.
local function check_name(self, what, name)
  if type(name) ~= "string" or name == "" or name:find(".", 1, true) then
    error(string.format("%s: name must be a non-empty string without dots, got %s", what, tostring(name)), 3)
  end
  if self[name] ~= nil then
    error(string.format("%s: '%s' is already a field or method of %s", what, name, self.__name), 3)
  end
end

--- self:register_parameter(name, t) → t: an f32 leaf, set to require grad.
function Module:register_parameter(name, t)
  check_name(self, "register_parameter", name)
  if not jl.is_tensor(t) then error("register_parameter: " .. name .. " must be a tensor", 2) end
  if not t.is_leaf then error("register_parameter: " .. name .. " must be a leaf tensor (detach it first)", 2) end
  t.requires_grad = true
  rawset(self, name, t)
  table.insert(self._param_names, name)
  return t
end

--- self:register_buffer(name, t) → t: state that is saved but not trained.
function Module:register_buffer(name, t)
  check_name(self, "register_buffer", name)
  if not jl.is_tensor(t) then error("register_buffer: " .. name .. " must be a tensor", 2) end
  rawset(self, name, t)
  table.insert(self._buffer_names, name)
  return t
end

--- self:register_module(name, m) → m: a child, reachable as self[name].
function Module:register_module(name, m)
  check_name(self, "register_module", name)
  if not Module.is_module(m) then error("register_module: " .. name .. " must be an nn module", 2) end
  rawset(self, name, m)
  table.insert(self._child_names, name)
  self._children[name] = m
  return m
end

local function join(prefix, name)
  return prefix == "" and name or prefix .. "." .. name
end

--- self:named_modules() → array of {name, module}, self first as "", depth first
--- in registration order; a module reachable twice appears once.
function Module:named_modules()
  local out, seen = {}, {}
  local function walk(m, prefix)
    if seen[m] then return end
    seen[m] = true
    out[#out + 1] = {prefix, m}
    for _, name in ipairs(m._child_names) do walk(m._children[name], join(prefix, name)) end
  end
  walk(self, "")
  return out
end

--- self:children() → array of the direct children; named_children() → {name, module} pairs.
function Module:named_children()
  local out = {}
  for i, name in ipairs(self._child_names) do out[i] = {name, self._children[name]} end
  return out
end

function Module:children()
  local out = {}
  for i, name in ipairs(self._child_names) do out[i] = self._children[name] end
  return out
end

-- {name, tensor} for the given registry ("_param_names" or "_buffer_names"), deduplicated.
local function named_tensors(self, registry)
  local out, seen = {}, {}
  for _, entry in ipairs(self:named_modules()) do
    local prefix, m = entry[1], entry[2]
    for _, name in ipairs(m[registry]) do
      local t = m[name]
      if t ~= nil and not seen[t] then
        seen[t] = true
        out[#out + 1] = {join(prefix, name), t}
      end
    end
  end
  return out
end

--- self:named_parameters() → array of {name, tensor} in definition order.
function Module:named_parameters() return named_tensors(self, "_param_names") end

--- self:named_buffers() → array of {name, tensor}.
function Module:named_buffers() return named_tensors(self, "_buffer_names") end

--- self:parameters([{trainable = true}]) → array of tensors: every parameter
--- (frozen ones too, as PyTorch), or only those requiring grad.
function Module:parameters(opts)
  local trainable = opts and opts.trainable
  local out = {}
  for _, entry in ipairs(self:named_parameters()) do
    if not trainable or entry[2].requires_grad then out[#out + 1] = entry[2] end
  end
  return out
end

function Module:buffers()
  local out = {}
  for i, entry in ipairs(self:named_buffers()) do out[i] = entry[2] end
  return out
end

--- self:num_parameters([{trainable = true}]) → element count.
function Module:num_parameters(opts)
  local n = 0
  for _, p in ipairs(self:parameters(opts)) do n = n + p:numel() end
  return n
end

--- self:train([mode = true]) / self:eval() → self, recursively.
function Module:train(mode)
  if mode == nil then mode = true end
  for _, entry in ipairs(self:named_modules()) do rawset(entry[2], "training", mode) end
  return self
end

function Module:eval() return self:train(false) end

--- self:apply(fn) → self: fn(module) on self and every descendant.
function Module:apply(fn)
  for _, entry in ipairs(self:named_modules()) do fn(entry[2]) end
  return self
end

--- self:zero_grad() → self: every parameter's grad set to nil.
function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do p.grad = nil end
  return self
end

--- Module.name_matches(name, pattern): the rule of freeze/unfreeze (see top).
function Module.name_matches(name, pattern)
  if pattern == nil then return true end
  if pattern:find("[%^%$%*%+%?%(%)%[%]%%%-]") then return name:find(pattern) ~= nil end
  return name == pattern or name:sub(1, #pattern + 1) == pattern .. "."
end

local function set_requires_grad(self, what, pattern, on)
  if pattern ~= nil and type(pattern) ~= "string" then error(what .. ": pattern must be a string or nil", 3) end
  local hits = 0
  for _, entry in ipairs(self:named_parameters()) do
    if Module.name_matches(entry[1], pattern) then
      entry[2].requires_grad = on
      if not on then entry[2].grad = nil end
      hits = hits + 1
    end
  end
  if hits == 0 and pattern ~= nil then
    error(string.format("%s: no parameter name matches '%s'", what, pattern), 3)
  end
  return self
end

--- self:freeze([pattern]) → self: matching parameters stop requiring grad (and lose their grad).
function Module:freeze(pattern) return set_requires_grad(self, "freeze", pattern, false) end

--- self:unfreeze([pattern]) → self
function Module:unfreeze(pattern) return set_requires_grad(self, "unfreeze", pattern, true) end

--- self:get(path) → the submodule at a dotted path ("blocks.1.mlp"); "" is self.
function Module:get(path)
  local m, walked = self, ""
  for name in tostring(path):gmatch("[^.]+") do
    local child = m._children[name]
    if not child then
      error(string.format("get: no submodule '%s' (children of %s: %s)", join(walked, name),
        walked == "" and "the model" or walked, #m._child_names > 0 and table.concat(m._child_names, ", ") or "none"), 2)
    end
    m, walked = child, join(walked, name)
  end
  return m
end

--- self:reset_parameters([path]) → self: re-initialises the submodule at path
--- (self when nil) and everything under it, in place.
function Module:reset_parameters(path)
  local target = path and path ~= "" and self:get(path) or self
  for _, entry in ipairs(target:named_modules()) do
    if entry[2]._reset then entry[2]:_reset() end
  end
  return self
end

--- self:to(device) → self: parameters and buffers moved ("cpu", "cuda"); grads dropped.
function Module:to(device)
  local moved = {}
  for _, entry in ipairs(self:named_modules()) do
    local m = entry[2]
    for _, registry in ipairs({"_param_names", "_buffer_names"}) do
      for _, name in ipairs(m[registry]) do
        local t = m[name]
        if t ~= nil and t.device ~= device then
          if not moved[t] then
            local r = jl.no_grad(function() return t:to(device) end)
            if t.requires_grad then r.requires_grad = true end
            moved[t] = r
          end
          rawset(m, name, moved[t])
        end
      end
    end
  end
  return self
end

-- {name, tensor} for parameters then buffers.
local function named_state(self)
  local out = self:named_parameters()
  for _, entry in ipairs(self:named_buffers()) do out[#out + 1] = entry end
  return out
end

--- self:state_dict() → {name = tensor}: parameters and buffers, detached (sharing storage).
function Module:state_dict()
  local sd = {}
  for _, entry in ipairs(named_state(self)) do sd[entry[1]] = entry[2]:detach() end
  return sd
end

local shape_str, same_shape = jl.shape_str, jl.same_shape

--- self:load_state_dict(sd[, {strict = true}]) → {missing = {...}, unexpected = {...}}.
--- Copies every entry in place (converted to the model's dtype and device).
--- Shapes must always match; strict also requires the same names. Nothing is
--- copied when anything is wrong; the error names the first problem.
function Module:load_state_dict(sd, opts)
  if type(sd) ~= "table" then error("load_state_dict: a table of name = tensor is expected", 2) end
  local strict = not (opts and opts.strict == false)
  local own, missing, unexpected, pairs_to_copy = {}, {}, {}, {}
  for _, entry in ipairs(named_state(self)) do
    local name, t = entry[1], entry[2]
    own[name] = true
    local src = sd[name]
    if src == nil then
      missing[#missing + 1] = name
      if strict then error("load_state_dict: " .. name .. " is missing from the checkpoint", 2) end
    elseif not jl.is_tensor(src) then
      error(string.format("load_state_dict: %s in the checkpoint is a %s, not a tensor", name, type(src)), 2)
    elseif not same_shape(src, t) then
      error(string.format("load_state_dict: %s has shape %s in the checkpoint but %s in the model", name,
        shape_str(src), shape_str(t)), 2)
    else
      pairs_to_copy[#pairs_to_copy + 1] = {t, src}
    end
  end
  for name in pairs(sd) do
    if not own[name] then unexpected[#unexpected + 1] = tostring(name) end
  end
  table.sort(unexpected)
  if strict and #unexpected > 0 then
    error("load_state_dict: unexpected " .. unexpected[1] .. " in the checkpoint (the model has no such entry)", 2)
  end
  jl.no_grad(function()
    for _, p in ipairs(pairs_to_copy) do
      local dst, src = p[1], p[2]
      dst:copy_(src.device == dst.device and src or src:to(dst.device))
    end
  end)
  return {missing = missing, unexpected = unexpected}
end

--- self:extra_repr() → the text inside the parentheses of this module's line.
function Module:extra_repr() return "" end

-- " -- 224400 params: weight (400, 560), bias (400)" for a module's own parameters.
local function own_params_note(m)
  local parts, n, frozen = {}, 0, 0
  for _, name in ipairs(m._param_names) do
    local t = m[name]
    if t ~= nil then
      parts[#parts + 1] = name .. " " .. shape_str(t)
      n = n + t:numel()
      if not t.requires_grad then frozen = frozen + 1 end
    end
  end
  if #parts == 0 then return "" end
  local state = frozen == 0 and "" or frozen == #parts and ", frozen" or ", partly frozen"
  return string.format("  -- %d params%s: %s", n, state, table.concat(parts, ", "))
end

local function render(m, indent, lines, label)
  local head = string.format("%s%s%s(%s)", indent, label, m.__name, m:extra_repr())
  if #m._child_names == 0 then
    lines[#lines + 1] = head .. own_params_note(m)
    return
  end
  lines[#lines + 1] = head:sub(1, -2) .. own_params_note(m)
  for _, name in ipairs(m._child_names) do
    render(m._children[name], indent .. "  ", lines, "(" .. name .. "): ")
  end
  lines[#lines + 1] = string.format("%s)  -- %d params, %d trainable", indent, m:num_parameters(),
    m:num_parameters({trainable = true}))
end

--- tostring(model): the module tree like PyTorch's repr, with parameter shapes and counts.
function Module:__tostring()
  local lines = {}
  render(self, "", lines, "")
  return table.concat(lines, "\n")
end

return Module
