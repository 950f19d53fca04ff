-- jetlab.nn.models — reference architectures, one file each (DESIGN.md, Models).
--
--   local models = require("jetlab.nn").models
--   local teacher = models.fcnn_teacher(80 * 7)          -- 5 x [Linear 400, ReLU] → 2
--   local student = models.fcnn_student(5 * 7)           -- 1 x [Linear 64, ReLU] → 2
--
-- A new model file (particlenet.lua, lundnet.lua) adds its constructors here.

local fcnn = require "jetlab.nn.models.fcnn"
local particlenet = require "jetlab.nn.models.particlenet"
local lundnet = require "jetlab.nn.models.lundnet"

return {
  fcnn = fcnn.fcnn,
  fcnn_teacher = fcnn.teacher,
  fcnn_student = fcnn.student,
  particlenet = particlenet.particlenet,
  particlenet_lite = particlenet.particlenet_lite,
  particlenet_teacher = particlenet.particlenet_teacher,
  particlenet_student = particlenet.particlenet_student,
  lundnet = lundnet.lundnet,
  lundnet5 = lundnet.lundnet5,
  lundnet3 = lundnet.lundnet3,
  lundnet_select = lundnet.select,
}
