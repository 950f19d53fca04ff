-- Tests of jetlab.results (run folders), jetlab.json and jetlab.experiment (the harness).
local T = require "jetlab.test"
local fs = require "jetlab.fs"
local E = require "jetlab.experiment"
local json = require "jetlab.json"
local results = require "jetlab.results"

local function read(path)
  return assert(fs.read(path))
end

local function lines(path)
  local out = {}
  for l in read(path):gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

local quiet = {log = false}

local function run_in(dir, opts)
  local o = {root = dir, log = false}
  for k, v in pairs(opts or {}) do o[k] = v end
  return results.run("demo", {lr = 1e-3}, o)
end

T.case("run folder: results/<experiment>/<run-id>/, latest link, unique ids", function()
  fs.with_tmpdir(function(dir)
    local a, b = run_in(dir), run_in(dir)
    T.ok(a.id ~= b.id, "two runs get two ids")
    T.ok(a.id:match("^%d%d%d%d%d%d%d%d%-%d%d%d%d%d%d%-%x%x%x%x$"), "id is a timestamp and a suffix: " .. a.id)
    T.eq(a.dir, dir .. "/demo/" .. a.id)
    T.eq(fs.list(dir .. "/demo"), (function()
      local want = {a.id, b.id, "latest"}
      table.sort(want)
      return want
    end)())
    local given = run_in(dir, {run_id = "mine"})
    T.eq(given.dir, dir .. "/demo/mine")
    given:write_config()
    T.ok(io.open(dir .. "/demo/latest/config.lua"), "latest points at the newest run")
    T.eq(run_in(dir, {run_id = "mine"}).dir, dir .. "/demo/mine", "a given id may exist already")
    T.eq(a:path("ckpt/best.h5"), a.dir .. "/ckpt/best.h5")
    T.ok(io.open(a.dir .. "/ckpt") ~= nil, "path creates the folders it goes through")
    T.raises(function() results.run("a/b", {}, quiet) end, "plain file name")
    T.raises(function() results.run("x", {}, {root = dir, colour = 1}) end, "unknown option 'colour'")
  end)
end)

T.case("config.lua reloads with dofile to an equal table", function()
  fs.with_tmpdir(function(dir)
    local cfg = {lr = 1e-3, epochs = 30, hidden = {400, 400}, name = 'the "fcnn"', full = false,
                 nested = {a = {b = 0.1 + 0.2}}, tiny = 5e-324}
    local run = run_in(dir)
    run.config = cfg
    local path = run:write_config()
    T.eq(path, run.dir .. "/config.lua")
    local back = dofile(path)
    T.eq(back, cfg)
    T.eq(math.type(back.epochs), "integer")
    T.eq(math.type(back.hidden[1]), "integer")
    T.ok(read(path):find("\n  lr = 0.001,\n", 1, true), "one key per line")
    run.config = {[1] = "x", odd_key = {}, ["two words"] = true}
    T.eq(dofile(run:write_config()), run.config)
  end)
end)

T.case("metrics.json holds every record, merged per model and variant", function()
  fs.with_tmpdir(function(dir)
    local run = run_in(dir)
    run:record("ParticleNet", "scratch", {auc = 0.9812345678901234, accuracy = 0.93, rej30 = math.huge,
                                           rej50 = 412.25, params = 366000, train_ms_per_sample = 0.0412})
    run:record("ParticleNet", "fine-tune", {auc = 0.985})
    run:record("ParticleNet", "fine-tune", {infer_us_per_jet = 12.5})
    run:record("LundNet5", "frozen", {auc = 0.97, note = "10% of the data"})
    run:finish()
    local m = assert(json.decode(read(run.dir .. "/metrics.json")))
    T.eq(m.experiment, "demo")
    T.eq(m.run_id, run.id)
    T.ok(m.started and m.finished and m.seconds, "times are recorded")
    local s = m.results.ParticleNet.scratch
    T.eq(s.auc, 0.9812345678901234)
    T.eq(s.rej30, json.null, "an infinite rejection is null")
    T.eq(s.rej50, 412.25)
    T.eq(s.params, 366000)
    T.eq(m.results.ParticleNet["fine-tune"], {auc = 0.985, infer_us_per_jet = 12.5})
    T.eq(m.results.LundNet5.frozen.note, "10% of the data")
    T.raises(function() run:record("x", "y", {auc = {1}}) end, "must be a number, string or boolean")
  end)
end)

T.case("tags: top-level fields of metrics.json, named in summary.md", function()
  fs.with_tmpdir(function(dir)
    local run = run_in(dir, {tags = {generator = "pythia", sample = "top500"}})
    run:finish()
    local m = assert(json.decode(read(run.dir .. "/metrics.json")))
    T.eq({m.generator, m.sample, m.experiment}, {"pythia", "top500", "demo"})
    T.ok(read(run.dir .. "/summary.md"):find("generator: pythia. sample: top500. Configuration", 1, true),
      "summary.md's first line names the tags")
    T.raises(function() run_in(dir, {tags = {results = "x"}}):save() end, "tag results is a field of metrics.json")
  end)
end)

T.case("roc and history CSV files", function()
  fs.with_tmpdir(function(dir)
    local run = run_in(dir)
    local path = run:write_roc("pnet", {eff_s = {0, 0.25, 0.5, 1}, eff_b = {0, 0.001, 0.0625, 1}})
    T.eq(path, run.dir .. "/roc_pnet.csv")
    T.eq(lines(path), {"eff_s,eff_b,rejection", "0,0,inf", "0.25,0.001,1000", "0.5,0.0625,16", "1,1,1"})
    local es, eb = {}, {}
    for i = 1, 1001 do es[i], eb[i] = (i - 1) / 1000, ((i - 1) / 1000) ^ 2 end
    local thin = lines(run:write_roc("long", {eff_s = es, eff_b = eb}, 11))
    T.eq(#thin, 12)
    T.eq(thin[2], "0,0,inf")
    T.eq(thin[12], "1,1,1")
    T.eq(thin[7], "0.5,0.25,4")
    local history = {{epoch = 1, train_loss = 0.5, val_auc = 0.9, lr = 1e-3},
                     {epoch = 2, train_loss = 0.25, val_auc = 0.95, lr = 1e-3, note = "a, b"},
                     best_epoch = 2, metric = "val_auc"}
    T.eq(lines(run:write_history("pnet", history)),
      {"epoch,train_loss,val_auc,lr,note", "1,0.5,0.9,0.001,", '2,0.25,0.95,0.001,"a, b"'})
  end)
end)

T.case("summary.md and the terminal summary hold the tables", function()
  fs.with_tmpdir(function(dir)
    local printed = {}
    local run = run_in(dir, {log = function(l) printed[#printed + 1] = l end})
    run:record("FCNN", "teacher", {auc = 0.95, rej50 = 60.5})
    run:record("FCNN", "student+KD", {auc = 0.93})
    run:table("Training time", {"model", "ms/sample", "total s"},
      {{"ParticleNet", 0.41, 123.4}, {model = "LundNet|5", ["ms/sample"] = 0.1, ["total s"] = 12345.6}})
    run:note("Generated jets, not the ATLAS data.")
    local md = read(run.dir .. "/summary.md")
    T.ok(md:find("(running)", 1, true), "summary.md is written before finish")
    T.eq(run:finish(), run.dir)
    md = read(run.dir .. "/summary.md")
    T.ok(md:find("| model | variant | AUC | 1/εB@εS=0.5 |\n| --- | --- | --- | --- |\n| FCNN | teacher | 0.95 | 60.5 |\n"
      .. "| FCNN | student+KD | 0.93 |  |\n", 1, true), "metrics table:\n" .. md)
    T.ok(md:find("## Training time\n\n| model | ms/sample | total s |\n| --- | --- | --- |\n| ParticleNet | 0.41 | 123.4 |\n"
      .. "| LundNet\\|5 | 0.1 | 12346 |\n", 1, true), "added table:\n" .. md)
    T.ok(md:find("Generated jets, not the ATLAS data.", 1, true), "note")
    local text = table.concat(printed, "\n")
    T.ok(text:find("model  variant      AUC  1/εB@εS=0.5\n"
      .. "-----  ----------  ----  -----------\n"
      .. "FCNN   teacher     0.95         60.5\n"
      .. "FCNN   student+KD  0.93", 1, true), "aligned terminal table:\n" .. text)
    T.ok(text:find("results: " .. run.dir, 1, true), "names the folder")
  end)
end)

T.case("writes are atomic: no .tmp file is left, a failed write raises", function()
  fs.with_tmpdir(function(dir)
    local run = run_in(dir)
    run:write_config()
    run:record("m", "v", {auc = 0.5})
    run:write_roc("x", {eff_s = {0, 1}, eff_b = {0, 1}})
    run:write_history("x", {{epoch = 1}})
    run:finish()
    for _, name in ipairs(fs.list(run.dir)) do T.ok(not name:find("%.tmp$"), "left " .. name) end
    T.eq(fs.list(run.dir), {"config.lua", "history_x.csv", "metrics.json", "roc_x.csv", "summary.md"})
    T.raises(function() fs.write(dir .. "/missing/x.txt", "x") end, "cannot write")
  end)
end)

T.case("summary.md lists the run's PNG plots", function()
  fs.with_tmpdir(function(dir)
    local run = run_in(dir)
    local f = assert(io.open(run:path("roc.png"), "wb"))
    f:write("x")
    f:close()
    run:finish()
    T.ok(read(run.dir .. "/summary.md"):find("![roc](roc.png)", 1, true))
  end)
end)

T.case("json: encode/decode round trips, escapes, non-finite numbers, errors", function()
  local v = {a = {1, 2.5, -3, 1e300, 5e-324}, s = 'q"b\\s\n\t\1é', t = true, f = false, o = {}, e = json.array()}
  local text = json.encode(v)
  T.eq(text, '{"a":[1,2.5,-3,1e+300,4.94065645841247e-324],"e":[],"f":false,"o":{},'
    .. '"s":"q\\"b\\\\s\\n\\t\\u0001é","t":true}')
  T.eq(json.decode(text), v)
  T.eq(json.decode(json.encode(0.1 + 0.2)), 0.1 + 0.2)
  T.eq(json.encode({0 / 0, math.huge, -math.huge}), "[null,null,null]")
  T.eq(json.encode({x = {1, 2}, y = {z = 1}}, {indent = 2}), '{\n  "x": [1, 2],\n  "y": {\n    "z": 1\n  }\n}')
  local d = json.decode(' {"u": "\\u00e9\\ud83d\\ude00\\/", "n": [null, 1], "x": -1.5e2, "i": 12} ')
  T.eq(d.u, "é😀/")
  T.eq(d.n[1], json.null)
  T.eq(d.x, -150.0)
  T.eq(math.type(d.i), "integer")
  for _, bad in ipairs({"", "[1,", "{1:2}", "01", "[1] x", '"abc', "tru", "1.", "[1,]", '"\\x"', '"a\nb"'}) do
    local value, err = json.decode(bad)
    T.eq(value, nil, bad)
    T.ok(err:find("^json: .* at byte %d+$"), err)
  end
  T.raises(function() json.encode({1, 2, x = 3}) end, "mixed or sparse keys at top")
  T.raises(function() json.encode({f = print}) end, "a function at top.f")
  local cyc = {}
  cyc.self = cyc
  T.raises(function() json.encode(cyc) end, "cycle")
  T.raises(function() json.encode({a = {{1, print}}}) end, "a function at top.a%[1%]%[2%]")
end)

T.case("json: keys in a given order, floats with given digits, Python's spacing", function()
  local jet = json.ordered{"event", "pt", "nodes", "extra"}
  local j = jet{event = 3, pt = 983.38727662130657, nodes = json.array{{-1, 0.1 + 0.2, 2}, {0, 0 / 0, -0.0}}}
  T.eq(json.encode(j), '{"event":3,"pt":983.38727662130657,"nodes":[[-1,0.30000000000000004,2],[0,null,-0]]}')
  T.eq(json.encode(j, {digits = 6}), '{"event":3,"pt":983.387,"nodes":[[-1,0.3,2],[0,null,-0]]}')
  T.eq(json.encode(j, {digits = 17, spaced = true}),
    '{"event": 3, "pt": 983.38727662130657, "nodes": [[-1, 0.30000000000000004, 2], [0, null, -0]]}')
  T.eq(json.encode(jet{event = 1}), '{"event":1}', "keys the table lacks are left out")
  T.eq(json.encode({json.array(), {}}, {digits = 3}), "[[],{}]")
  T.eq(json.encode({1, 2.5, "x"}, {digits = 3}), '[1,2.5,"x"]')
  T.raises(function() json.encode({a = jet{event = 1, other = 2}}) end, "a key outside the given order at top.a")
end)

local SPEC = {about = "Demo.", epochs = 30, lr = 1e-3, n_train = 100000, channels = {32, 64}, bn = true,
              quick = {epochs = 2, n_train = 2000}, full = {n_train = 1200000}, quick_pythia = {n_train = 500}}

T.case("experiment config: defaults < preset < flags, typed, with the common flags", function()
  T.eq(E.config(SPEC, {}), {epochs = 2, lr = 1e-3, n_train = 2000, channels = {32, 64}, bn = true,
                            device = "cpu", seed = 1, seeds = 1, out = "results", generator = "builtin", preset = "quick",
                            matmul_precision = "f32"},
       "quick_pythia applies under --generator pythia only")
  T.eq(E.config(SPEC, {"--full", "--lr", "0.1", "--channels", "{1, 2, 3}", "--no-bn", "--seed=3",
                       "--out", "/tmp/x", "--data", "top.h5", "--epochs", "5", "--matmul_precision", "bf16"}),
       {epochs = 5, lr = 0.1, n_train = 1200000, channels = {1, 2, 3}, bn = false, device = "cpu",
        seed = 3, seeds = 1, out = "/tmp/x", data = "top.h5", generator = "builtin", preset = "full",
        matmul_precision = "bf16"})
  T.eq(E.config({seed = 7}, {}).seed, 7, "an experiment may change a common default")
  T.raises(function() E.config({quick = {epohcs = 1}}, {}) end, "quick preset sets 'epohcs', which has no default")
  T.raises(function() E.config({quick_pythia = {epohcs = 1}}, {}) end,
    "quick_pythia preset sets 'epohcs', which has no default")
end)

T.case("experiment run: config.lua written in <out>/<name>/<id>/", function()
  fs.with_tmpdir(function(dir)
    local cfg = E.config(SPEC, {"--out", dir, "--epochs", "3"})
    local run = E.run("harness", cfg)
    run.log = function() end
    T.eq(dofile(run.dir .. "/config.lua"), cfg)
    T.eq(run.dir:sub(1, #dir + 9), dir .. "/harness/")
    run:finish()
    T.eq(json.decode(read(run.dir .. "/metrics.json")).generator, "builtin", "metrics.json names the generator")
    T.ok(read(run.dir .. "/summary.md"):find("generator: builtin.", 1, true), "summary.md names the generator")
  end)
end)

T.case("experiment --profile: not part of cfg; each model's first epoch profiled into profile.txt", function()
  fs.with_tmpdir(function(dir)
    local cfg = E.config(SPEC, {"--out", dir, "--profile"})
    T.eq(cfg.profile, nil)
    T.eq(cfg, E.config(SPEC, {"--out", dir}))
    local run = E.run("harness", cfg)
    run.log = function() end
    local nn, optim = require "jetlab.nn", require "jetlab.optim"
    local model = nn.Linear(3, 2)
    local batch = {x = jl.randn(8, 3), y = jl.tensor({1, 2, 1, 2, 1, 2, 1, 2}, {dtype = "i64"})}
    local history = E.fit(run, "tiny", {model = model, optimizer = optim.SGD(model:parameters(), {lr = 0.1}),
      train = {batch, batch}, epochs = 2, log = false})
    T.ok(history.profile and #history.profile.entries > 0, "a report")
    local f = assert(io.open(run:path("tiny") .. "/profile.txt"))
    T.ok(f:read("a"):find("^op profile: "))
    f:close()
    run:finish()
  end)
end)

T.case("experiment evaluate: AUC, accuracy and rejections of a model's scores", function()
  -- four background and four signal jets; a logit difference d gives P(signal) = sigmoid(d)
  local d = {-3, -2, -1, 1.5, -0.5, 2, 2.5, 3}
  local y = {1, 1, 1, 1, 2, 2, 2, 2}
  local x = {}
  for i, v in ipairs(d) do x[i] = {0, v} end
  local model = setmetatable({eval = function() end, train = function() end},
                             {__call = function(_, input) return input end})
  local batch = {x = jl.tensor(x), y = jl.tensor(y, {dtype = "i64"})}
  local m, roc = E.evaluate(model, {batch})
  -- pairs (signal, background) ordered right: 4*4 = 16, minus one (-0.5 < 1.5)
  T.near(m.auc, 15 / 16, 1e-12)
  T.near(m.accuracy, 6 / 8, 1e-6)
  T.eq(m.rej30, math.huge, "no background above the two best signal jets")
  T.eq(m.rej50, math.huge, "two of four signal jets pass before any background")
  T.eq(m.n, 8)
  T.near(roc.auc, m.auc, 1e-12)
end)

T.run()
