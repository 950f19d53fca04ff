-- claim_source.lua — the figure a claim reads from its source metrics.json, shared by
-- land.lua (which writes it) and tests/lua/test_reproduction.lua (which checks it).
--
-- A source is {metrics, model, variant, key} and at most one of
--   minus = VARIANT: the difference record(variant) − record(minus) of key, σ combined
--                    as jetlab.uncertainty.compare does (a KD gain: Student + KD − Student)
--   over = VARIANT:  the ratio record(variant) / record(over) of key, σ from the two
--                    relative uncertainties (a speed-up: Teacher µs/jet / Student µs/jet)
-- figure(results, src) → value, σ (nil when the records carry none), or nil, reason.
local U = require "jetlab.uncertainty"

local M = {}

function M.figure(results, src)
  local group = results and results[src.model]
  local a = group and group[src.variant]
  if not a then return nil, string.format("no record %s · %s", tostring(src.model), tostring(src.variant)) end
  local other = src.minus or src.over
  local b = other and group[other]
  if other and not b then return nil, string.format("no record %s · %s", tostring(src.model), tostring(other)) end
  local va, vb = a[src.key], b and b[src.key]
  if type(va) ~= "number" or (b and type(vb) ~= "number") then
    return nil, string.format("no number %s in %s · %s%s", src.key, src.model, src.variant, other and (" or " .. other) or "")
  end
  if src.minus then
    local d = U.compare(a, b, src.key)
    return d.delta, d.sigma
  end
  if src.over then
    local v = va / vb
    local sa, sb = U.sigma(a, src.key), U.sigma(b, src.key)
    if not (sa or sb) then return v, nil end
    return v, math.abs(v) * math.sqrt(((sa or 0) / va) ^ 2 + ((sb or 0) / vb) ^ 2)
  end
  return va, U.sigma(a, src.key)
end

return M
