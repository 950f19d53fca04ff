-- train_fcnn.lua — a tiny FCNN for test_libjetlab.sh: the student (1 x 64,
-- BatchNorm) trained two epochs on the first 20 constituents of JETS.h5,
-- standardised with the file's statistics; train.fit records spec.inputs
-- from the data view, so the checkpoint is what `jetlab predict` reads.
--   jetlab tests/libjetlab/train_fcnn.lua JETS.h5 DIR   → DIR/last.h5
local data = require "jetlab.data"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local train = require "jetlab.train"

local ds = assert(data.open(arg[1]))
local features = {max_constituents = 20, standardize = ds:stats{features = {max_constituents = 20}}}
local source = ds:with{batch_size = 64, shuffle = true, format = "flat", features = features}
local model = nn.models.fcnn_student(20 * 7, {batchnorm = true})
train.fit{model = model, optimizer = optim.Adam(model:parameters(), {lr = 1e-3}), train = source, epochs = 2,
  seed = 3, checkpoint_dir = arg[2], log = false}
print("train_fcnn: wrote " .. arg[2] .. "/last.h5")
