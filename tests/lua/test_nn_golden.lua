-- test_nn_golden.lua — jetlab.nn against PyTorch's own values
-- (tests/fixtures/nn_golden.h5, made by tests/fixtures/make_nn_fixture.py):
-- BatchNorm1d over two training steps (outputs, running buffers, gradients)
-- and in eval, LayerNorm forward and backward, and a Linear-BN-ReLU-Linear
-- model loaded from PyTorch's state_dict (names shifted to 1-based).
local T = require "jetlab.test"
local nn = require "jetlab.nn"

local TOL = 1e-5

local function load_fixture()
  local f = assert(jl.h5tensors.load("tests/fixtures/nn_golden.h5"))
  local d = {}
  for _, entry in ipairs(f.datasets) do d[entry[1]] = entry[2] end
  return d
end

T.case("BatchNorm1d matches torch.nn.BatchNorm1d: two training steps, gradients, eval", function()
  local d = load_fixture()
  local bn = nn.BatchNorm1d(4)
  jl.no_grad(function()
    bn.weight:copy_(d["/bn/weight"])
    bn.bias:copy_(d["/bn/bias"])
  end)
  T.near(bn(d["/bn/x1"]), d["/bn/y1"], TOL)
  T.near(bn.running_mean, d["/bn/rm1"], TOL)
  T.near(bn.running_var, d["/bn/rv1"], TOL)
  local x2 = d["/bn/x2"]:clone():requires_grad_()
  local y2 = bn(x2)
  T.near(y2, d["/bn/y2"], TOL)
  ;(y2 * d["/bn/g"]):sum():backward()
  T.near(bn.running_mean, d["/bn/rm2"], TOL)
  T.near(bn.running_var, d["/bn/rv2"], TOL)
  T.eq(bn.num_batches_tracked:item(), d["/bn/nbt2"]:item())
  T.near(x2.grad, d["/bn/x2_grad"], TOL)
  T.near(bn.weight.grad, d["/bn/weight_grad"], TOL)
  T.near(bn.bias.grad, d["/bn/bias_grad"], TOL)
  bn:eval()
  T.near(bn(d["/bn/x3"]), d["/bn/y3"], TOL)
end)

T.case("LayerNorm matches torch.nn.LayerNorm, forward and backward", function()
  local d = load_fixture()
  local ln = nn.LayerNorm(5)
  jl.no_grad(function()
    ln.weight:copy_(d["/ln/weight"])
    ln.bias:copy_(d["/ln/bias"])
  end)
  local x = d["/ln/x"]:clone():requires_grad_()
  local y = ln(x)
  T.near(y, d["/ln/y"], TOL)
  ;(y * d["/ln/g"]):sum():backward()
  T.near(x.grad, d["/ln/x_grad"], TOL)
  T.near(ln.weight.grad, d["/ln/weight_grad"], TOL)
  T.near(ln.bias.grad, d["/ln/bias_grad"], TOL)
end)

-- PyTorch's Sequential names "0.weight" as jetlab's "1.weight".
local function shifted(d, group)
  local out = {}
  for name, t in pairs(d) do
    local index, rest = name:match("^/mlp/" .. group .. "/(%d+)(%..+)$")
    if index then out[(tonumber(index) + 1) .. rest] = t end
  end
  return out
end

T.case("Linear-BatchNorm-ReLU-Linear loaded from a PyTorch state_dict gives PyTorch's outputs and grads", function()
  local d = load_fixture()
  local net = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
  net:load_state_dict(shifted(d, "state"))
  local y = net(d["/mlp/x"])
  T.near(y, d["/mlp/y"], TOL)
  ;(y * d["/mlp/g"]):sum():backward()
  local grads = shifted(d, "grad")
  for _, e in ipairs(net:named_parameters()) do T.near(e[2].grad, grads[e[1]], TOL, e[1]) end
  for name, t in pairs(shifted(d, "after")) do
    if name:find("num_batches") then T.eq(net:get("2").num_batches_tracked:item(), t:item())
    else T.near(net:state_dict()[name], t, TOL, name) end
  end
  net:eval()
  T.near(net(d["/mlp/x_eval"]), d["/mlp/y_eval"], TOL)
end)

T.run()
