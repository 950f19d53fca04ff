-- tests/bad_inputs/cases.lua — the table of bad inputs tried across the Lua
-- surface, and what each must answer (DESIGN.md rule 4: a clear error naming
-- the file, dataset, argument or shape at fault; never a crash).
-- Run by tests/lua/test_bad_inputs.lua; the table is the documentation.
--
-- A row: {description, call, raises = pattern} — call() must raise an error
-- whose message matches the Lua pattern; or {description, call, returns =
-- pattern} — call() must return nil (or false), message, the message matching
-- (I/O failures are values, not exceptions). `ctx` holds the paths used:
-- ctx.fixture(name) (tests/fixtures), ctx.file(name, text) (a file written in
-- a temporary folder), ctx.missing (a path that does not exist), ctx.P(s)
-- (s with Lua pattern characters escaped, for paths in patterns).
return function(ctx)
  local nn = require "jetlab.nn"
  local optim = require "jetlab.optim"
  local loss = require "jetlab.loss"
  local ckpt = require "jetlab.ckpt"
  local data = require "jetlab.data"
  local train = require "jetlab.train"
  local schedule = require "jetlab.schedule"
  local metrics = require "jetlab.metrics"
  local literal = require "jetlab.literal"
  local json = require "jetlab.json"
  local P, fixture, file, missing = ctx.P, ctx.fixture, ctx.file, ctx.missing

  local function i64(list) return jl.from(list, {dtype = "i64"}) end
  local function params() return nn.Linear(2, 2):parameters() end

  -- files: event text files, checkpoints, not-quite-HDF5
  local events_nonnumeric = file("nonnumeric.dat", "1 2 3 4\npx py pz E\n")
  local events_three = file("three.dat", "1 2 3 4\n5 6 7\n")
  local events_empty = file("empty.dat", "")
  local events_comments = file("comments.dat", "# no particle here\n#END\n\n")
  local events_nan = file("nan.dat", "1 0 0 2\nnan 0 0 1\n")
  local good_ckpt = ctx.path("good.h5")
  assert(ckpt.save(good_ckpt, {model = nn.Linear(3, 2), epoch = 1, config = {lr = 0.1}}))
  local bytes = ctx.read(good_ckpt)
  local truncated_ckpt = file("truncated.h5", bytes:sub(1, #bytes // 3))
  local garbage_h5 = file("garbage.h5", "\137HDF\r\n\26\n" .. string.rep("\255", 600))
  local foreign_h5 = ctx.path("foreign.h5")
  assert(jl.h5tensors.save(foreign_h5, {{"/w", jl.zeros(2)}}, {}))
  local bad_config = ctx.path("bad_config.h5")
  assert(jl.h5tensors.save(bad_config, {{"/model/w", jl.zeros(2)}},
    {{"/", "format", "jetlab-checkpoint"}, {"/", "format_version", 1}, {"/", "config", "{lr = "}}))
  local atlas = fixture("atlas2022.h5")
  local predict = require "jetlab.predict"
  local student = nn.models.fcnn_student(35)
  local no_inputs_ckpt = ctx.path("no_inputs.h5")
  assert(ckpt.save(no_inputs_ckpt, {model = student}))
  local flat_ckpt = ctx.path("flat5.h5")
  assert(ckpt.save(flat_ckpt, {model = student, spec = {model = student.spec, inputs = {kind = "flat", max_constituents = 5}}}))

  return {
    -- ------------------------------------------------------------ tensors
    {"zeros: a size that is a string", function() return jl.zeros(2, "x") end,
      raises = "bad argument #2 to 'zeros' %(table expected, got string%)"},
    {"zeros: negative size", function() return jl.zeros(3, -2) end, raises = "size must be non%-negative, got %-2"},
    {"ones: fractional size", function() return jl.ones(2.5) end, raises = "bad argument #1 to 'ones'.*no integer representation"},
    {"full: fill value a table", function() return jl.full({2}, {}) end, raises = "bad argument #2 to 'full' %(number expected, got table%)"},
    {"zeros: unknown dtype", function() return jl.zeros(2, {dtype = "f16"}) end, raises = "unknown dtype 'f16'"},
    {"zeros: unknown device", function() return jl.zeros(2, {device = "tpu"}) end, raises = "unknown device 'tpu'"},
    {"from: ragged nested table", function() return jl.from({{1, 2}, {3}}) end,
      raises = "ragged nested table: expected 2 elements at %[2%]"},
    {"from: a string element", function() return jl.from({1, "two"}) end, raises = "expected a number at %[2%], got string"},
    {"from: u8 value out of range", function() return jl.from({256}, {dtype = "u8"}) end, raises = "value 256 at %[1%] does not fit in u8"},
    {"arange: zero step", function() return jl.arange(0, 3, 0) end, raises = "step must be nonzero"},
    {"randint: empty range", function() return jl.randint(3, 3, {2}) end, raises = "hi must be greater than lo"},
    -- random draws in a dtype that cannot hold them were silently zeros (or 0/1)
    {"rand: an integer dtype", function() return jl.rand(3, {dtype = "i64"}) end,
      raises = "bad argument #2 to 'rand' %(rand draws floating%-point numbers: dtype must be f32, got i64"},
    {"randn: a u8 dtype", function() return jl.randn(2, 2, {dtype = "u8"}) end,
      raises = "bad argument #3 to 'randn' %(randn draws floating%-point numbers: dtype must be f32, got u8"},
    {"randint: a range u8 cannot hold", function() return jl.randint(0, 10, 3, {dtype = "u8"}) end,
      raises = "randint: the range reaches 9, which dtype u8 cannot hold %(0%.%.1%)"},
    {"randperm: more than u8 holds", function() return jl.randperm(5, {dtype = "u8"}) end,
      raises = "randperm: the range reaches 5, which dtype u8 cannot hold %(0%.%.1%)"},
    {"bernoulli: probability above 1", function() return jl.bernoulli(1.5, 2) end, raises = "probability must be in %[0, 1%]"},
    {"add: shapes that do not broadcast", function() return jl.zeros(2, 3) + jl.zeros(4) end,
      raises = "add: shapes %(2, 3%) and %(4%) cannot be broadcast"},
    {"mul: different dtypes", function() return jl.zeros(2) * jl.zeros(2, {dtype = "i32"}) end, raises = "dtypes differ"},
    {"add: a string operand", function() return jl.zeros(2) + "1" end, raises = "tensor or number expected, got string"},
    {"matmul: inner sizes differ", function() return jl.zeros(2, 3):matmul(jl.zeros(4, 5)) end,
      raises = "matmul: shapes %(2, 3%) and %(4, 5%) do not align"},
    {"view: wrong element count", function() return jl.zeros(2, 3):view(4, 2) end,
      raises = "view: shape %(4, 2%) is invalid for a tensor of shape %(2, 3%)"},
    {"reshape: two -1 sizes", function() return jl.zeros(2, 3):reshape(-1, -1) end, raises = "only one size may be %-1"},
    {"expand: a non-singleton dim", function() return jl.zeros(2, 3):expand(4, 3) end,
      raises = "expand: size 2 of dim 1 of %(2, 3%) cannot be expanded to 4"},
    {"cat: sizes differ outside the dim", function() return jl.cat({jl.zeros(2, 3), jl.zeros(2, 4)}) end,
      raises = "cat: tensor 2 has shape %(2, 4%) but tensor 1 has %(2, 3%)"},
    {"stack: different shapes", function() return jl.stack({jl.zeros(2), jl.zeros(3)}) end, raises = "tensor 2 has shape"},
    {"sum: dim past the last", function() return jl.zeros(2, 3):sum(3) end,
      raises = "bad argument #1 to 'sum' %(dim 3 out of range %(expected 1%.%.2 or %-2%.%.%-1; dims are 1%-based%)%)"},
    {"softmax: dim 0 (dims are 1-based)", function() return jl.zeros(2, 3):softmax(0) end, raises = "dim 0 out of range"},
    {"transpose: negative dim too small", function() return jl.zeros(2, 3):transpose(1, -3) end, raises = "dim %-3 out of range"},
    {"squeeze: dim past the last", function() return jl.zeros(2, 3):squeeze(5) end, raises = "'squeeze' %(dim 5 out of range"},
    {"index: position 0 (positions are 1-based)", function() return jl.zeros(3)[0] end,
      raises = "index 0 out of range for dim 1 of size 3 %(indices are 1%-based%)"},
    {"index: past the end", function() return jl.zeros(2, 3)[1][4] end, raises = "index 4 out of range for dim 1 of size 3"},
    {"select: index past the end", function() return jl.zeros(2, 3):select(2, 9) end, raises = "index 9 out of range for dim 2 of size 3"},
    {"narrow: length past the end", function() return jl.zeros(2, 3):narrow(2, 3, 2) end,
      raises = "length 2 from start 3 exceeds dim 2 of size 3"},
    {"index_select: f32 index tensor", function() return jl.zeros(3):index_select(1, jl.from({1})) end,
      raises = "index tensor must be i64 or i32, got f32"},
    {"index_select: index past the end", function() return jl.zeros(3):index_select(1, i64({4})) end,
      raises = "index 4 out of range for dim 1 of size 3"},
    {"gather: index 0", function() return jl.zeros(2, 2):gather(2, i64({{0, 1}, {1, 1}})) end,
      raises = "index 0 out of range for dim 2 of size 2"},
    {"masked_fill: an f32 mask", function() return jl.zeros(3):masked_fill(jl.zeros(3), 1) end,
      raises = "masked_fill: the condition must be a u8 %(bool%) tensor, got f32 %(3%)"},
    {"where: shapes that do not broadcast", function() return jl.where(jl.zeros(3, {dtype = "u8"}), jl.zeros(2), 1) end,
      raises = "where: shapes %(2%), %(%) and %(3%) cannot be broadcast"},
    {"item: more than one element", function() return jl.zeros(2, 2):item() end, raises = "item: the tensor has 4 elements"},
    {"to: unknown dtype", function() return jl.zeros(2):to("float64") end, raises = "unknown dtype or device 'float64'"},
    {"clamp: hi below lo", function() return jl.zeros(2):clamp(1, 0) end, raises = "hi must be >= lo"},
    {"backward: a tensor without grad", function() jl.zeros(2):sum():backward() end,
      raises = "backward: the tensor does not require grad"},
    {"backward: non-scalar output without a gradient", function()
      (jl.ones(2, {requires_grad = true}) * 2):backward()
    end, raises = "a gradient is needed for a non%-scalar output"},
    {"grad: assigned with the wrong shape", function() jl.zeros(3, {requires_grad = true}).grad = jl.zeros(2) end,
      raises = "grad must match the tensor: f32 %(3%)"},
    {"requires_grad: on an integer tensor", function() jl.zeros(2, {dtype = "i64"}).requires_grad = true end,
      raises = "only f32 tensors can require grad"},
    {"set_num_threads: zero", function() jl.set_num_threads(0) end, raises = "thread count must be in 1%.%.4096"},

    -- ------------------------------------------------------------ nn functional ops in core
    {"linear: input features differ from the weight's", function() return jl.linear(jl.zeros(4, 5), jl.zeros(2, 3)) end,
      raises = "linear: input %(4, 5%) and weight %(2, 3%) do not align %(5 vs 3%)"},
    {"linear: bias of the wrong size", function() return jl.linear(jl.zeros(2, 3), jl.zeros(4, 3), jl.zeros(5)) end,
      raises = "linear: bias %(5%) does not match weight %(4, 3%)"},
    {"batch_norm: weight of the wrong size", function()
      return jl.batch_norm(jl.zeros(4, 3), jl.zeros(2), jl.ones(2), nil, nil, {training = true})
    end, raises = "batch_norm: weight has shape %(2%) but x %(4, 3%) has 3 channels"},
    {"cross_entropy (core): label past the classes", function() return jl.cross_entropy(jl.zeros(2, 2), i64({1, 3})) end,
      raises = "label 3 %(row 2%) out of range for 2 classes"},
    {"knn: k = 0", function() return jl.knn(jl.zeros(4, 2), i64({0, 4}), 0) end, raises = "bad argument #3 to 'knn' %(k must be at least 1%)"},
    {"knn: offsets past the rows", function() return jl.knn(jl.zeros(4, 2), i64({0, 5}), 2) end,
      raises = "knn: offsets end at 5 but the tensor has 4 rows"},
    {"knn: coords not 2-D", function() return jl.knn(jl.zeros(4), i64({0, 4}), 2) end,
      raises = "knn: coords must be f32 %(N, D%), got f32 %(4%)"},
    {"segment_ids: a huge last offset (found by fuzz_lua: UB converting to int64)",
      function() return jl.segment_ids(i64({0, 2 ^ 62})) end, raises = "segment_ids: offsets end at 4.61169e%+18, not a valid row count"},
    {"segment_mean: a negative offset", function() return jl.segment_mean(jl.zeros(2, 2), i64({0, -2 ^ 62})) end,
      raises = "segment_mean: offset %-4.61169e%+18 at position 2 is not a valid row count"},
    {"segment_sum: decreasing offsets", function() return jl.segment_sum(jl.zeros(4, 2), i64({0, 3, 2, 4})) end,
      raises = "segment_sum: offsets decrease at position 3 %(2 after 3%)"},
    {"segment_mean: f32 offsets", function() return jl.segment_mean(jl.zeros(3, 2), jl.from({0, 3})) end,
      raises = "segment_mean: offsets must be a 1%-D i64 tensor of length segments%+1, got f32 %(2%)"},
    {"edge_gather: a neighbour row past the table", function()
      return jl.edge_gather(jl.zeros(2, 4), i64({0, 1, 2}), i64({2, 3}))
    end, raises = "edge_gather: nbr%[2%] = 3 is outside 1..2"},
    {"edge_features: a 0 neighbour (rows are 1-based)", function()
      return jl.edge_features(jl.zeros(2, 3), i64({0, 1, 2}), i64({0, 1}))
    end, raises = "edge_features: nbr%[1%] = 0 is outside 1..2 %(rows are 1%-based%)"},
    {"edge_features: edge offsets past the edges", function()
      return jl.edge_features(jl.zeros(2, 3), i64({0, 1, 3}), i64({2, 1}))
    end, raises = "edge_features: edge_gather: edge_offsets end at 3 but there are 2 rows"},
    {"scatter_mean: a target past n", function()
      return jl.scatter_mean(jl.zeros(3, 2), i64({1, 4, 2}), 3)
    end, raises = "scatter_mean: index%[2%] = 4 is outside 1..3"},
    {"scatter_mean: index and src disagree", function()
      return jl.scatter_mean(jl.zeros(3, 2), i64({1, 2}), 3)
    end, raises = "scatter_mean: index must be i64 %(E%) with E = 3 rows of src, got i64 %(2%)"},
    {"edges_by_dst: f32 sources", function()
      return jl.edges_by_dst(jl.from({1, 2}), i64({2, 1}), 2)
    end, raises = "edges_by_dst: src must be a 1%-D i64 tensor, got f32 %(2%)"},
    {"graph_select: a jet past the table", function()
      return jl.graph_select(i64({0, 1}), i64({0, 0}), i64({}), i64({2}))
    end, raises = "graph_select: jet 2 %(position 1 of the selection%) is not one of the 1 graphs"},
    {"sgd_update_: grad shape differs from the parameter", function()
      return jl.sgd_update_(jl.zeros(3), jl.zeros(4), nil, {lr = 0.1})
    end, raises = "sgd_update_: grad must be f32 %(3%) on cpu like the parameter, got f32 %(4%)"},

    -- ------------------------------------------------------------ jl.io: jets files
    {"open_jets: missing file", function() return jl.io.open_jets(missing) end,
      returns = "cannot open " .. P(missing) .. ": No such file or directory"},
    {"open_jets: not an HDF5 file", function() return jl.io.open_jets(fixture("not_hdf5.h5")) end,
      returns = P(fixture("not_hdf5.h5")) .. " is not an HDF5 file"},
    {"open_jets: a folder", function() return jl.io.open_jets(ctx.dir) end, returns = P(ctx.dir) .. " is not an HDF5 file"},
    {"open_jets: truncated file", function() return jl.io.open_jets(fixture("atlas_truncated.h5")) end,
      returns = "cannot open " .. P(fixture("atlas_truncated.h5")) .. " as HDF5: truncated file"},
    {"open_jets: missing dataset", function() return jl.io.open_jets(fixture("atlas_missing.h5")) end,
      returns = P(fixture("atlas_missing.h5")) .. ": missing dataset fjet_clus_phi"},
    {"open_jets: dataset of the wrong rank", function() return jl.io.open_jets(fixture("atlas_rank.h5")) end,
      returns = P(fixture("atlas_rank.h5")) .. ": dataset fjet_clus_eta has rank 1, expected 2"},
    {"open_jets: datasets of different lengths", function() return jl.io.open_jets(fixture("atlas_lengths.h5")) end,
      returns = P(fixture("atlas_lengths.h5")) .. ": inconsistent lengths: fjet_clus_pt has 3 jets, fjet_m has 2"},
    {"open_jets: a string dataset", function() return jl.io.open_jets(fixture("atlas_dtype.h5")) end,
      returns = P(fixture("atlas_dtype.h5")) .. ": dataset fjet_eta holds string values"},
    {"open_jets: PyTables table without values_block_1", function() return jl.io.open_jets(fixture("pytables_nofield.h5")) end,
      returns = P(fixture("pytables_nofield.h5")) .. ": dataset /table/table has no field values_block_1"},
    {"open_jets: a checkpoint, not a jets file", function() return jl.io.open_jets(good_ckpt) end,
      returns = P(good_ckpt) .. ": unknown layout: none of the ATLAS datasets"},
    {"open_jets: max_constituents 0", function() return jl.io.open_jets(atlas, {max_constituents = 0}) end,
      raises = "bad argument #2 to 'open_jets' %(max_constituents must be an integer >= 1%)"},
    {"open_jets: misspelt option", function() return jl.io.open_jets(atlas, {max_constituent = 5}) end,
      raises = "unknown option 'max_constituent' %(expected max_constituents%)"},
    {"reader:read: range past the end", function()
      local r <close> = assert(jl.io.open_jets(atlas))
      return r:read(r:count(), 5)
    end, raises = "bad argument #2 to 'read' %(jets 10%.%.14 outside the file's 10 jets%)"},
    {"reader:read: start 0 (1-based)", function()
      local r <close> = assert(jl.io.open_jets(atlas))
      return r:read(0, 1)
    end, raises = "bad argument #1 to 'read' %(start 0 outside 1%.%.11%)"},
    {"reader:read: after close", function()
      local r = assert(jl.io.open_jets(atlas))
      r:close()
      return r:read(1, 1)
    end, raises = "attempt to use a closed jets reader"},
    {"sniff: missing file", function() return jl.io.sniff(missing) end, returns = "cannot open " .. P(missing)},
    {"write_jets: batch without eta", function() return jl.io.write_jets(ctx.path("w.h5"), {pt = jl.zeros(2, 3)}) end,
      raises = "bad argument #2 to 'write_jets' %(field 'eta' must be a tensor, got nil%)"},
    {"write_jets: folder does not exist", function()
      local r <close> = assert(jl.io.open_jets(atlas))
      return jl.io.write_jets(missing .. "/out.h5", r:read(1, 2))
    end, returns = "cannot create " .. P(missing) .. "/out%.h5"},

    -- ------------------------------------------------------------ jl.physics: event files, clustering
    {"read_events: missing file", function() return jl.physics.read_events(missing) end,
      returns = P(missing) .. ": cannot open: No such file or directory"},
    {"read_events: a line that is not numbers", function() return jl.physics.read_events(events_nonnumeric) end,
      returns = P(events_nonnumeric) .. ":2: expected 4 numbers %(px py pz E%), got 0"},
    {"read_events: 3 columns", function() return jl.physics.read_events(events_three) end,
      returns = P(events_three) .. ":2: expected 4 numbers %(px py pz E%), got 3"},
    {"read_events: empty file", function() return jl.physics.read_events(events_empty) end,
      returns = P(events_empty) .. ": no particles"},
    {"read_events: comments only", function() return jl.physics.read_events(events_comments) end,
      returns = P(events_comments) .. ": no particles"},
    {"cluster_file: 3 columns", function() return jl.physics.cluster_file(events_three, {r = 0.4}) end,
      returns = P(events_three) .. ":2: expected 4 numbers"},
    {"read_events: a NaN momentum", function() return jl.physics.read_events(events_nan) end,
      returns = P(events_nan) .. ":2: column 1 is not a finite number"},
    {"cluster_file: a NaN momentum", function() return jl.physics.cluster_file(events_nan, {r = 0.4}) end,
      returns = P(events_nan) .. ":2: column 1 is not a finite number"},
    -- particles, constituents and jets are numbered from 1 in messages, as everywhere in Lua
    {"cluster: a NaN momentum", function() return jl.physics.cluster(jl.from({{1, 0, 0, 2}, {0 / 0, 0, 0, 1}})) end,
      raises = "cluster: particle 2 has a non%-finite component %(%-?nan 0 0 1%)"},
    {"cluster: no finite rapidity", function() return jl.physics.cluster(jl.from({{1, 0, 0, 0}, {1, 0, 0, 2}})) end,
      raises = "cluster: particle 1 %(1 0 0 0%) has no finite rapidity"},
    {"lund.graphs: a NaN energy in jet 1", function()
      return jl.lund.graphs{pt = jl.from({{5, 4}}), eta = jl.zeros(1, 2), phi = jl.zeros(1, 2), E = jl.from({{5, 0 / 0}})}
    end, raises = "lund: jet 1: lund: constituent 2 has a non%-finite component"},
    {"lund.graphs: a negative pT in jet 2", function()
      return jl.lund.graphs{pt = jl.from({{5, 4}, {3, -1}}), eta = jl.zeros(2, 2), phi = jl.zeros(2, 2),
        E = jl.from({{5, 4}, {3, 2}})}
    end, raises = "lund: jet 2, constituent 2: pt must be 0 %(padding%) or > 0, got %-1"},
    {"cluster_file: negative R", function() return jl.physics.cluster_file(events_three, {r = -1}) end,
      raises = "bad argument #2 to 'cluster_file' %(option 'r' must be a number > 0, got %-1"},
    {"cluster: unknown algorithm", function() return jl.physics.cluster(jl.zeros(2, 4), {algo = "siscone"}) end,
      raises = "option 'algo' must be antikt, cambridge, kt or genkt, got siscone"},
    {"cluster: particles of 3 columns", function() return jl.physics.cluster(jl.zeros(2, 3)) end,
      raises = "bad argument #1 to 'cluster' %(particles must be %(n, 4%) px py pz E, got %(2, 3%)%)"},
    {"cluster: genkt without p", function() return jl.physics.cluster(jl.zeros(2, 4), {algo = "genkt"}) end,
      raises = "option 'p' is required with algo = \"genkt\""},

    -- ------------------------------------------------------------ checkpoints
    {"ckpt.load: missing file", function() return ckpt.load(missing) end,
      returns = "ckpt: cannot read " .. P(missing) .. ": No such file or directory"},
    {"ckpt.load: truncated file", function() return ckpt.load(truncated_ckpt) end,
      returns = "ckpt: cannot read " .. P(truncated_ckpt) .. ": not a valid HDF5 checkpoint %(truncated or corrupt%?%)"},
    {"ckpt.load: HDF5 signature then garbage", function() return ckpt.load(garbage_h5) end,
      returns = "ckpt: cannot read " .. P(garbage_h5) .. ": not a valid HDF5 checkpoint"},
    {"ckpt.load: a jets file", function() return ckpt.load(atlas) end,
      returns = "ckpt: " .. P(atlas) .. " is an HDF5 file but not a jetlab checkpoint"},
    {"ckpt.load: HDF5 without the checkpoint format attribute", function() return ckpt.load(foreign_h5) end,
      returns = "ckpt: " .. P(foreign_h5) .. " is an HDF5 file but not a jetlab checkpoint"},
    {"ckpt.load: config attribute that is not a literal", function() return ckpt.load(bad_config) end,
      returns = "ckpt: config in " .. P(bad_config) .. " is not a valid literal"},
    {"ckpt.load: path not a string", function() return ckpt.load(42) end, raises = "ckpt%.load: path %(string%) expected"},
    {"ckpt.load_into: parameter of another shape", function() return ckpt.load_into(good_ckpt, nn.Linear(4, 2)) end,
      returns = "ckpt: weight has shape %(2, 3%) in " .. P(good_ckpt) .. " but %(2, 4%) in the model"},
    {"ckpt.load_into: parameter names differ", function()
      return ckpt.load_into(good_ckpt, nn.Sequential(nn.Linear(3, 2)))
    end, returns = "ckpt: 1%.weight is in the model but not in " .. P(good_ckpt)},
    {"ckpt.load_into: optimizer state asked of a file without one", function()
      local m = nn.Linear(3, 2)
      return ckpt.load_into(good_ckpt, m, {optimizer = optim.SGD(m:parameters(), {lr = 0.1})})
    end, returns = "ckpt: " .. P(good_ckpt) .. " has no optimizer state"},
    {"ckpt.save: folder does not exist", function() return ckpt.save(missing .. "/c.h5", {model = nn.Linear(3, 2)}) end,
      returns = "ckpt: cannot create " .. P(missing) .. "/c%.h5"},
    {"ckpt.save: misspelt option", function() return ckpt.save(ctx.path("c.h5"), {modle = nn.Linear(3, 2)}) end,
      raises = "ckpt%.save: unknown option 'modle'"},
    {"ckpt.save: a function in config", function() return ckpt.save(ctx.path("c.h5"), {config = {f = print}}) end,
      raises = "a function at top%.f cannot be written"},
    {"h5tensors.load: missing file", function() return jl.h5tensors.load(missing) end,
      returns = "cannot read " .. P(missing) .. ": No such file or directory"},
    {"h5tensors.save: a number where a tensor goes", function() return jl.h5tensors.save(ctx.path("t.h5"), {{"a", 3}}) end,
      raises = "save: dataset a: tensor expected, got number"},
    {"h5tensors.save: the same dataset twice", function()
      return jl.h5tensors.save(ctx.path("t.h5"), {{"a", jl.zeros(1)}, {"a", jl.zeros(1)}})
    end, returns = "cannot create dataset /a in " .. P(ctx.path("t.h5"))},

    -- ------------------------------------------------------------ nn modules
    {"Linear: input with the wrong feature count names both shapes", function()
      return nn.Linear(3, 2):forward(jl.zeros(4, 5))
    end, raises = "linear: input %(4, 5%) and weight %(2, 3%) do not align %(5 vs 3%)"},
    {"Linear: called with a string", function() return nn.Linear(3, 2)("x") end,
      raises = "bad argument #1 to 'linear' %(tensor expected, got string%)"},
    {"Linear: zero in_features", function() return nn.Linear(0, 2) end, raises = "Linear: in_features must be a positive integer, got 0"},
    {"Linear: misspelt option", function() return nn.Linear(3, 2, {bais = false}) end, raises = "Linear: unknown option 'bais'"},
    {"Sequential: layers that do not chain", function()
      return nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)):forward(jl.zeros(2, 3))
    end, raises = "linear: input %(2, 4%) and weight %(2, 5%) do not align"},
    {"Sequential: a number as a module", function() return nn.Sequential(3) end, raises = "register_module: 1 must be an nn module"},
    {"BatchNorm1d: wrong channel count", function() return nn.BatchNorm1d(4):forward(jl.zeros(3, 5)) end,
      raises = "BatchNorm1d%(4%): expected input %(N, 4%), got %(3, 5%)"},
    {"BatchNorm1d: one row in training", function() return nn.BatchNorm1d(4):forward(jl.zeros(1, 4)) end,
      raises = "batch_norm: training needs more than one row per channel, got x of shape %(1, 4%)"},
    {"LayerNorm: last dim differs", function() return nn.LayerNorm(4):forward(jl.zeros(3, 5)) end,
      raises = "layer_norm: input of shape %(3, 5%) does not end with the normalized shape %(4%)"},
    {"Dropout: p above 1", function() return nn.Dropout(1.5) end, raises = "Dropout: p must be in %[0, 1%], got 1%.5"},
    {"load_state_dict: tensor of another shape", function()
      return nn.Linear(3, 2):load_state_dict({weight = jl.zeros(3, 3)})
    end, raises = "load_state_dict: weight has shape %(3, 3%) in the checkpoint but %(2, 3%) in the model"},
    {"freeze: pattern not a string", function() return nn.Linear(3, 2):freeze(3) end, raises = "freeze: pattern must be a string or nil"},
    {"models.fcnn: zero inputs", function() return nn.models.fcnn{inputs = 0} end, raises = "fcnn: inputs must be a positive integer, got 0"},
    {"models.lundnet: 4 features", function() return nn.models.lundnet{features = 4} end,
      raises = "lundnet: features must be 5 %(ln z, ln Δ, ψ, ln m, ln kt%) or 3 %(ln z, ln Δ, ln kt%), got 4"},
    {"lund.graphs: 4 features", function()
      return jl.lund.graphs({pt = jl.from({{5, 4}}), eta = jl.zeros(1, 2), phi = jl.zeros(1, 2), E = jl.from({{5, 4}})},
        {features = 4})
    end, raises = "option 'features' must be 5 or 3, got 4"},
    {"models.particlenet: k = 0", function() return nn.models.particlenet{k = 0} end, raises = "particlenet: k must be a positive integer, got 0"},
    {"EdgeConv: k = 0", function() return nn.EdgeConv(0, 3, {8}) end, raises = "EdgeConv: k must be a positive integer"},
    {"EdgeConv: no in_channels", function() return nn.EdgeConv(16, nil, {8}) end, raises = "EdgeConv: in_channels must be a positive integer"},
    {"LundEdgeConv: no widths", function() return nn.LundEdgeConv(3, {}) end, raises = "LundEdgeConv: widths must be a non%-empty list"},

    -- ------------------------------------------------------------ optimizers, schedules
    {"SGD: no learning rate", function() return optim.SGD(params(), {}) end, raises = "SGD group 1: option 'lr' is required"},
    {"SGD: negative learning rate", function() return optim.SGD(params(), {lr = -1}) end,
      raises = "SGD: lr must be a finite number >= 0, got %-1$"},
    {"SGD: learning rate a string", function() return optim.SGD(params(), {lr = "0.1"}) end,
      raises = "SGD: lr must be a finite number >= 0, got \"0%.1\""},
    {"SGD: NaN learning rate", function() return optim.SGD(params(), {lr = 0 / 0}) end,
      raises = "SGD: lr must be a finite number >= 0, got %-?nan"},
    {"SGD: negative momentum", function() return optim.SGD(params(), {lr = 0.1, momentum = -0.5}) end,
      raises = "SGD: momentum must be a finite number >= 0, got %-0%.5"},
    {"SGD: the second group's learning rate", function()
      return optim.SGD({{params = params()}, {params = params(), lr = -0.01}}, {lr = 0.1})
    end, raises = "SGD group 2: lr must be a finite number >= 0, got %-0%.01"},
    {"Adam: negative learning rate", function() return optim.Adam(params(), {lr = -1e-3}) end,
      raises = "Adam: lr must be a finite number >= 0, got %-0%.001"},
    {"AdamW: infinite learning rate", function() return optim.AdamW(params(), {lr = math.huge}) end,
      raises = "AdamW: lr must be a finite number >= 0, got inf"},
    {"AdamW: learning rate a string", function() return optim.AdamW(params(), {lr = "fast"}) end,
      raises = "AdamW: lr must be a finite number >= 0, got \"fast\""},
    {"SGD: misspelt option", function() return optim.SGD(params(), {lr = 0.1, momentun = 0.9}) end,
      raises = "SGD: unknown option 'momentun' %(expected dampening, lr, momentum, nesterov, weight_decay%)"},
    {"Adam: one beta", function() return optim.Adam(params(), {betas = {0.9}}) end,
      raises = "Adam: betas%[2%] must be a finite number >= 0 and < 1, got nil"},
    {"Adam: beta1 above 1", function() return optim.Adam(params(), {betas = {1.5, 0.9}}) end,
      raises = "Adam: betas%[1%] must be a finite number >= 0 and < 1, got 1%.5"},
    {"Adam: betas a number", function() return optim.Adam(params(), {betas = 0.9}) end,
      raises = "Adam: betas must be {beta1, beta2} in %[0, 1%), got 0%.9"},
    {"Adam: negative eps", function() return optim.Adam(params(), {eps = -1}) end,
      raises = "Adam: eps must be a finite number >= 0, got %-1"},
    {"Adam: no parameters", function() return optim.Adam({}) end, raises = "Adam: no parameters to optimize"},
    {"AdamW: parameters a number", function() return optim.AdamW(3) end,
      raises = "AdamW: parameters %(an array of tensors or groups%) expected"},
    {"clip_grad_norm: negative max_norm", function() return optim.clip_grad_norm(params(), -1) end,
      raises = "clip_grad_norm: max_norm must be a number >= 0"},
    {"MultiStep: milestones not increasing", function()
      return schedule.MultiStep(optim.SGD(params(), {lr = 0.1}), {milestones = {20, 10}})
    end, raises = "schedule%.MultiStep: milestones must increase"},
    {"Step: step_size 0", function() return schedule.Step(optim.SGD(params(), {lr = 0.1}), {step_size = 0}) end,
      raises = "schedule%.Step: step_size must be a positive integer, got 0"},
    {"Cosine: no T_max", function() return schedule.Cosine(optim.SGD(params(), {lr = 0.1}), {}) end,
      raises = "schedule%.Cosine: option 'T_max' is required"},

    -- ------------------------------------------------------------ losses
    {"cross_entropy: label above the classes", function() return loss.cross_entropy(jl.zeros(2, 2), i64({1, 3})) end,
      raises = "cross_entropy: label 3 %(row 2%) out of range for 2 classes %(labels are 1%.%.2%)"},
    {"cross_entropy: label 0 (labels are 1-based)", function() return loss.cross_entropy(jl.zeros(2, 2), i64({0, 1})) end,
      raises = "cross_entropy: label 0 %(row 1%) out of range for 2 classes"},
    {"cross_entropy: f32 labels", function() return loss.cross_entropy(jl.zeros(2, 2), jl.from({1, 2})) end,
      raises = "labels must be i64 or i32, got f32"},
    {"cross_entropy: one label too many", function() return loss.cross_entropy(jl.zeros(2, 2), i64({1, 2, 1})) end,
      raises = "loss%.cross_entropy: logits %(2, 2%) and labels %(3%) differ: one label per row expected"},
    {"cross_entropy: logits of one dimension", function() return loss.cross_entropy(jl.zeros(2), i64({1, 2})) end,
      raises = "loss%.cross_entropy: logits must have 2 dimensions, got %(2%)"},
    {"jl.cross_entropy (core): one label too many", function() return jl.cross_entropy(jl.zeros(2, 2), i64({1, 2, 1})) end,
      raises = "cross_entropy: labels must be i64 of shape %(2%) for logits %(2, 2%), got i64 %(3%)"},
    {"cross_entropy: weights of the wrong length", function()
      return loss.cross_entropy(jl.zeros(2, 2), i64({1, 2}), {weights = jl.ones(3)})
    end, raises = "cross_entropy: weights must be f32 of shape %(2%) for logits %(2, 2%), got f32 %(3%)"},
    {"cross_entropy: unknown reduction", function()
      return loss.cross_entropy(jl.zeros(2, 2), i64({1, 2}), {reduction = "avg"})
    end, raises = "option 'reduction' must be \"mean\", \"sum\" or \"none\", got avg"},
    -- shape errors name the criterion and the shapes given, not the internal op
    {"mse: shapes differ", function() return loss.mse(jl.zeros(4, 2), jl.zeros(4, 3)) end,
      raises = "loss%.mse: input %(4, 2%) and target %(4, 3%) differ"},
    {"mse: a target that would broadcast", function() return loss.mse(jl.zeros(4, 2), jl.zeros(4, 1)) end,
      raises = "loss%.mse: input %(4, 2%) and target %(4, 1%) differ"},
    {"mse: a number as target", function() return loss.mse(jl.zeros(4, 2), 3) end,
      raises = "loss%.mse: target must be a tensor, got number"},
    {"mse: weights of the wrong length", function() return loss.mse(jl.zeros(4), jl.zeros(4), {weights = jl.ones(3)}) end,
      raises = "mse: weights must be a %(4%) tensor, one per sample, got %(3%)"},
    {"bce_with_logits: shapes differ", function() return loss.bce_with_logits(jl.zeros(4, 2), jl.zeros(4, 3)) end,
      raises = "loss%.bce_with_logits: logits %(4, 2%) and targets %(4, 3%) differ"},
    {"kl_div: shapes differ", function() return loss.kl_div(jl.zeros(4, 2), jl.zeros(4, 3)) end,
      raises = "loss%.kl_div: input %(4, 2%) and target %(4, 3%) differ"},
    {"kd.features: a teacher of another width", function()
      return loss.kd.features{student_dim = 2, teacher_dim = 3}(jl.zeros(4, 2), jl.zeros(4, 2))
    end, raises = "loss%.kd%.features: student %(4, 2%) and teacher %(4, 2%) do not fit %(B, 2%) and %(B, 3%)"},
    {"kd.relational: one teacher row short", function() return loss.kd.relational{}(jl.zeros(4, 2), jl.zeros(3, 2)) end,
      raises = "loss%.kd%.relational: .*got student %(4, 2%) and teacher %(3, 2%)"},
    {"kd.hinton: alpha above 1", function() return loss.kd.hinton{alpha = 2, T = 4} end,
      raises = "kd%.hinton: alpha must be a number in %[0, 1%], got 2"},
    {"kd.hinton: T = 0", function() return loss.kd.hinton{alpha = 0.5, T = 0} end, raises = "kd%.hinton: T must be a number in"},
    {"kd.hinton: teacher logits of another shape", function()
      return loss.kd.hinton{alpha = 0.5, T = 4}(jl.zeros(2, 2), i64({1, 2}), jl.zeros(2, 3))
    end, raises = "loss%.kd%.hinton: student logits %(2, 2%) and teacher logits %(2, 3%) differ"},
    {"kd.hinton: one label short", function()
      return loss.kd.hinton{alpha = 0.5, T = 4}(jl.zeros(2, 2), i64({1}), jl.zeros(2, 2))
    end, raises = "loss%.kd%.hinton: logits %(2, 2%) and labels %(1%) differ"},

    -- ------------------------------------------------------------ data
    {"data.open: missing file", function() return data.open(missing) end, returns = "cannot open " .. P(missing)},
    {"data.open: not an HDF5 file", function() return data.open(fixture("not_hdf5.h5")) end,
      returns = P(fixture("not_hdf5.h5")) .. " is not an HDF5 file"},
    {"data.open: missing dataset", function() return data.open(fixture("atlas_missing.h5")) end,
      returns = P(fixture("atlas_missing.h5")) .. ": missing dataset fjet_clus_phi"},
    {"data.open: misspelt option", function() return data.open(atlas, {max_const = 3}) end,
      raises = "data%.open: unknown option 'max_const' %(expected max_constituents, strict%)"},
    {"split: fractions above 1", function() return assert(data.open(atlas)):split{0.7, 0.7} end,
      raises = "split: fractions sum to 1%.4, more than 1"},
    {"batches: batch_size 0", function() return assert(data.open(atlas)):batches{batch_size = 0} end,
      raises = "batches: batch_size must be >= 1"},
    {"batches: unknown format", function() return assert(data.open(atlas)):batches{format = "dense"} end,
      raises = "batches: format must be \"flat\", \"padded\" or \"ragged\", got dense"},
    {"smear: misspelt option", function() return data.smear{sigma = 0.1} end, raises = "smear: unknown option 'sigma' %(expected E, pt, relative%)"},
    {"undersample: keep 0", function()
      for _ in assert(data.open(atlas)):batches{degrade = data.undersample{keep = 0}} do end
    end, raises = "undersample: keep must be >= 1, got 0"},
    {"undersample: unknown mode", function()
      for _ in assert(data.open(atlas)):batches{degrade = data.undersample{mode = "best"}} do end
    end, raises = "undersample: option 'mode' must be \"hardest\" or \"random\", got best"},
    {"features: E and pt of different shapes", function()
      return jl.data.features(jl.zeros(2, 3), jl.zeros(2, 3), jl.zeros(2, 3), jl.zeros(2, 4))
    end, raises = "atlas_features: E %(2, 4%) and pt %(2, 3%) differ in shape"},
    {"moments: 6 features instead of 7", function() return jl.data.moments(jl.zeros(3, 6)) end,
      raises = "feature moments: x must be an f32 CPU tensor %(N_total, 7%), got f32 cpu %(3, 6%)"},
    {"data.split (core): negative fraction", function() return jl.data.split(10, {0.5, -0.1}, 1) end,
      raises = "split: fraction 2 must be a finite number >= 0, got %-0%.1"},

    -- ------------------------------------------------------------ metrics, generator, training, formats
    {"metrics.auc: labels and scores of different lengths", function() return jl.metrics.auc(jl.zeros(3), jl.zeros(4)) end,
      raises = "labels has 4 entries but scores have 3"},
    -- labels outside the convention (1/2, or 0/1 with {signal = 1}) were taken as background
    {"metrics.auc: a label 0 among 1/2", function() return jl.metrics.auc(jl.rand(4), i64({1, 2, 0, 2})) end,
      raises = "auc: label 0 at position 3 is neither background %(1%) nor signal %(2%)"},
    {"metrics.auc: a third class", function() return metrics.auc(jl.rand(4), i64({1, 2, 3, 2})) end,
      raises = "auc: label 3 at position 3 is neither background %(1%) nor signal %(2%)"},
    {"metrics.roc: a label 2 among 0/1 labels", function() return metrics.roc(jl.rand(3), i64({0, 1, 2}), {signal = 1}) end,
      raises = "roc: label 2 at position 3 is neither background %(0%) nor signal %(1%)"},
    {"metrics.roc: background and signal equal", function()
      return metrics.roc(jl.rand(3), i64({0, 1, 1}), {signal = 1, background = 1})
    end, raises = "roc: background and signal are both 1"},
    {"metrics.accuracy: a label 0", function() return metrics.accuracy(jl.zeros(3, 2), i64({1, 0, 2})) end,
      raises = "metrics%.accuracy: label 0 at position 2 is not a class 1%.%.2"},
    {"metrics.accuracy: a label 3 with signal scores", function() return metrics.accuracy(jl.zeros(3), i64({1, 3, 2})) end,
      raises = "metrics%.accuracy: label 3 at position 2 is not a class 1%.%.2 %(1 = background, 2 = signal%)"},
    {"metrics.roc: labels a string", function() return jl.metrics.roc(jl.zeros(3), "x") end,
      raises = "bad argument #2 to 'roc' %(tensor expected, got string%)"},
    {"metrics.rejection: not a roc table", function() return metrics.rejection({}, 0.5) end,
      raises = "metrics%.rejection: roc table from metrics%.roc expected"},
    {"metrics.accuracy: labels of another length", function() return metrics.accuracy(jl.zeros(3, 2), i64({1, 2})) end,
      raises = "metrics%.accuracy: labels must be a %(N%) tensor matching the 3 rows of x"},
    {"gen.jets: no n", function() return jl.gen.jets{signal = "top"} end,
      raises = "bad argument #1 to 'jets' %(option 'n' %(number of jets%) is required%)"},
    {"gen.jets: unknown signal", function() return jl.gen.jets{signal = "higgs", n = 2} end,
      raises = "option 'signal' must be \"top\", \"w\" or \"none\", got higgs"},
    {"gen.jets: pT window reversed", function() return jl.gen.jets{pt = {600, 500}, n = 2} end,
      raises = "the pT window must have 0 < min < max, got 600:500"},
    {"gen.jets: misspelt option", function() return jl.gen.jets{n = 2, sead = 1} end, raises = "unknown option 'sead'"},
    {"gen.write: folder does not exist", function() return jl.gen.write{n = 2, path = missing .. "/g.h5"} end,
      returns = "cannot create " .. P(missing) .. "/g%.h5"},
    {"train.fit: misspelt option", function() return train.fit{epohcs = 3} end, raises = "train%.fit: unknown option 'epohcs'"},
    {"train.fit: data source a number", function()
      local m = nn.Linear(3, 2)
      return train.fit{model = m, train = 3, optimizer = optim.SGD(m:parameters(), {lr = 0.1}), epochs = 1, log = false}
    end, raises = "a data source must be a function returning an iterator, an object with :batches%(%) or an array of batches"},
    {"nn.compile: a graph network", function() return nn.compile(nn.models.particlenet_lite()) end,
      raises = "nn%.compile: .* is not supported; a plan takes Sequential, Linear"},
    {"nn.compile: misspelt option", function() return nn.compile(nn.Linear(3, 2), {sofmax = true}) end,
      raises = "nn%.compile: unknown option 'sofmax'"},
    {"plan: input of the wrong width", function() return nn.compile(nn.Linear(3, 2))(jl.zeros(4, 5)) end,
      raises = "plan: the input must be %(rows, 3%), got %(4, 5%)"},
    {"plan: i64 input", function() return nn.compile(nn.Linear(3, 2))(jl.zeros(4, 3, {dtype = "i64"})) end,
      raises = "plan: the input must be an f32 cpu tensor, got i64 on cpu"},
    {"jl.plan: weight of the wrong width", function() return jl.plan(3, {{"linear", jl.ones(2, 4)}}) end,
      raises = "jl%.plan step 1: plan: the linear weight must be %(2, 3%), got %(2, 4%)"},
    {"jl.plan: unknown step", function() return jl.plan(3, {{"gelu"}}) end,
      raises = "step 1: unknown step 'gelu' %(linear, affine, relu, sigmoid, tanh, softmax%)"},
    -- ------------------------------------------------------------ predict
    {"predict.file: a checkpoint without spec.inputs", function()
      return predict.file(no_inputs_ckpt, atlas, ctx.path("scores1.csv"))
    end, returns = P(no_inputs_ckpt) .. " records no inputs %(spec%.inputs%)"},
    {"predict.file: a checkpoint without a model spec", function()
      return predict.file(good_ckpt, atlas, ctx.path("scores2.csv"))
    end, returns = P(good_ckpt) .. " records no model spec"},
    {"predict.file: a missing jet file", function()
      return predict.file(flat_ckpt, missing, ctx.path("scores3.csv"))
    end, returns = "cannot open " .. P(missing)},
    {"predict.file: an output neither .csv nor .h5", function()
      return predict.file(flat_ckpt, atlas, ctx.path("scores.json"))
    end, returns = "scores%.json: the output must end in %.csv or %.h5"},
    {"predict.file: an output in a missing folder", function()
      return predict.file(flat_ckpt, atlas, missing .. "/scores.csv")
    end, returns = "cannot write " .. P(missing) .. "/scores%.csv"},
    {"predict.file: batch 0", function() return predict.file(flat_ckpt, atlas, ctx.path("s.csv"), {batch = 0}) end,
      raises = "predict%.file: batch must be an integer >= 1"},
    {"predict.chunks: unknown inputs kind", function() return predict.chunks(atlas, {kind = "image"}) end,
      returns = "unknown inputs kind 'image' %(one of flat, padded, ragged, lund%)"},
    {"literal.decode: truncated text", function() return literal.decode("{a = ", "config") end, returns = "config:1: unexpected symbol"},
    {"json.decode: truncated text", function() return json.decode("{\"a\": ") end, returns = "json: unexpected end of text at byte 7"},
  }
end
