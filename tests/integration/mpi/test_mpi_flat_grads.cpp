// FlatGrads over 2 ranks (mpirun -np 2): the averaged buffer equals the mean of both ranks' gradients
// computed by hand on every rank, and equals one rank's gradient of the whole (global) batch.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "dagalign/dist/communicator.h"
#include "dagalign/dist/flat_grads.h"

namespace dagalign {
namespace {

Communicator& comm() {
  static std::unique_ptr<Communicator> c = make_communicator("mpi");
  return *c;
}

struct Net {
  at::Tensor W, b, v;  // two groups: {W, b} ("LoRA"), {v} ("flow")
  explicit Net(int seed) {
    at::manual_seed(seed);
    W = at::randn({8, 5}).set_requires_grad(true);
    b = at::randn({8}).set_requires_grad(true);
    v = at::randn({8}).set_requires_grad(true);
  }
  // Mean over the batch of (v . tanh(W x + b))^2.
  at::Tensor loss(const at::Tensor& x) const {
    return (at::tanh(at::matmul(x, W.t()) + b) * v).sum(1).pow(2).mean();
  }
  std::vector<at::Tensor> params() const { return {W, b, v}; }
};

at::Tensor batch(int rank) {  // rank r's half of the global batch of 6
  at::manual_seed(1000);
  return at::randn({6, 5}).narrow(0, 3 * rank, 3);
}

at::Tensor flat_grad(const Net& n, const at::Tensor& x) {
  std::vector<at::Tensor> g = torch::autograd::grad({n.loss(x)}, n.params());
  return at::cat({g[0].reshape({-1}), g[1], g[2]});
}

TEST(MpiFlatGrads, MeanOverTwoRanksEqualsHandComputedMean) {
  ASSERT_EQ(comm().size(), 2);
  Net net(7);
  FlatGrads fg({{net.W, net.b}, {net.v}});
  // Two micro-batches accumulated into the buffer on each rank.
  at::Tensor x = batch(comm().rank());
  net.loss(x.narrow(0, 0, 2)).mul(2.0 / 3).backward();
  net.loss(x.narrow(0, 2, 1)).mul(1.0 / 3).backward();
  fg.allreduce_mean(comm());
  // By hand, on this rank: both ranks' gradients (autograd.grad, not through the buffer), averaged.
  Net ref(7);
  at::Tensor want = (flat_grad(ref, batch(0)) + flat_grad(ref, batch(1))) / 2;
  EXPECT_TRUE(at::allclose(fg.buffer(), want, 1e-6, 1e-7)) << (fg.buffer() - want).abs().max();
  // The same as one rank with the global batch (what the 1-rank vs 2-rank equivalence relies on).
  at::Tensor global = flat_grad(ref, at::cat({batch(0), batch(1)}));
  EXPECT_TRUE(at::allclose(fg.buffer(), global, 1e-6, 1e-7)) << (fg.buffer() - global).abs().max();
  // Both ranks hold bit-identical averaged gradients and clip them identically.
  fg.clip_groups({0.1, 0.1});
  at::Tensor both = comm().allgather(fg.buffer().reshape({1, -1}));
  EXPECT_TRUE(both[0].equal(both[1]));
}

TEST(MpiFlatGrads, BroadcastParametersFromRankZero) {
  Net net(100 + comm().rank());  // different initial values per rank
  Net root(100);
  FlatGrads fg({{net.W, net.b}, {net.v}});
  fg.broadcast_parameters(comm(), 0);
  EXPECT_TRUE(net.W.detach().equal(root.W.detach()));
  EXPECT_TRUE(net.b.detach().equal(root.b.detach()));
  EXPECT_TRUE(net.v.detach().equal(root.v.detach()));
  fg.check_bound();
}

}  // namespace
}  // namespace dagalign
