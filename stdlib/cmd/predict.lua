-- jetlab predict — the per-jet signal probability of a checkpoint on a jet file
-- (jetlab.predict.file: streamed, the preprocessing the checkpoint records).
--
--   jetlab predict lundnet5.h5 test.h5 -o scores.csv
--   jetlab predict run/best.h5 test.h5 -o scores.h5 --batch 1024 --threads 8

local cli = require "jetlab.cli"
local predict = require "jetlab.predict"

local spec = {
  name = "jetlab predict",
  usage = "jetlab predict CKPT.h5 JETS.h5 -o SCORES.csv|SCORES.h5 [--batch N] [--threads N]",
  about = "Scores every jet of JETS.h5 (ATLAS layout) with the model of CKPT.h5 (jetlab import's or\n" ..
          "train.fit's), preparing the jets as the checkpoint records (spec.inputs: Lund graphs, ragged\n" ..
          "or flat features, standardisation, degradation), CHUNK jets at a time.\n" ..
          "SCORES.csv: header index,label,score — index the jet's 0-based row in JETS.h5, label as\n" ..
          "stored (0 background, 1 signal), score the softmax probability of the signal class.\n" ..
          "SCORES.h5: the same columns as datasets /index (i64), /label (i64), /score (f32).\n" ..
          "Prints the AUC and 1/eB at eS = 0.3 and 0.5 (unweighted) when the file has both labels.",
  options = {
    {"output", "string", short = "o", help = "the scores to write (.csv or .h5)", required = true},
    {"batch", "integer", 256, help = "jets read and scored at a time"},
    {"threads", "integer", help = "threads [default: all cores or JETLAB_NUM_THREADS]"},
    {"degrade", "boolean", true, help = "apply the degradation the checkpoint records (--no-degrade: score the jets as they are)"},
  },
  notes = "Jets with NaN/Inf, E <= 0 or no constituent are skipped for feature inputs (as in training)\n" ..
          "and counted. The output is written to SCORES.tmp and renamed: an error leaves nothing.",
}

local opts = cli.parse_or_exit(arg, spec)
local function fail(msg) cli.fail(spec, msg) end
if #opts ~= 2 then fail("expected CKPT.h5 and JETS.h5 (see --help)") end
if opts.batch < 1 then fail("--batch must be >= 1") end
if opts.threads then
  if opts.threads < 1 then fail("--threads must be >= 1") end
  jl.set_num_threads(opts.threads)
end

local s, err = predict.file(opts[1], opts[2], opts.output, {batch = opts.batch, degrade = opts.degrade})
if not s then fail(err) end

print(string.format("jetlab predict: %s on %s: %d jets scored → %s", opts[1], opts[2], s.jets, opts.output))
print("  inputs: " .. predict.describe(s.inputs))
if s.skipped > 0 then print(string.format("  skipped %d invalid jets (not in the output)", s.skipped)) end
if s.auc then
  print(string.format("  AUC %.4f   1/eB at eS = 0.3: %.1f   at eS = 0.5: %.1f", s.auc, s.rej30, s.rej50))
else
  print("  no AUC: " .. s.no_metrics)
end
print(string.format("  %.1f s, %.0f jets/s on %d threads", s.seconds, s.jets_per_second, jl.get_num_threads()))
