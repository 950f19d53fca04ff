-- bench/epoch_cache_table.lua OUT REPS MODE... — the table of bench/epoch_cache.sh:
-- per model, medians over the REPS runs of each setting (OUT/<mode><r>, modes
-- off, on and maybe before) of the epoch from the runs' history CSVs (the
-- training pass's ms/sample over epochs 2.. and over all epochs; the whole epoch,
-- validation and checkpoints included, per training sample), and of the
-- `jetlab bench --experiment` step over every bench file (OUT/bench-<mode><r>.txt).
local out, reps = arg[1], tonumber(arg[2])
local modes = {table.unpack(arg, 3)}
local NAMES = {off = "--cache-mb 0", on = "cached", before = "cached, BEFORE build"}

local function median(list)
  table.sort(list)
  local n = #list
  if n == 0 then return 0 / 0 end
  return n % 2 == 1 and list[(n + 1) // 2] or (list[n // 2] + list[n // 2 + 1]) / 2
end

-- {all =, steady =, whole =} of a history CSV: mean ms_per_sample over all
-- epochs and over epochs 2..; mean of 1000 * seconds / samples (the whole epoch).
local function epochs(path)
  local f = assert(io.open(path))
  local col = {}
  local i = 0
  for name in f:read("l"):gmatch("[^,]+") do
    i = i + 1
    col[name] = i
  end
  local all, steady, whole, n = 0, 0, 0, 0
  for line in f:lines() do
    local cells = {}
    for c in line:gmatch("[^,]*") do cells[#cells + 1] = c end
    local v = tonumber(cells[col.ms_per_sample])
    if v then
      n = n + 1
      all = all + v
      if n >= 2 then steady = steady + v end
      whole = whole + 1000 * (tonumber(cells[col.seconds]) or 0 / 0) / tonumber(cells[col.samples])
    end
  end
  f:close()
  return {all = all / n, steady = n > 1 and steady / (n - 1) or all / n, whole = whole / n}
end

local rows, order, steps = {}, {}, {}
for r = 1, reps do
  for _, mode in ipairs({"off", "on"}) do
    local bench = assert(io.open(out .. "/bench-" .. mode .. r .. ".txt")):read("a")
    for label, key, step in bench:gmatch("| ([^|]-) %((%S+)%) | %d+ | [%d.]+ | ([%d.]+) |") do
      if not steps[key] then
        steps[key] = {}
        order[#order + 1] = key
        rows[key] = {label = label}
      end
      table.insert(steps[key], tonumber(step))
    end
  end
end
for _, mode in ipairs(modes) do
  for r = 1, reps do
    local p = io.popen("readlink -f " .. out .. "/" .. mode .. r .. "/*/latest")
    local run = p:read("l")
    p:close()
    for _, key in ipairs(order) do
      local e = epochs(run .. "/history_" .. key .. ".csv")
      local m = rows[key][mode] or {all = {}, steady = {}, whole = {}}
      rows[key][mode] = m
      m.all[#m.all + 1], m.steady[#m.steady + 1], m.whole[#m.whole + 1] = e.all, e.steady, e.whole
    end
  end
end

print(string.format("medians of %d runs per setting; ms per training sample; ratio = epoch / bench step", reps))
print("| model (key) | bench step | setting | epochs 2.. | ratio | all epochs | ratio | whole epoch (val + ckpt) | ratio |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
table.sort(order)
for _, key in ipairs(order) do
  local step = median(steps[key])
  for _, mode in ipairs(modes) do
    local m = rows[key][mode]
    local steady, all, whole = median(m.steady), median(m.all), median(m.whole)
    print(string.format("| %s (%s) | %.4f | %s | %.4f | %.2f× | %.4f | %.2f× | %.4f | %.2f× |", rows[key].label, key,
      step, NAMES[mode], steady, steady / step, all, all / step, whole, whole / step))
  end
end
