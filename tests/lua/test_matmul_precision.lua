-- test_matmul_precision.lua — jl.set_matmul_precision("bf16"): the CPU GEMMs of
-- matmul, linear and their backward rules (transposed operands) equal f32 GEMMs of
-- the operands rounded to bfloat16 (round to nearest even, done here in Lua), to f32
-- summation error; the results do not depend on the thread count; "f32" restores
-- bit-identical sgemm results; a small MLP trains to the same accuracy; bad names
-- and CPUs without AVX512-BF16 are clear errors.
local T = require "jetlab.test"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local loss = require "jetlab.loss"

local function bf16(x)
  local u = string.unpack("<I4", string.pack("<f", x))
  u = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000
  return (string.unpack("<f", string.pack("<I4", u)))
end

-- t (2-D) with every value rounded to bf16
local function rounded(t)
  local rows = t:tolist()
  for _, row in ipairs(rows) do for j, v in ipairs(row) do row[j] = bf16(v) end end
  return jl.tensor(rows)
end

local function max_rel(a, b)
  return ((a - b):abs():max():item()) / (b:abs():max():item())
end

local available = jl.bf16_matmul_available()

-- fn() under precision p; the precision is f32 again afterwards, also when fn raises
local function under(p, fn)
  jl.set_matmul_precision(p)
  local ok, a, b = pcall(fn)
  jl.set_matmul_precision("f32")
  if not ok then error(a, 0) end
  return a, b
end

T.case("names: get, set returns the previous one, unknown names are errors", function()
  T.eq(jl.get_matmul_precision(), "f32")
  T.raises(function() jl.set_matmul_precision("fp8") end, "invalid option 'fp8'")
  if not available then
    T.raises(function() jl.set_matmul_precision("bf16") end, "no AVX512%-BF16")
    T.eq(jl.get_matmul_precision(), "f32")
    return
  end
  T.eq(jl.set_matmul_precision("bf16"), "f32")
  T.eq(jl.get_matmul_precision(), "bf16")
  T.eq(jl.set_matmul_precision("f32"), "bf16")
end)

if not available then
  print("skip: this CPU has no AVX512-BF16; the bf16 cases need it")
  return T.run()
end

T.case("matmul and its transposes = f32 products of bf16-rounded operands", function()
  jl.manual_seed(3)
  local a, b = jl.randn(70, 45), jl.randn(45, 130)
  local want = {
    rounded(a):matmul(rounded(b)),
    rounded(b):t():matmul(rounded(a):t()),
  }
  local got = under("bf16", function() return {a:matmul(b), b:t():matmul(a:t())} end)
  for i = 1, 2 do T.ok(max_rel(got[i], want[i]) < 2e-6, "product " .. i .. ": " .. max_rel(got[i], want[i])) end
  T.ok(max_rel(got[1], a:matmul(b)) > 1e-4, "bf16 differs from f32 (the rounding is applied)")
end)

T.case("linear forward and backward use the bf16 product", function()
  jl.manual_seed(4)
  local layer = nn.Linear(40, 24)
  local x = jl.randn(300, 40)
  local dy = jl.randn(300, 24)
  local w = layer.weight
  local xg = x:clone():requires_grad_()
  local y = under("bf16", function()
    local out = layer(xg)
    out:backward(dy)
    return out
  end)
  local want_y = rounded(x):matmul(rounded(w):t()) + layer.bias
  local want_dx = rounded(dy):matmul(rounded(w))
  local want_dw = rounded(dy):t():matmul(rounded(x))
  T.ok(max_rel(y, want_y) < 2e-6, "y " .. max_rel(y, want_y))
  T.ok(max_rel(xg.grad, want_dx) < 2e-6, "dx " .. max_rel(xg.grad, want_dx))
  T.ok(max_rel(w.grad, want_dw) < 5e-6, "dW " .. max_rel(w.grad, want_dw))
end)

T.case("bf16 results do not depend on the thread count; f32 comes back bit-identical", function()
  jl.manual_seed(5)
  local a, b = jl.randn(600, 200), jl.randn(200, 300)
  local f32_before = a:matmul(b)
  local threads = jl.get_num_threads()
  local one, two = under("bf16", function()
    jl.set_num_threads(1)
    local r1 = a:matmul(b)
    jl.set_num_threads(2)
    return r1, a:matmul(b)
  end)
  jl.set_num_threads(threads)
  T.ok(jl.equal(one, two), "1 and 2 threads")
  T.ok(jl.equal(a:matmul(b), f32_before), "f32 again")
end)

T.case("an MLP trains under bf16 as under f32", function()
  local function train_once(precision)
    jl.manual_seed(6)
    local x = jl.randn(512, 10)
    local y = ((x:narrow(2, 1, 1) + x:narrow(2, 2, 1) * x:narrow(2, 3, 1)):gt(0)):reshape(512):long() + 1
    local model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    local opt = optim.Adam(model:parameters(), {lr = 1e-2})
    return under(precision, function()
      for _ = 1, 150 do
        opt:zero_grad()
        loss.cross_entropy(model(x), y):backward()
        opt:step()
      end
      return (model(x):argmax(2):eq(y)):float():mean():item()
    end)
  end
  local f32, b16 = train_once("f32"), train_once("bf16")
  T.ok(f32 > 0.9, "f32 learns: " .. f32)
  T.ok(math.abs(b16 - f32) < 0.03, string.format("bf16 %.3f vs f32 %.3f", b16, f32))
end)

T.run()
