-- jetlab bench — training and inference speed of the reference taggers, side by
-- side with the PyTorch peer (shared/peers/torch_peer.py): the same models, the
-- same jets, the same timing method, the same JSON fields.
--
--   jetlab bench particlenet top.h5 --batch 256 --train-steps 20 --pad 128 --threads 2
--   {"model":"particlenet","params":366160,"batch":256,"pad":128,"threads":2,"jetlab":"0.1.0",
--    "train_ms_per_sample":..,"infer_ms_per_sample":..,"graph_building":"..",...}
--
-- As the peer: every jet of the file (or the first --max-jets) is read with its
-- first --pad constituents and turned into the ATLAS 7 features before any timing;
-- the first 70% are the training jets, the last 15% the test jets. Training: Adam
-- (lr --lr), mean cross-entropy, --train-steps + 2 batches of --batch distinct
-- training jets drawn at random (seeded), the first 2 untimed (warm-up);
-- train_ms_per_sample = timed wall time / (steps * batch); train_gemm_mflop_per_sample
-- and train_gemm_gflops: the matrix products of the timed steps (jl.stats().gemm_flops,
-- 2 M N K each), per sample and per second of the timed wall time; --profile prints
-- where the timed steps' time went, op by op (jl.profile), to stderr. A step includes building
-- the batch from the jets' features (the peer's X[idx]), the forward (for
-- ParticleNet the kNN graphs of every block), the backward and the update.
-- Inference: eval mode, no grad, the test jets in order in batches of --batch,
-- softmax; infer_ms_per_sample = wall time / test jets. With --batch1 the
-- inference is also timed one jet at a time over the first --batch1 test jets
-- (infer_ms_per_sample_batch1). For fcnn and fcnn-student on the CPU the same
-- model is also timed as one C inference plan (nn.compile, softmax included;
-- rows taken with narrow): infer_ms_per_sample_compiled and, with --batch1,
-- infer_ms_per_sample_batch1_compiled; lundnet5 and lundnet3 likewise as their
-- graph plan (nn.compile; the batches built as for the eager forward, included).
--
-- Inputs per model (the peer's): fcnn, fcnn-student: the flat (B, pad*7) features
-- standardised with the training jets' mean and std (+1e-6); particlenet,
-- particlenet-lite: ragged raw features {x, offsets, coords} (the peer pads them to
-- --pad with masks; jetlab never pads); lundnet5, lundnet3: Lund-plane graphs of
-- every jet, declustered once before timing (jl.lund.graphs: C/A re-clustering of
-- the real constituents; the peer's lund_batch makes random trees of the same
-- sizes, n - 1 nodes per jet), each step's batch selected from them in C
-- (nn.models.lundnet_select). The "graph_building" field says so.
-- The peer builds its LundNet trees (random, in Python) inside each timed step;
-- the peer has no lundnet3 (its LundNet(3) class is the same network on 3 features).
--
--   jetlab bench --experiment RUN_DIR FILE.h5 [--train-steps 20] [--threads 2]
-- prints a finished experiment run's epoch time per sample against this step time for
-- each model it trained, same model and batch (jetlab.epoch_vs_step).
--
--   jetlab bench --onnx CKPT.h5 FILE.h5 [--batch 256] [--reps 20] [--rounds 3] [--threads 2] [--python PY]
-- exports the checkpoint to ONNX and prints, as one JSON line, jetlab's inference latency
-- (a batch of --batch jets of FILE.h5 and one jet; the nn.compile plan where the model
-- has one, as libjetlab runs it) next to ONNX Runtime's on the exported file and the same
-- jets, same threads, alternating rounds, medians, and the ratios ORT / jetlab (> 1:
-- jetlab faster); jetlab.onnx.latency. ONNX Runtime runs in a Python that has it (--python,
-- else $JETLAB_ONNX_PYTHON, else the test venv: scripts/install-test-venv.sh).
-- LundNet is the peer's variant (nn.models.lundnet{variant = "peer"}), the network the
-- peer times; the published LundNet (the default variant) is not timed here.

local cli = require "jetlab.cli"
local json = require "jetlab.json"
local nn = require "jetlab.nn"
local loss = require "jetlab.loss"
local optim = require "jetlab.optim"

local MODELS = {"fcnn", "fcnn-student", "particlenet", "particlenet-lite", "lundnet5", "lundnet3"}

local spec = {
  name = "jetlab bench",
  usage = "jetlab bench MODEL FILE.h5 [--batch 256] [--train-steps 20] [--pad 128] [--threads 2] " ..
          "[--device cpu] [--lr 1e-3] [--matmul-precision f32] [--max-jets N] [--batch1 N] [--profile]\n" ..
          "       jetlab bench --experiment RUN_DIR FILE.h5 [--train-steps 20] [--threads 2]\n" ..
          "       jetlab bench --onnx CKPT.h5 FILE.h5 [--batch 256] [--reps 20] [--rounds 3] [--threads 2] " ..
          "[--points 128] [--python PY]",
  about = "Times training and inference of MODEL (" .. table.concat(MODELS, ", ") .. ") on the jets of\n" ..
          "FILE.h5 (ATLAS layout) as shared/peers/torch_peer.py does, and prints one JSON line.",
  options = {
    {"batch", "integer", 256, help = "jets per batch (training and batched inference)"},
    {"train-steps", "integer", 20, help = "timed training steps (after 2 warm-up steps)"},
    {"pad", "integer", 128, help = "constituents per jet used (the first ones, by pT)"},
    {"threads", "integer", 2, help = "threads (jetlab's pool and OpenBLAS)"},
    {"device", "string", "cpu", help = "device", choices = {"cpu", "cuda"}},
    {"lr", "number", 1e-3, help = "Adam learning rate"},
    {"matmul-precision", "string", "f32", choices = {"f32", "bf16"},
      help = "the CPU matrix products (jl.set_matmul_precision): f32, or bf16 operands with f32 sums"},
    {"max-jets", "integer", 0, help = "use only the first N jets of the file (0: all)"},
    {"batch1", "integer", 0, help = "also time inference one jet at a time over N test jets"},
    {"seed", "integer", 0, help = "seed of the weights and of the batch draws"},
    {"profile", "boolean", false, help = "print the op profile (jl.profile) of the timed training steps to stderr"},
    {"experiment", "string", "", help = "an experiment run folder (results/transfer/latest): its epochs' ms/sample " ..
      "against this step's, model by model, on FILE.h5's jets"},
    {"onnx", "string", "", help = "a checkpoint: its inference latency in jetlab against ONNX Runtime's on its " ..
      "ONNX export, on FILE.h5's jets"},
    {"reps", "integer", 20, help = "with --onnx: timed calls per round and side"},
    {"rounds", "integer", 3, help = "with --onnx: alternating rounds of jetlab and ONNX Runtime (medians over them)"},
    {"points", "integer", 128, help = "with --onnx: P of a ParticleNet's padded ONNX inputs"},
    {"python", "string", "", help = "with --onnx: a Python that imports onnxruntime and numpy"},
  },
}

local opts = cli.parse_or_exit(arg, spec)
local function fail(msg)
  io.stderr:write("jetlab bench: " .. msg .. "\n")
  os.exit(2)
end
if opts.experiment ~= "" then
  if #opts ~= 1 then fail("--experiment RUN_DIR takes FILE.h5, the jets to time the steps on") end
  jl.set_num_threads(opts.threads)
  jl.manual_seed(opts.seed)
  local epoch_vs_step = require "jetlab.epoch_vs_step"
  local ok, rows = pcall(epoch_vs_step.rows, opts.experiment, opts[1], {train_steps = opts["train-steps"], lr = opts.lr})
  if not ok then fail(tostring(rows)) end
  print(epoch_vs_step.table(rows))
  os.exit(0)
end
if opts.onnx ~= "" then
  if #opts ~= 1 then fail("--onnx CKPT.h5 takes FILE.h5, the jets to time the models on") end
  for _, k in ipairs({"batch", "reps", "rounds", "threads", "points"}) do
    if opts[k] < 1 then fail("--" .. k .. " must be >= 1") end
  end
  local row, err = require("jetlab.onnx.latency").compare(opts.onnx, opts[1], {batch = opts.batch, reps = opts.reps,
    rounds = opts.rounds, threads = opts.threads, points = opts.points,
    python = opts.python ~= "" and opts.python or nil})
  if not row then fail(err) end
  row.mode = "onnx"
  row.checkpoint = opts.onnx
  print(json.encode(row))
  os.exit(0)
end
if #opts ~= 2 then fail("expected MODEL and FILE.h5 (see --help)") end
local model_name, path = opts[1], opts[2]
local known = false
for _, m in ipairs(MODELS) do known = known or m == model_name end
if not known then fail("unknown model '" .. model_name .. "' (one of " .. table.concat(MODELS, ", ") .. ")") end
for _, k in ipairs({"batch", "train-steps", "pad", "threads"}) do
  if opts[k] < 1 then fail("--" .. k .. " must be >= 1") end
end
if opts.device ~= "cpu" and not jl.cuda_available() then fail("--device " .. opts.device .. ": no device present") end
local device = opts.device

jl.set_num_threads(opts.threads)
jl.set_matmul_precision(opts["matmul-precision"])
jl.manual_seed(opts.seed)
math.randomseed(opts.seed)

-- ------------------------------------------------------------------ data (untimed)
local f, err = jl.io.open_jets(path, {max_constituents = opts.pad})
if not f then fail(err) end
local n = f:count()
if opts["max-jets"] > 0 and opts["max-jets"] < n then n = opts["max-jets"] end
local raw = assert(f:read(1, n))
f:close()
local ntr = math.floor(0.7 * n)
local bs = opts.batch
if ntr < bs then fail(string.format("%d training jets, fewer than one batch of %d", ntr, bs)) end
local labels = (raw.labels:to("i64") + 1)                     -- classes 1 (background), 2 (signal)
local kind = model_name:match("^fcnn") and "flat" or model_name:match("^particlenet") and "ragged" or "lund"

local make          -- make(idx: Lua array of 1-based jets) → model input
local flat_X        -- fcnn models: the standardised (n, pad * 7) features
local graph_note
local n_real        -- mean real constituents per jet
local flat_inputs   -- fcnn: pad * 7 (fewer when the file has fewer columns)

do
  local x = jl.data.features(raw.pt, raw.eta, raw.phi, raw.E, {format = "ragged", max_constituents = opts.pad})
  n_real = x.shape[1] / n
  if kind == "flat" then
    local X = jl.data.features(raw.pt, raw.eta, raw.phi, raw.E, {max_constituents = opts.pad})
    X = X:reshape(n, -1)
    flat_inputs = X.shape[2]
    local train = X:narrow(1, 1, ntr)
    local mu, sd = train:mean(1), train:std(1) + 1e-6
    X = ((X - mu) / sd):contiguous():to(device)
    flat_X = X
    make = function(idx) return X:index_select(1, jl.tensor(idx, {dtype = "i64", device = device})) end
    graph_note = "none (flat features)"
  elseif kind == "ragged" then
    local offsets, coords
    x, offsets, coords = jl.data.features(raw.pt, raw.eta, raw.phi, raw.E, {format = "ragged",
      max_constituents = opts.pad})
    local off = offsets:tolist()
    x, coords = x:to(device), coords:to(device)
    make = function(idx)
      local rows, o = {}, {0}
      for b, j in ipairs(idx) do
        for r = off[j] + 1, off[j + 1] do rows[#rows + 1] = r end
        o[b + 1] = #rows
      end
      local index = jl.tensor(rows, {dtype = "i64", device = device})
      return {x = x:index_select(1, index), coords = coords:index_select(1, index),
        offsets = jl.tensor(o, {dtype = "i64"})}
    end
    graph_note = "kNN inside the timed region (every block, every step); no padding"
  else
    local features = model_name == "lundnet3" and 3 or 5
    local g = jl.lund.graphs(raw, {features = features})
    graph_note = "Lund declustering (jl.lund.graphs, C/A) of every jet before timing; batches selected per step"
    g.x = g.x:to(device)
    make = function(idx) return nn.models.lundnet_select(g, idx) end
  end
end

-- ------------------------------------------------------------------ model
local model
if model_name == "fcnn" then model = nn.models.fcnn_teacher(flat_inputs)
elseif model_name == "fcnn-student" then model = nn.models.fcnn_student(flat_inputs)
elseif model_name == "particlenet" then model = nn.models.particlenet()
elseif model_name == "particlenet-lite" then model = nn.models.particlenet_lite()
elseif model_name == "lundnet5" then model = nn.models.lundnet{features = 5, variant = "peer"}
else model = nn.models.lundnet{features = 3, variant = "peer"} end
model:to(device)
local params = model:num_parameters()
local opt = optim.Adam(model:parameters(), {lr = opts.lr})

local function step(idx)
  opt:zero_grad()
  local y = labels:index_select(1, jl.tensor(idx, {dtype = "i64"})):to(device)
  local l = loss.cross_entropy(model(make(idx)), y)
  l:backward()
  opt:step()
  return l
end

-- ------------------------------------------------------------------ timed training
model:train()
local perm_batches = {}
for s = 1, opts["train-steps"] + 2 do
  local p = jl.randperm(ntr):narrow(1, 1, bs):tolist()
  for i = 1, bs do p[i] = math.tointeger(p[i]) end     -- 1-based training jets
  perm_batches[s] = p
end
for s = 1, 2 do step(perm_batches[s]) end       -- warm-up
local function timed_steps()
  for s = 3, #perm_batches do
    local l = step(perm_batches[s])
    if s == #perm_batches then l:item() end    -- (eager ops: everything has run)
  end
end
collectgarbage()
local t0, flops0 = jl.clock(), jl.stats().gemm_flops
if opts.profile then io.stderr:write(tostring(jl.profile(timed_steps)), "\n") else timed_steps() end
local train_s = jl.clock() - t0
local train_ms = train_s / opts["train-steps"] / bs * 1e3
local train_flops = jl.stats().gemm_flops - flops0   -- matrix products of the timed steps

-- ------------------------------------------------------------------ timed inference
model:eval()
local te0 = math.floor(0.85 * n) + 1
local n_test = n - te0 + 1
local infer_ms, infer1_ms, compiled_ms, compiled1_ms
jl.no_grad(function()
  local batches = {}
  for s = te0, n, bs do
    local idx = {}
    for j = s, math.min(s + bs - 1, n) do idx[#idx + 1] = j end
    batches[#batches + 1] = idx
  end
  collectgarbage()
  local t = jl.clock()
  local scores = {} -- luacheck: ignore 241 (holds every output until the timing ends)
  for i, idx in ipairs(batches) do scores[i] = model(make(idx)):softmax(2):select(2, 2):to("cpu") end
  infer_ms = (jl.clock() - t) / n_test * 1e3
  if opts.batch1 > 0 then
    local m = math.min(opts.batch1, n_test)
    collectgarbage()
    t = jl.clock()
    for j = te0, te0 + m - 1 do scores[j] = model(make({j})):softmax(2):select(2, 2):to("cpu") end
    infer1_ms = (jl.clock() - t) / m * 1e3
  end
  if flat_X and device == "cpu" then -- the same model as one C plan (nn.compile), softmax included
    local plan = nn.compile(model, {softmax = true})
    collectgarbage()
    t = jl.clock()
    for s = te0, n, bs do scores[s] = plan(flat_X:narrow(1, s, math.min(bs, n - s + 1))) end
    compiled_ms = (jl.clock() - t) / n_test * 1e3
    if opts.batch1 > 0 then
      local m = math.min(opts.batch1, n_test)
      collectgarbage()
      t = jl.clock()
      for j = te0, te0 + m - 1 do scores[j] = plan(flat_X:narrow(1, j, 1)) end
      compiled1_ms = (jl.clock() - t) / m * 1e3
    end
  elseif model.__name == "LundNet" and device == "cpu" then -- the graph plan (nn.compile), softmax included
    local plan = nn.compile(model, {softmax = true})
    collectgarbage()
    t = jl.clock()
    for i, idx in ipairs(batches) do scores[i] = plan(make(idx)) end
    compiled_ms = (jl.clock() - t) / n_test * 1e3
    if opts.batch1 > 0 then
      local m = math.min(opts.batch1, n_test)
      collectgarbage()
      t = jl.clock()
      for j = te0, te0 + m - 1 do scores[j] = plan(make({j})) end
      compiled1_ms = (jl.clock() - t) / m * 1e3
    end
  end
end)

-- ------------------------------------------------------------------ report
local report = json.ordered{
  "model", "params", "batch", "pad", "threads", "matmul_precision", "jetlab", "device", "train_ms_per_sample",
  "infer_ms_per_sample",
  "train_gemm_mflop_per_sample", "train_gemm_gflops", "infer_ms_per_sample_batch1", "infer_ms_per_sample_compiled",
  "infer_ms_per_sample_batch1_compiled", "graph_building", "jets", "mean_constituents",
}
print(json.encode(report{
  model = model_name, params = params, batch = bs, pad = opts.pad, threads = opts.threads,
  matmul_precision = opts["matmul-precision"], jetlab = jl.version,
  device = device, train_ms_per_sample = train_ms, infer_ms_per_sample = infer_ms,
  train_gemm_mflop_per_sample = train_flops / opts["train-steps"] / bs / 1e6,
  train_gemm_gflops = train_flops / train_s / 1e9,
  infer_ms_per_sample_batch1 = infer1_ms, infer_ms_per_sample_compiled = compiled_ms,
  infer_ms_per_sample_batch1_compiled = compiled1_ms,
  graph_building = graph_note, jets = n, mean_constituents = n_real,
}, {spaced = true, digits = 6}))
