-- jetlab.nn — layers and models (also reachable as jl.nn).
--
--   local nn = require "jetlab.nn"
--   local net = nn.Sequential(nn.Linear(560, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.1),
--                             nn.Linear(64, 2))
--   local teacher = nn.models.fcnn_teacher(80 * 7)
--   print(net)                                   -- the tree with shapes and counts
--   for _, e in ipairs(net:named_parameters()) do print(e[1], e[2].shape) end
--
-- nn.Module (module.lua) is the base class; nn.init holds the weight
-- initialisers (initializers.lua), nn.functional the stateless forms,
-- nn.models the reference architectures (models/), nn.compile a feed-forward
-- model as one C inference plan (compile.lua).

local activation = require "jetlab.nn.activation"

local nn = {
  Module = require "jetlab.nn.module",
  Sequential = require "jetlab.nn.sequential",
  Linear = require "jetlab.nn.linear",
  BatchNorm1d = require "jetlab.nn.batchnorm",
  Dropout = require "jetlab.nn.dropout",
  LayerNorm = require "jetlab.nn.layernorm",
  ReLU = activation.ReLU,
  Sigmoid = activation.Sigmoid,
  Tanh = activation.Tanh,
  Identity = activation.Identity,
  Flatten = activation.Flatten,
  init = require "jetlab.nn.initializers",
  functional = require "jetlab.nn.functional",
  EdgeConv = require("jetlab.nn.edgeconv").EdgeConv,
  LundEdgeConv = require("jetlab.nn.edgeconv").LundEdgeConv,
  GraphEdgeConv = require("jetlab.nn.edgeconv").GraphEdgeConv,
}

nn.models = require "jetlab.nn.models"
nn.compile = require("jetlab.nn.compile").compile

return nn
