-- jetlab.interchange — models in and out of jetlab: PyTorch state_dicts
-- (torch.save, zip or legacy) and .safetensors files mapped onto jetlab's
-- reference models by a layout (jetlab.layouts), checked name by name and
-- shape by shape. Behind ckpt.import / ckpt.export and `jetlab import / export`.
--
--   local X = require "jetlab.interchange"
--   local model, report = assert(X.import("Top_QCD_500GeV_LundNet5.pt", {model = "lundnet5", layout = "lundnet"}))
--   print(report.parameters, report.tensors)      -- 391,724 parameters from 112 tensors
--   assert(X.export(model, "lundnet5.safetensors", {layout = "lundnet"}))
--
-- import → model (eval mode, model.spec set), report {format, tensors, parameters,
-- layout, spec = {model = model spec, inputs = what the model reads}} | nil, message.
-- Every outside tensor must map onto a jetlab parameter or buffer of the same
-- shape and every jetlab one must be filled: a missing, unexpected or mis-shaped
-- tensor is an error naming it, its shape and the expected one. Values are
-- converted to the jetlab tensor's dtype (f64/f16 weights to f32, counters to i64).
-- export writes the model's parameters and buffers under the layout's names,
-- atomically, with metadata {format = "pt", jetlab_model = spec name}.
--
-- spec.inputs: {kind = "lund", features = 5 | 3} (Lund-plane graphs of the
-- constituents), {kind = "ragged"} (the 7 ATLAS features of every constituent,
-- coordinates = columns 1, 2) or {kind = "flat", max_constituents = n} (the
-- flattened features of the first n constituents); see X.inputs_of.

local core = require "jetlab.core"
local jetlab = require "jetlab"
local layouts = require "jetlab.layouts"
local models = require("jetlab.nn").models
local ckpt_names = require("jetlab.ckpt").named_tensors

local X = {}

local shape_str = jetlab.shape_str

--- X.inputs_of(spec) → the inputs a reference model of that spec reads (see the header).
function X.inputs_of(spec)
  local name = spec.name
  if name:match("^lundnet") then
    local o = spec.args and spec.args[1] or {}
    local features = name == "lundnet3" and 3 or name == "lundnet5" and 5 or o.features or 5
    return {kind = "lund", features = features}
  elseif name:match("^particlenet") then
    return {kind = "ragged"}
  elseif name:match("^fcnn") then
    local a = spec.args or {}
    local inputs = type(a[1]) == "table" and a[1].inputs or a[1]
    return {kind = "flat", max_constituents = math.tointeger(inputs // 7)}
  end
  error("no input description for model " .. tostring(name), 2)
end

local function check_opts(what, opts)
  if type(opts) ~= "table" then error(what .. ": an options table {model =, layout =} is expected", 3) end
end

-- The jetlab tensor t reshaped to the outside rank of rule (trailing 1s), or t.
local function outside_shape(t, rule)
  if not rule.outside_rank or t:dim() >= rule.outside_rank then return t end
  local shape = {}
  for i = 1, t:dim() do shape[i] = t.shape[i] end
  for i = t:dim() + 1, rule.outside_rank do shape[i] = 1 end
  return t:reshape(table.unpack(shape))
end

-- The outside tensor t without the trailing size-1 dims its rule adds, or nil when
-- those dims are not 1.
local function jetlab_shape(t, rule, rank)
  if not rule.outside_rank or t:dim() == rank then return t end
  if t:dim() ~= rule.outside_rank then return nil end
  local shape = {}
  for i = 1, t:dim() do
    if i > rank then
      if t.shape[i] ~= 1 then return nil end
    else
      shape[i] = t.shape[i]
    end
  end
  return t:reshape(table.unpack(shape))
end

local function count_parameters(model)
  local n = 0
  for _, e in ipairs(model:named_parameters()) do n = n + e[2]:numel() end
  return n
end

--- X.import(path, {model = cli name, layout = name}) → model, report | nil, message
function X.import(path, opts)
  check_opts("import", opts)
  local layout = layouts.get(opts.layout)
  local make_spec = layout.models[opts.model]
  if not make_spec then
    local names = {}
    for k in pairs(layout.models) do names[#names + 1] = k end
    table.sort(names)
    return nil, string.format("import: layout %s has no model '%s' (one of %s)", layout.name, tostring(opts.model),
      table.concat(names, ", "))
  end
  local file, err = core.model_files.read(path)
  if not file then return nil, "import: " .. err end

  local outside, order = {}, {}
  for _, e in ipairs(file.tensors) do
    local name = layouts.strip(layout, e[1])
    local why = layouts.refusal(layout, name)
    if why then return nil, string.format("import: %s: tensor '%s' %s: %s", path, e[1], shape_str(e[2]), why) end
    outside[name] = e[2]
    order[#order + 1] = name
  end
  local ok, spec = pcall(make_spec, outside)
  if not ok then return nil, string.format("import: %s as %s (%s layout): %s", path, opts.model, layout.name, spec) end
  local model = models.build(spec)

  local wanted = {}
  for _, e in ipairs(ckpt_names(model)) do wanted[e[1]] = e[2] end
  local filled = {}
  for _, name in ipairs(order) do
    local t = outside[name]
    local jname, rule = layouts.to_jetlab(layout, name)
    local dst = jname and wanted[jname]
    if not dst then
      return nil, string.format("import: %s: unexpected tensor '%s' %s: %s has no %s (layout %s)", path, name,
        shape_str(t), opts.model, jname and "parameter or buffer " .. jname or "counterpart", layout.name)
    end
    local src = jetlab_shape(t, rule, dst:dim())
    if not src or not jetlab.same_shape(src, dst) then
      return nil, string.format("import: %s: tensor '%s' is %s; %s expects %s for %s", path, name, shape_str(t),
        opts.model, shape_str(outside_shape(dst, rule)), jname)
    end
    filled[jname] = src
  end
  for _, e in ipairs(ckpt_names(model)) do
    if not filled[e[1]] then
      local oname = layouts.to_outside(layout, e[1]) or e[1]
      return nil, string.format("import: %s: missing tensor '%s' (%s for %s's %s)", path, oname, shape_str(e[2]),
        opts.model, e[1])
    end
  end
  core.no_grad(function()
    for _, e in ipairs(ckpt_names(model)) do
      local src = filled[e[1]]
      e[2]:copy_(src.dtype == e[2].dtype and src or src:to(e[2].dtype))
    end
  end)
  model:eval()
  return model, {format = file.format, tensors = #file.tensors, parameters = count_parameters(model),
    layout = layout.name, spec = {model = spec, inputs = X.inputs_of(spec)}}
end

--- X.export(model, path, {layout = name}) → true | nil, message
function X.export(model, path, opts)
  check_opts("export", opts)
  local layout = layouts.get(opts.layout)
  local entries = {}
  for _, e in ipairs(ckpt_names(model)) do
    local oname, rule = layouts.to_outside(layout, e[1])
    if not oname then
      return nil, string.format("export: the model's %s %s has no name in layout %s", e[1], shape_str(e[2]),
        layout.name)
    end
    entries[#entries + 1] = {oname, outside_shape(e[2], rule)}
  end
  local meta = {format = "pt", layout = layout.name}
  if model.spec then meta.jetlab_model = model.spec.name end
  local ok, err = core.model_files.write_safetensors(path, entries, meta)
  if not ok then return nil, "export: " .. err end
  return true
end

return X
