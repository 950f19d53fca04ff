-- jetlab.uncertainty — the uncertainty of a recorded figure: seeds' mean and spread, the
-- bootstrap error over the test jets, table cells "v ± σ", and the rule that calls a
-- difference an effect.
--
--   local U = require "jetlab.uncertainty"
--   local m = U.aggregate({m_seed1, m_seed2, m_seed3})   -- mean, <k>_std, <k>_per_seed, n_seeds
--   U.sigma(m, "auc")                                     -- sqrt(auc_err^2 + auc_std^2 / n_seeds)
--   U.cell(m, "auc")                                      -- a table cell: 0.9834 ± 0.0010 ± 0.0012
--   local d = U.compare(m_kd, m_plain, "auc")             -- {delta=, sigma=, effect=, text=}
--
-- Fields of a record (metrics.json): <k> is the figure (the mean over seeds with --seeds N > 1);
-- <k>_err the bootstrap error over the test jets (metrics.bootstrap; with seeds the mean of the
-- seeds' errors, as they share the test jets); <k>_std the sample standard deviation over the
-- seeds (N - 1 in the denominator; with N >= 2); <k>_per_seed the seeds' values; n_seeds.
--
-- THE EFFECT RULE. The uncertainty of a figure is σ = sqrt(err² + std² / N): the test jets'
-- bootstrap error and the standard error of the seeds' mean. A difference Δ = a − b between two
-- variants has σ_Δ = sqrt(σ_a² + σ_b²) (the two taken as independent: conservative, as both are
-- scored on the same test jets, whose fluctuations partly cancel in Δ), and is called an effect
-- only when |Δ| > U.K_SIGMA · σ_Δ, with U.K_SIGMA = 2. Without any uncertainty (neither err nor
-- std) nothing is called an effect.

local results = require "jetlab.results"

local U = {K_SIGMA = 2}

local function suffixed(k) return k:match("_err$") or k:match("_std$") or k:match("_per_seed$") end

--- U.std(list) → the sample standard deviation (N - 1), nil under two values.
function U.std(list)
  local n, s, ss = #list, 0, 0
  if n < 2 then return nil end
  for _, v in ipairs(list) do s = s + v end
  local mean = s / n
  for _, v in ipairs(list) do ss = ss + (v - mean) ^ 2 end
  return math.sqrt(ss / (n - 1))
end

--- U.aggregate(list) → one record from the records of N seeds: every numeric field that is in
--- all of them as its mean, with <k>_std and <k>_per_seed (N >= 2); <k>_err as the mean of the
--- seeds' errors; an integer the same in all (params) and other fields as the first seed's;
--- n_seeds = N. One record comes back as it is.
function U.aggregate(list)
  local n = #list
  assert(n >= 1, "U.aggregate: at least one record expected")
  if n == 1 then return list[1] end
  local m = {n_seeds = n}
  for k, v in pairs(list[1]) do
    local values, same = {}, true
    for i, r in ipairs(list) do
      values[i] = type(r[k]) == "number" and r[k] or nil
      same = same and r[k] == v
    end
    local spread = suffixed(k) and not k:match("_err$") -- none in a seed's own record
    if spread then
      m[k] = nil
    elseif type(v) ~= "number" or #values < n or (same and math.type(v) == "integer") then
      m[k] = v
    else
      local s = 0
      for _, x in ipairs(values) do s = s + x end
      m[k] = s / n
      if not k:match("_err$") then m[k .. "_std"], m[k .. "_per_seed"] = U.std(values), values end
    end
  end
  return m
end

--- U.sigma(m, key) → sqrt(err² + std² / n_seeds), or nil when m has neither.
function U.sigma(m, key)
  local err, std = m[key .. "_err"], m[key .. "_std"]
  if err == nil and std == nil then return nil end
  return math.sqrt((err or 0) ^ 2 + (std or 0) ^ 2 / (m.n_seeds or 1))
end

--- U.cell(m, key) → a table cell for results' tables: the figure, with ± the seeds' standard
--- deviation and ± the bootstrap error when m has them ("0.9834 ± 0.0010 ± 0.0012"), or the
--- bare figure.
function U.cell(m, key)
  local v, std, err = m[key], m[key .. "_std"], m[key .. "_err"]
  if v == nil or (std == nil and err == nil) then return v end
  local parts = {results.format_value(v)}
  if std then parts[#parts + 1] = results.format_value(std) end
  if err then parts[#parts + 1] = results.format_value(err) end
  return table.concat(parts, " ± ")
end

--- U.LEGEND: what the cells' ± mean, for the summaries' notes.
U.LEGEND = "a ± b ± c: the mean over seeds ± their standard deviation ± the bootstrap error over the test jets " ..
  "(200 resamples); a ± c with one seed. A difference is called an effect when |Δ| > 2σ_Δ, " ..
  "σ_Δ² = σ_a² + σ_b², σ² = c² + b²/N (jetlab.uncertainty)."

--- U.compare(a, b, key) → {delta = a[key] - b[key], sigma = σ_Δ, effect = |Δ| > K_SIGMA σ_Δ,
--- text = "+0.0030 ± 0.0011: effect" | "... : no effect"} (see THE EFFECT RULE).
function U.compare(a, b, key)
  local va, vb = a[key], b[key]
  assert(type(va) == "number" and type(vb) == "number", "U.compare: both records need a number " .. key)
  local delta = va - vb
  local sa, sb = U.sigma(a, key), U.sigma(b, key)
  local sigma = (sa or sb) and math.sqrt((sa or 0) ^ 2 + (sb or 0) ^ 2) or nil
  local effect = sigma ~= nil and sigma == sigma and math.abs(delta) > U.K_SIGMA * sigma
  local text = string.format("%+.4g", delta)
  if sigma then text = text .. " ± " .. results.format_value(sigma) end
  return {delta = delta, sigma = sigma, effect = effect, text = text .. (effect and ": effect" or ": no effect")}
end

--- U.comparison_row(label, a, b, key) → {label, U.cell(a), U.cell(b), Δ ± σ_Δ, "effect" | "no effect"}: a row of
--- the summaries' comparison tables (U.COMPARISON_COLUMNS).
function U.comparison_row(label, a, b, key)
  local d = U.compare(a, b, key)
  return {label, U.cell(a, key), U.cell(b, key), d.text:match("^(.-):"), d.effect and "effect" or "no effect"}
end
U.COMPARISON_COLUMNS = {"comparison", "a", "b", "Δ = a − b ± σ_Δ", "verdict (|Δ| > 2σ_Δ)"}

return U
