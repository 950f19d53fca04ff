-- train_record.lua — a test helper (not a test): writes a training run's record
-- for the MPI tests to compare between one process and K ranks.
--   require("train_record").write(path, history, model, {val = true})
-- path gets one "loss <epoch> <train_loss>" line per epoch (with val, also
-- "val_loss <epoch> <val_loss>"), then "weight <name> <index> <value>" for every
-- parameter element, %.9g.
local M = {}

function M.write(path, history, model, o)
  local f = assert(io.open(path, "w"))
  for _, r in ipairs(history) do
    f:write(string.format("loss %d %.9g\n", r.epoch, r.train_loss))
    if o and o.val then f:write(string.format("val_loss %d %.9g\n", r.epoch, r.val_loss)) end
  end
  for _, e in ipairs(model:named_parameters()) do
    local flat = e[2]:reshape(-1)
    for i = 1, flat.shape[1] do f:write(string.format("weight %s %d %.9g\n", e[1], i, flat[i])) end
  end
  f:close()
end

return M
