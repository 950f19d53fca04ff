-- test_gnn.lua — the graph-network models (nn.models.particlenet*, lundnet*) and
-- their EdgeConv blocks: parameter counts equal to the PyTorch peer's, named
-- sub-modules for transfer (freeze("blocks"), reset_parameters("head")), k larger
-- than every jet, empty and one-constituent jets, eval mode, the fused ops equal
-- to the plain-op composition (forward and gradients), jl.edge_features and
-- jl.scatter_mean against theirs, LundNet with edges given
-- grouped (edge_offsets) or in any order, and bad batches named in errors.
local T = require "jetlab.test"
local nn = require "jetlab.nn"
local loss = require "jetlab.loss"
local edgeconv = require "jetlab.nn.edgeconv"

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local G = require "gnn_batches"
local offsets_of, ragged, lund_batch = G.offsets_of, G.ragged, G.lund_batch

T.case("parameter counts equal the PyTorch peer's", function()
  T.eq(nn.models.particlenet():num_parameters(), 366160)
  T.eq(nn.models.particlenet_lite():num_parameters(), 26416)
  T.eq(nn.models.particlenet_teacher():num_parameters(), 366160)
  T.eq(nn.models.particlenet_student():num_parameters(), 5904)
  T.eq(nn.models.lundnet{features = 5, variant = "peer"}:num_parameters(), 434956)
  T.eq(nn.models.lundnet{features = 3, variant = "peer"}:num_parameters(), 434760)
  -- the published LundNet (fdreyer/LundNet): the parameter counts of its authors' files
  T.eq(nn.models.lundnet5():num_parameters(), 391724)
  T.eq(nn.models.lundnet3():num_parameters(), 391528)
end)

T.case("named sub-modules: freeze('blocks') and reset_parameters('head')", function()
  for _, make in ipairs({nn.models.particlenet_lite, nn.models.lundnet5}) do
    local m = make()
    T.ok(m.bn_input and m.blocks and m.head, "bn_input, blocks, head")
    local total = m:num_parameters()
    m:freeze("blocks")
    local frozen = total - m:num_parameters({trainable = true})
    T.eq(frozen, m.blocks:num_parameters())
    for _, e in ipairs(m:named_parameters()) do
      T.eq(e[2].requires_grad, e[1]:sub(1, 7) ~= "blocks.", e[1])
    end
    local before = m.head[1].weight:clone()
    local block_before = m.blocks[1]:named_parameters()[1][2]:clone()
    m:reset_parameters("head")
    T.ok(not jl.equal(before, m.head[1].weight), "head re-initialised")
    T.ok(jl.equal(block_before, m.blocks[1]:named_parameters()[1][2]), "blocks untouched")
    m:unfreeze()
    T.eq(m:num_parameters({trainable = true}), total)
  end
end)

T.case("frozen blocks get no gradient, the head does", function()
  local m = nn.models.particlenet_lite()
  m:freeze("blocks")
  local b = ragged({12, 8, 3}, 1)
  local l = loss.cross_entropy(m(b), jl.tensor({1, 2, 1}, {dtype = "i64"}))
  l:backward()
  T.ok(m.blocks[1].lins[1].weight.grad == nil, "frozen block weight has no grad")
  T.ok(m.head[1].weight.grad ~= nil, "head weight has a grad")
  T.ok(m.bn_input.weight.grad ~= nil, "input BatchNorm has a grad")
end)

T.case("k larger than every jet, empty and one-constituent jets: finite logits and gradients", function()
  local m = nn.models.particlenet{k = 16, dropout = 0}
  local b = ragged({5, 0, 1, 9, 2, 0, 16}, 2)
  b.x:requires_grad_()
  local logits = m(b)
  T.eq(logits.shape, {7, 2})
  local l = loss.cross_entropy(logits, jl.tensor({1, 2, 1, 2, 1, 2, 1}, {dtype = "i64"}))
  T.ok(l:item() == l:item(), "finite loss")
  l:backward()
  T.ok(b.x.grad:abs():sum():item() < math.huge, "finite input gradient")
  -- empty jets pool to zero features: their logits are the head's response to zeros
  T.near(logits[2], logits[6], 1e-6)
end)

T.case("a batch of one-constituent jets (no edges at all) runs in eval mode and in training", function()
  local m = nn.models.particlenet_lite()
  local b = ragged({1, 1, 1}, 3)
  T.eq(m(b).shape, {3, 2})
  m:eval()
  T.eq(m(ragged({1}, 4)).shape, {1, 2})
  T.eq(m(ragged({0, 0}, 5)).shape, {2, 2})
  local lund = nn.models.lundnet5()
  lund:eval()
  local g = lund_batch({2, 1}, 5, 6)   -- one node each, no edges
  T.eq(g.src:numel(), 0)
  T.eq(lund(g).shape, {2, 2})
end)

T.case("eval mode uses the running statistics: one jet gives the same logits alone or in a batch", function()
  local m = nn.models.particlenet_lite()
  for _ = 1, 3 do m(ragged({10, 12, 7}, 7)) end   -- some training batches move the running stats
  m:eval()
  local b = ragged({10, 12, 7}, 8)
  local all = m(b)
  local single = m({x = b.x:narrow(1, 11, 12), offsets = offsets_of({12}), coords = b.coords:narrow(1, 11, 12)})
  T.near(single[1], all[2], 1e-5)
end)

-- Forward and gradients of the fused ops against the plain-op composition.
local function fused_vs_composed(make_model, make_batch, labels)
  local results = {}
  for _, composed in ipairs({false, true}) do
    edgeconv.composed = composed
    jl.manual_seed(11)
    local m = make_model()
    local b = make_batch()
    b.x:requires_grad_()
    local logits = m(b)
    loss.cross_entropy(logits, jl.tensor(labels, {dtype = "i64"})):backward()
    local grads = {}
    for _, e in ipairs(m:named_parameters()) do grads[e[1]] = e[2].grad end
    results[#results + 1] = {logits = logits, x_grad = b.x.grad, grads = grads}
  end
  edgeconv.composed = false
  T.near(results[1].logits, results[2].logits, 1e-5)
  T.near(results[1].x_grad, results[2].x_grad, 1e-4)
  -- one scale for the whole model: a bias right before a training-mode BatchNorm has an
  -- exact gradient of 0, so its computed one is rounding noise of either path
  local scale = 0
  for _, g in pairs(results[2].grads) do scale = math.max(scale, g:abs():max():item()) end
  for name, g in pairs(results[2].grads) do
    T.ok((results[1].grads[name] - g):abs():max():item() / scale < 1e-4, "gradient of " .. name)
  end
end

T.case("ParticleNet: fused C ops equal the plain-op composition", function()
  fused_vs_composed(function() return nn.models.particlenet{k = 8, blocks = {{16, 16}, {24, 24, 24}}, fc = 32,
    dropout = 0} end, function() return ragged({12, 3, 1, 20, 9}, 9) end, {1, 2, 2, 1, 2})
end)

T.case("LundNet (published and peer variants): fused C ops equal the plain-op composition", function()
  for _, variant in ipairs({"published", "peer"}) do
    fused_vs_composed(function() return nn.models.lundnet{features = 3, dropout = 0, variant = variant} end,
      function() return lund_batch({7, 12, 2, 5}, 3, 10) end, {1, 2, 2, 1})
  end
end)

T.case("GraphEdgeConv equals its definition edge by edge (fdreyer/LundNet EdgeConv.py, eval mode)", function()
  jl.manual_seed(21)
  local b = lund_batch({6, 9}, 5, 22)
  local nbr, eoff, perm = jl.edges_by_dst(b.src, b.dst, b.x.shape[1])
  local dst = b.dst:index_select(1, perm)
  for _, widths in ipairs({{8, 8}, {5, 5}}) do
    local gc = nn.GraphEdgeConv(5, widths)
    for _, e in ipairs(gc:named_parameters()) do
      if e[1]:match("bns") or e[1]:match("sc_bn") then jl.no_grad(function() e[2]:copy_(jl.rand(e[2].shape[1]) + 0.5) end) end
    end
    gc:eval()
    local got = jl.no_grad(function() return gc(b.x, {nbr = nbr, edge_offsets = eoff}) end)
    -- message theta(x_dst - x_src) + phi(x_src) per edge, then BN, ReLU, fcs, BN, ReLU, mean over dst
    local want = jl.no_grad(function()
      local xs, xd = b.x:index_select(1, nbr), b.x:index_select(1, dst)
      local e = (xd - xs):matmul(gc.theta.weight:t()) + xs:matmul(gc.phi.weight:t())
      e = gc.bns[1](e):relu()
      e = gc.bns[2](e:matmul(gc.fcs[1].weight:t())):relu()
      local h = jl.segment_mean(e, eoff)
      local sc = gc.sc and gc.sc_bn(b.x:matmul(gc.sc.weight:t())) or b.x
      return (h + sc):relu()
    end)
    T.near(got, want, 1e-5)
    T.ok((gc.sc ~= nil) == (widths[2] ~= 5), "shortcut layer only when the width changes")
  end
end)

T.case("LundNet: edges given grouped by dst (edge_offsets) or in any order give the same logits", function()
  local m = nn.models.lundnet5{dropout = 0}
  local m2 = nn.models.lundnet5{dropout = 0}
  m2:load_state_dict(m:state_dict())
  local b = lund_batch({9, 14, 4}, 5, 12)
  local nbr, eoff, perm = jl.edges_by_dst(b.src, b.dst, b.x.shape[1])
  local grouped = {x = b.x, offsets = b.offsets, src = nbr, dst = b.dst:index_select(1, perm), edge_offsets = eoff}
  T.near(m2(grouped), m(b), 1e-5)
end)

T.case("jl.edge_features and jl.scatter_mean equal their plain-op compositions, gradients included", function()
  local b = ragged({6, 1, 4}, 21, 3)
  local nbr, eoff = jl.knn(b.coords, b.offsets, 3)
  local ctr = jl.segment_ids(eoff)
  local results = {}
  for _, fused in ipairs({true, false}) do
    local x = b.x:clone():requires_grad_()
    local f
    if fused then
      f = jl.edge_features(x, eoff, nbr)
    else
      local xi = x:index_select(1, ctr)
      f = jl.cat({xi, x:index_select(1, nbr) - xi}, 2)
    end
    local m
    if fused then
      m = jl.scatter_mean(f, nbr, x.shape[1])             -- mean of the features each node sends
    else
      local sum = jl.zeros(x.shape[1], f.shape[2]):index_add(1, nbr, f)
      local count = jl.zeros(x.shape[1]):index_add(1, nbr, jl.ones(f.shape[1])):clamp(1, math.huge)
      m = sum / count:unsqueeze(2)
    end
    ;(m * m):sum():backward()
    results[#results + 1] = {f = f, m = m, grad = x.grad}
  end
  T.eq(results[1].f.shape, {nbr.shape[1], 6})
  T.near(results[1].f, results[2].f, 1e-6)
  T.near(results[1].m, results[2].m, 1e-6)
  T.near(results[1].grad, results[2].grad, 1e-5)
  T.raises(function() jl.scatter_mean(jl.ones(3, 2), jl.tensor({1, 2}, {dtype = "i64"}), 4) end,
    "scatter_mean: index must be i64 %(E%) with E = 3 rows of src")
  T.raises(function() jl.scatter_mean(jl.ones(2, 2), jl.tensor({1, 5}, {dtype = "i64"}), 4) end, "scatter_mean")
  T.raises(function() jl.edge_features(jl.ones(3), eoff, nbr) end, "edge_features: x must be f32 %(N, C%)")
end)

T.case("EdgeConv and LundEdgeConv blocks: shapes, shortcut only when the width changes", function()
  local ec = nn.EdgeConv(4, 7, {16, 8})
  T.eq(ec.lins[1].weight.shape, {16, 14})
  local b = ragged({6, 6}, 13)
  local nbr, eoff = jl.knn(b.coords, b.offsets, 4)
  T.eq(ec(b.x, {nbr = nbr, edge_offsets = eoff}).shape, {12, 8})
  T.ok(nn.LundEdgeConv(5, {32, 32}).sc ~= nil, "5 -> 32 has a shortcut layer")
  T.ok(nn.LundEdgeConv(32, {32, 32}).sc == nil, "32 -> 32 is the identity")
  T.ok(nn.EdgeConv(4, 8, {8}).sc == nil and nn.EdgeConv(4, 8, {8}).sc_bn == nil, "EdgeConv 8 -> 8: the identity, as weaver's")
  local same = nn.EdgeConv(4, 7, {16, 7})
  T.eq(same(b.x, {nbr = nbr, edge_offsets = eoff}).shape, {12, 7})
end)

T.case("bad batches and options are named", function()
  local m = nn.models.particlenet_lite()
  T.raises(function() m(jl.randn(4, 7)) end, "ragged batch")
  T.raises(function() nn.models.particlenet{kk = 3} end, "unknown option 'kk'")
  T.raises(function() nn.models.lundnet{features = 0} end, "features")
  T.raises(function() nn.models.lundnet{variant = "dgl"} end, "variant must be")
  T.raises(function() nn.models.particlenet{fusion = 0} end, "fusion must be")
  T.raises(function() nn.models.lundnet5()({x = jl.randn(3, 5), offsets = offsets_of({3})}) end, "src")
  local b = lund_batch({5}, 5, 14)
  b.src = jl.tensor({1, 9}, {dtype = "i64"})
  b.dst = jl.tensor({2, 1}, {dtype = "i64"})
  T.raises(function() nn.models.lundnet5()(b) end, "outside")
end)

T.run()
