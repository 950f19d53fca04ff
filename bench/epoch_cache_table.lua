-- bench/epoch_cache_table.lua OUT REPS — the table of bench/epoch_cache.sh:
-- per model, medians over the REPS runs of each setting (OUT/off<r>, OUT/on<r>)
-- of the epoch ms/sample (mean of all epochs; mean of epochs 2..) from the
-- runs' history CSVs and the `jetlab bench --experiment` step (OUT/bench-<mode><r>.txt).
local out, reps = arg[1], tonumber(arg[2])

local function median(list)
  table.sort(list)
  local n = #list
  if n == 0 then return 0 / 0 end
  return n % 2 == 1 and list[(n + 1) // 2] or (list[n // 2] + list[n // 2 + 1]) / 2
end

-- {all =, steady =} mean ms_per_sample of a history CSV (all epochs, epochs 2..).
local function epochs(path)
  local f = assert(io.open(path))
  local header = f:read("l")
  local col
  local i = 0
  for name in header:gmatch("[^,]+") do
    i = i + 1
    if name == "ms_per_sample" then col = i end
  end
  local all, steady, n = 0, 0, 0
  for line in f:lines() do
    local cells = {}
    for c in line:gmatch("[^,]*") do cells[#cells + 1] = c end
    local v = tonumber(cells[col])
    if v then
      n = n + 1
      all = all + v
      if n >= 2 then steady = steady + v end
    end
  end
  f:close()
  return {all = all / n, steady = n > 1 and steady / (n - 1) or all / n}
end

local rows, order = {}, {}
for r = 1, reps do
  for _, mode in ipairs({"off", "on"}) do
    local p = io.popen("readlink -f " .. out .. "/" .. mode .. r .. "/*/latest")
    local run = p:read("l")
    p:close()
    local bench = assert(io.open(out .. "/bench-" .. mode .. r .. ".txt")):read("a")
    for label, key, step in bench:gmatch("| ([^|]-) %((%S+)%) | %d+ | [%d.]+ | ([%d.]+) |") do
      if not rows[key] then
        rows[key] = {label = label, off = {all = {}, steady = {}, step = {}}, on = {all = {}, steady = {}, step = {}}}
        order[#order + 1] = key
      end
      local e = epochs(run .. "/history_" .. key .. ".csv")
      local m = rows[key][mode]
      m.all[#m.all + 1], m.steady[#m.steady + 1], m.step[#m.step + 1] = e.all, e.steady, tonumber(step)
    end
  end
end

print(string.format("medians of %d runs each; ms/sample; ratio = epoch / bench step", reps))
print("| model (key) | setting | epoch (all) | epoch (2..) | bench step | ratio (all) | ratio (2..) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
table.sort(order)
for _, key in ipairs(order) do
  for _, mode in ipairs({"off", "on"}) do
    local m = rows[key][mode]
    local all, steady, step = median(m.all), median(m.steady), median(m.step)
    print(string.format("| %s (%s) | %s | %.4f | %.4f | %.4f | %.2f× | %.2f× |", rows[key].label, key,
      mode == "off" and "--cache-mb 0" or "cached", all, steady, step, all / step, steady / step))
  end
end
