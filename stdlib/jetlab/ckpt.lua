-- jetlab.ckpt — checkpoints: a model's parameters and buffers, optimizer
-- state, epoch, config and extras in one HDF5 file, written atomically.
--
--   local ckpt = require "jetlab.ckpt"
--   assert(ckpt.save("run/best.h5", {model = model, optimizer = opt, epoch = 12,
--                                    config = cfg, extra = {mean = mu, std = sigma}}))
--   local c = assert(ckpt.load("run/best.h5"))   -- {model_state=, optimizer_state=, epoch=, config=, extra=,
--                                                 --  train_state= (train.fit's resumable state, last/interrupted.h5)}
--   assert(ckpt.load_into("run/best.h5", model, {optimizer = opt}))        -- everything, strictly
--   assert(ckpt.load_into("w500.h5", tl_model, {strict = false, only = "blocks"}))  -- a backbone (transfer)
--   local model, state = assert(ckpt.model("run/best.h5"))   -- rebuilt from the checkpoint's spec
--   local m, report = assert(ckpt.import("LundNet5.pt", {model = "lundnet5", layout = "lundnet"}))
--   assert(ckpt.export(m, "lundnet5.safetensors", {layout = "lundnet"}))   -- m: a model or a checkpoint path
--   assert(ckpt.export_onnx("run/best.h5", "fcnn.onnx"))                    -- jetlab.onnx
--
-- File layout (h5dump-readable):
--   /                  attributes format = "jetlab-checkpoint", format_version = 1,
--                      epoch (number), config (a Lua literal, jetlab.literal)
--   /model/<name>      one dataset per named parameter and buffer ("blocks.1.weight")
--   /optimizer/...     the optimizer's state_dict: its tensors as datasets at
--   /extra/...         their key paths, the rest of the table as the Lua literal
--   /spec/...          what the model is and reads: {model = {name =, args =} (nn.models.build),
--                      inputs = {kind =, ...} (jetlab.interchange), ...}; written from
--                      model.spec when the model has one and no spec is given
--   /train_state/...   (train.fit's resume state: position, RNG, schedule, history)
--                      attribute `skeleton` on the group (tensors appear there as
--                      {["$tensor"] = "state/1/exp_avg"}); `extra` works the same
--                      way, for standardisation statistics and the like.
--
-- `model` may be an nn module (named_parameters / named_buffers) or a plain
-- {name = tensor} table; `optimizer` an object with state_dict() or the state
-- table itself. save writes path .. ".tmp", fsyncs it and renames it over
-- path (core/h5_tensors.c), so a crash leaves the old checkpoint or the new
-- one. Every function returns nil, message on failure (DESIGN rule 4): a
-- missing, truncated or foreign file, a name or shape mismatch in load_into.
-- Malformed arguments (a non-table opts, a function inside config) raise.

local core = require "jetlab.core"
local jetlab = require "jetlab"
local literal = require "jetlab.literal"
local options = require "jetlab.options"
local name_matches = require("jetlab.nn.module").name_matches

local ckpt = {}

local FORMAT, FORMAT_VERSION = "jetlab-checkpoint", 1

-- {name, tensor} entries of a named_parameters-style list ({name, tensor} or {name=, tensor=}).
local function add_entries(out, list)
  for _, e in ipairs(list) do
    out[#out + 1] = {e.name or e[1], e.tensor or e[2]}
  end
end

--- ckpt.named_tensors(model) → array of {name, tensor}: parameters, then buffers
--- (an nn module), or the sorted entries of a plain {name = tensor} table.
function ckpt.named_tensors(model)
  local out = {}
  if type(model.named_parameters) == "function" then
    add_entries(out, model:named_parameters())
    if type(model.named_buffers) == "function" then add_entries(out, model:named_buffers()) end
  else
    for name, t in pairs(model) do
      assert(type(name) == "string" and core.is_tensor(t), "ckpt: model state must map names to tensors")
      out[#out + 1] = {name, t}
    end
    table.sort(out, function(a, b) return a[1] < b[1] end)
  end
  return out
end

local shape_str, same_shape = jetlab.shape_str, jetlab.same_shape

-- A dataset name for one key (no '/', not empty, not '.').
local function component(k)
  local s = tostring(k):gsub("/", "|")
  if s == "" or s == "." or s == ".." then s = "_" .. s end
  return s
end

-- Splits value into datasets (appended to out as {group/path, tensor}) and a
-- skeleton: value with every tensor replaced by {["$tensor"] = path}.
local function split(value, group, path, out, taken)
  if core.is_tensor(value) then
    local name = group .. "/" .. path
    if taken[name] then error("ckpt: two keys of " .. group .. " map to the dataset name " .. name, 0) end
    taken[name] = true
    out[#out + 1] = {name, value}
    return {["$tensor"] = path}
  elseif type(value) == "table" then
    local skeleton = {}
    for k, v in pairs(value) do
      skeleton[k] = split(v, group, path == "" and component(k) or path .. "/" .. component(k), out, taken)
    end
    return skeleton
  end
  return value
end

-- The inverse of split: skeleton with {["$tensor"] = path} replaced by group's
-- datasets (tensors: full name → tensor); file names the file for messages.
local function join(skeleton, tensors, group, file)
  if type(skeleton) ~= "table" then return skeleton end
  local ref = skeleton["$tensor"]
  if ref then
    local t = tensors[group .. "/" .. ref]
    if not t then error(string.format("ckpt: %s in %s lists the tensor %s but there is no such dataset", group, file, ref), 0) end
    return t
  end
  local out = {}
  for k, v in pairs(skeleton) do out[k] = join(v, tensors, group, file) end
  return out
end

--- ckpt.save(path, {model=, optimizer=, epoch=, config=, extra=, spec=, train_state=}) → true | nil, message
function ckpt.save(path, what)
  assert(type(path) == "string", "ckpt.save: path (string) expected")
  local OPTIONAL = options.OPTIONAL
  what = options.check("ckpt.save", what,
    {model = OPTIONAL, optimizer = OPTIONAL, epoch = OPTIONAL, config = OPTIONAL, extra = OPTIONAL,
     spec = OPTIONAL, train_state = OPTIONAL})
  if what.spec == nil and what.model and type(what.model.spec) == "table" then what.spec = {model = what.model.spec} end
  local datasets, attrs = {}, {{"/", "format", FORMAT}, {"/", "format_version", FORMAT_VERSION}}
  if what.model then
    for _, e in ipairs(ckpt.named_tensors(what.model)) do datasets[#datasets + 1] = {"/model/" .. e[1], e[2]} end
  end
  if what.epoch then attrs[#attrs + 1] = {"/", "epoch", what.epoch} end
  if what.config ~= nil then attrs[#attrs + 1] = {"/", "config", literal.encode(what.config)} end
  local groups = {optimizer = what.optimizer, extra = what.extra, spec = what.spec, train_state = what.train_state}
  if groups.optimizer and type(groups.optimizer.state_dict) == "function" then
    groups.optimizer = groups.optimizer:state_dict()
  end
  for _, group in ipairs({"optimizer", "extra", "spec", "train_state"}) do
    if groups[group] ~= nil then
      local skeleton = split(groups[group], "/" .. group, "", datasets, {})
      attrs[#attrs + 1] = {"/" .. group, "skeleton", literal.encode(skeleton)}
    end
  end
  local ok, err = core.h5tensors.save(path, datasets, attrs)
  if not ok then return nil, "ckpt: " .. err end
  return true
end

--- ckpt.load(path) → {model_state = {name = tensor}, optimizer_state=, epoch=, config=, extra=, spec=, train_state=}
--- | nil, message. Tensors are fresh CPU tensors.
function ckpt.load(path)
  assert(type(path) == "string", "ckpt.load: path (string) expected")
  local file, err = core.h5tensors.load(path, "checkpoint")
  if not file then return nil, "ckpt: " .. err end
  local root, skeletons = {}, {}
  for _, a in ipairs(file.attrs) do
    if a[1] == "/" then root[a[2]] = a[3] end
    if a[2] == "skeleton" then skeletons[a[1]:sub(2)] = a[3] end
  end
  if root.format ~= FORMAT then
    return nil, string.format("ckpt: %s is an HDF5 file but not a jetlab checkpoint (no format = %q attribute)",
      path, FORMAT)
  end
  local state = {model_state = {}, epoch = root.epoch}
  local tensors = {}
  for _, d in ipairs(file.datasets) do
    local name = d[1]:match("^/model/(.+)$")
    if name then state.model_state[name] = d[2] end
    tensors[d[1]] = d[2]
  end
  local function decode(text, what)
    local value, why = literal.decode(text, what)
    if value == nil then error(string.format("ckpt: %s in %s is not a valid literal: %s", what, path, why), 0) end
    return value
  end
  local ok, why = pcall(function()
    if root.config then state.config = decode(root.config, "config") end
    for group, field in pairs({optimizer = "optimizer_state", extra = "extra", spec = "spec",
                               train_state = "train_state"}) do
      if skeletons[group] then
        state[field] = join(decode(skeletons[group], group), tensors, "/" .. group, path)
      end
    end
  end)
  if not ok then return nil, why end
  return state
end

--- ckpt.load_into(path, model[, {optimizer=, strict=true, only=}]) → the loaded
--- state (as ckpt.load) | nil, message.
--- Copies the checkpoint's tensors into the model's parameters and buffers,
--- in place, after checking every name, shape and dtype (the model is left
--- untouched when a check fails; the message names the first mismatch, in the
--- model's order). only restricts both sides to the matching names, by the
--- rule of nn's freeze: a dotted prefix ("blocks" selects "blocks.1.weight",
--- not "blocks_x.w") or a Lua pattern ("^blocks%.[12]%.").
--- strict = false skips names missing on either side (shapes must still
--- agree). With optimizer, its state is restored through load_state_dict.
function ckpt.load_into(path, model, opts)
  opts = options.check("ckpt.load_into", opts, {optimizer = options.OPTIONAL, strict = true, only = options.OPTIONAL})
  local strict = opts.strict
  local state, err = ckpt.load(path)
  if not state then return nil, err end

  local pairs_to_copy, in_model = {}, {}
  for _, e in ipairs(ckpt.named_tensors(model)) do
    local name, dst = e[1], e[2]
    if name_matches(name, opts.only) then
      in_model[name] = true
      local src = state.model_state[name]
      if src then
        if not same_shape(src, dst) then
          return nil, string.format("ckpt: %s has shape %s in %s but %s in the model", name, shape_str(src), path,
            shape_str(dst))
        end
        if src.dtype ~= dst.dtype then
          return nil, string.format("ckpt: %s has dtype %s in %s but %s in the model", name, src.dtype, path, dst.dtype)
        end
        pairs_to_copy[#pairs_to_copy + 1] = {dst, src}
      elseif strict then
        return nil, string.format("ckpt: %s is in the model but not in %s", name, path)
      end
    end
  end
  if strict then
    local extra = {}
    for name in pairs(state.model_state) do
      if name_matches(name, opts.only) and not in_model[name] then extra[#extra + 1] = name end
    end
    table.sort(extra)
    if extra[1] then return nil, string.format("ckpt: %s is in %s but not in the model", extra[1], path) end
  end
  if #pairs_to_copy == 0 then
    return nil, string.format("ckpt: no tensor of %s matches the model%s", path,
      opts.only and " under '" .. opts.only .. "'" or "")
  end
  if opts.optimizer and not state.optimizer_state then
    return nil, string.format("ckpt: %s has no optimizer state", path)
  end

  core.no_grad(function()
    for _, p in ipairs(pairs_to_copy) do
      local dst, src = p[1], p[2]
      dst:copy_(src.device == dst.device and src or src:to(dst.device))
    end
  end)
  if opts.optimizer then opts.optimizer:load_state_dict(state.optimizer_state) end
  return state
end

--- ckpt.model(path) → model (eval mode), state (as ckpt.load) | nil, message: the model
--- the checkpoint's spec describes, with the checkpoint's weights.
function ckpt.model(path)
  local state, err = ckpt.load(path)
  if not state then return nil, err end
  if not (state.spec and state.spec.model) then
    return nil, string.format("ckpt: %s records no model spec (saved without model.spec or spec =)", path)
  end
  local models = require("jetlab.nn").models
  local ok, model = pcall(models.build, state.spec.model)
  if not ok then return nil, string.format("ckpt: %s: %s", path, model) end
  local loaded, why = ckpt.load_into(path, model)
  if not loaded then return nil, why end
  model:eval()
  return model, state
end

--- ckpt.import(path, {model =, layout =}) → model, report | nil, message (jetlab.interchange.import).
function ckpt.import(path, opts) return require("jetlab.interchange").import(path, opts) end

--- ckpt.export(model_or_checkpoint_path, path, {layout =}) → true | nil, message
--- (jetlab.interchange.export).
function ckpt.export(model, path, opts)
  if type(model) == "string" then
    local m, err = ckpt.model(model)
    if not m then return nil, err end
    model = m
  end
  return require("jetlab.interchange").export(model, path, opts)
end

--- ckpt.export_onnx(model_or_checkpoint_path, path[, {opset =, inputs =}]) → true, info | nil, message
--- (jetlab.onnx.export: FCNN and LundNet as ONNX graphs).
function ckpt.export_onnx(model, path, opts) return require("jetlab.onnx").export(model, path, opts) end

return ckpt
