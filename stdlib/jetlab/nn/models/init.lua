-- jetlab.nn.models — reference architectures, one file each (DESIGN.md, Models).
--
--   local models = require("jetlab.nn").models
--   local teacher = models.fcnn_teacher(80 * 7)          -- 5 x [Linear 400, ReLU] → 2
--   local student = models.fcnn_student(5 * 7)           -- 1 x [Linear 64, ReLU] → 2
--   print(student.spec)                                  -- {name = "fcnn_student", args = {35}}
--   local again = models.build(student.spec)             -- the same architecture, fresh weights
--
-- Every constructor records how it was called in model.spec ({name =, args =}, a
-- plain table a checkpoint keeps), so a checkpoint can rebuild its model
-- (models.build). models.by_cli_name maps the command-line names (jetlab bench,
-- import, predict: "fcnn", "fcnn-student", "particlenet", "particlenet-lite",
-- "lundnet5", "lundnet3") to constructor names.
-- A new model file (particlenet.lua, lundnet.lua) adds its constructors here.

local fcnn = require "jetlab.nn.models.fcnn"
local particlenet = require "jetlab.nn.models.particlenet"
local lundnet = require "jetlab.nn.models.lundnet"

local constructors = {
  fcnn = function(opts) return fcnn.fcnn(opts) end,
  fcnn_teacher = fcnn.teacher,
  fcnn_student = fcnn.student,
  particlenet = particlenet.particlenet,
  particlenet_lite = particlenet.particlenet_lite,
  particlenet_teacher = particlenet.particlenet_teacher,
  particlenet_student = particlenet.particlenet_student,
  lundnet = lundnet.lundnet,
  lundnet5 = lundnet.lundnet5,
  lundnet3 = lundnet.lundnet3,
}

-- A deep copy of the plain values of a constructor's arguments (tables, numbers,
-- strings, booleans), so later changes to the caller's tables do not change the spec.
local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

local M = {lundnet_select = lundnet.select}

for name, ctor in pairs(constructors) do
  M[name] = function(...)
    local model = ctor(...)
    model.spec = {name = name, args = copy(table.pack(...))}
    model.spec.args.n = nil
    return model
  end
end

M.by_cli_name = {fcnn = "fcnn_teacher", ["fcnn-student"] = "fcnn_student", particlenet = "particlenet",
  ["particlenet-lite"] = "particlenet_lite", lundnet5 = "lundnet5", lundnet3 = "lundnet3"}

--- models.build(spec) → a new model of spec = {name =, args =} (a model's .spec, or
--- a checkpoint's); errors name an unknown constructor.
function M.build(spec)
  if type(spec) ~= "table" or type(spec.name) ~= "string" then
    error("models.build: a spec {name =, args =} is expected", 2)
  end
  if not constructors[spec.name] then
    local names = {}
    for k in pairs(constructors) do names[#names + 1] = k end
    table.sort(names)
    error(string.format("models.build: unknown model '%s' (one of %s)", spec.name, table.concat(names, ", ")), 2)
  end
  return M[spec.name](table.unpack(spec.args or {}, 1, #(spec.args or {})))
end

return M
