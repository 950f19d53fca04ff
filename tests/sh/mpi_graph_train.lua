-- mpi_graph_train.lua — the graph-network runs of test_mpi_graph.sh: a model
-- trained with SGD (lr 0.01) by train.fit on 48 generated top/QCD jets in global
-- batches of 24 with per-jet weights (shuffled every epoch: 2 steps an
-- epoch, 4 epochs = 8 steps), the same in one process and under mpirun.
--   jetlab mpi_graph_train.lua OUT lundnet5|particlenet_student [CKPT_DIR [interrupt | RESUME]]
-- lundnet5: LundNet5 on Lund-plane graphs (graph batches split by jets);
-- particlenet_student: ragged constituent batches. Dropout off (its masks
-- depend on which rank holds a row). Not Adam, nor a large step: parameters
-- whose true gradient is zero (the input BatchNorm's bias, cancelled by the
-- edge differences) get float noise that Adam's normalisation turns into
-- full-size steps of either sign, and LundNet with lr 0.05 and momentum 0.9
-- grows a 1e-7 difference to 5e-4 in 8 steps — in one process too (the fused
-- BatchNorm kernel against the same maths composed from ops). Under MPI the BatchNorm layers are
-- synchronised (train.fit's default for graph networks); validation on 3
-- fixed batches is shared between the ranks. Rank 0 writes OUT: "loss <epoch>
-- <train_loss>" per epoch, "val_loss <epoch> <v>" and "val_auc <epoch> <v>",
-- then "weight <name> <index> <value>"
-- for every parameter and buffer element. With CKPT_DIR, checkpoints go there;
-- "interrupt": the last rank records a SIGTERM (jl.interrupt, as the host's
-- handler does) when it draws batch 1 of epoch 2, so every rank must stop
-- after that step; RESUME: the run resumes from that checkpoint.
local train = require "jetlab.train"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"

local out_path, kind, ckpt_dir, mode = arg[1], arg[2], arg[3], arg[4]
local resume = mode ~= "interrupt" and mode or nil
local n, batch, epochs = 48, 24, 4

local jets = jl.gen.jets{signal = "top", pt = {500, 600}, n = n, seed = 5}
local labels = jets.labels:to("i64") + 1
jl.manual_seed(7)
local weights = jl.rand(n) + 0.5
local net, make_x
if kind == "lundnet5" then
  local g = jl.lund.graphs(jets, {features = 5})
  net = nn.models.lundnet5{dropout = 0}
  make_x = function(idx) return nn.models.lundnet_select(g, idx) end
elseif kind == "particlenet_student" then
  net = nn.models.particlenet_student{dropout = 0}
  make_x = function(idx)
    local x, offsets, coords = jl.data.features(jets.pt:index_select(1, idx), jets.eta:index_select(1, idx),
      jets.phi:index_select(1, idx), jets.E:index_select(1, idx), {max_constituents = 40, format = "ragged"})
    return {x = x, offsets = offsets, coords = coords}
  end
else
  error("mpi_graph_train.lua: the model must be lundnet5 or particlenet_student, got " .. tostring(kind), 0)
end

local source = {num_batches = n // batch}
local epoch = 0
function source.batches()
  local order = jl.randperm(n)
  local b = 0
  epoch = epoch + 1
  return function()
    b = b + 1
    if b > n // batch then return nil end
    if mode == "interrupt" and epoch == 2 and b == 1 and jl.dist.rank() == jl.dist.size() - 1 then
      jl.interrupt("SIGTERM")
    end
    local idx = order:narrow(1, (b - 1) * batch + 1, batch)
    return {x = make_x(idx), y = labels:index_select(1, idx), w = weights:index_select(1, idx)}
  end
end

-- validation: 3 fixed batches of 16 jets (under 2 ranks: batches 1 and 3 on rank 0, 2 on rank 1)
local val = {}
for v = 1, 3 do
  local idx = jl.arange((v - 1) * 16 + 1, v * 16 + 1, {dtype = "i64"})
  val[v] = {x = make_x(idx), y = labels:index_select(1, idx), w = weights:index_select(1, idx)}
end
-- gradient buckets of 256 KiB: LundNet5's 1.5 MiB of gradients in several, started during backward
require("jetlab.dist_train").BUCKET_MB = 0.25

local history = train.fit{model = net, optimizer = optim.SGD(net:parameters(), {lr = 0.01}), train = source,
  epochs = epochs, seed = 3, log = false, checkpoint_dir = ckpt_dir, resume = resume, val = val,
  metric = "val_loss"}

if jl.dist.rank() == 0 then
  local f = assert(io.open(out_path, "w"))
  for _, r in ipairs(history) do f:write(string.format("loss %d %.9g\n", r.epoch, r.train_loss)) end
  for _, r in ipairs(history) do
    f:write(string.format("val_loss %d %.9g\nval_auc %d %.9g\n", r.epoch, r.val_loss, r.epoch, r.val_auc))
  end
  local named = net:named_parameters()
  for _, e in ipairs(net:named_buffers()) do named[#named + 1] = e end
  for _, e in ipairs(named) do
    local flat = e[2]:to("f32"):reshape(-1)
    for i = 1, flat.shape[1] do f:write(string.format("weight %s %d %.9g\n", e[1], i, flat[i])) end
  end
  f:close()
end
