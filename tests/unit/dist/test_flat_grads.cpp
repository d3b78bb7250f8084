// FlatGrads: grads as views of one buffer, averaging, clipping and broadcast (single process).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/types.h>  // clip_grad.h needs torch::Tensor and the torch:: functions
#include <torch/nn/utils/clip_grad.h>

#include "dagalign/core/error.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/dist/flat_grads.h"

namespace dagalign {
namespace {

at::Tensor param(at::IntArrayRef shape, int seed) {
  at::manual_seed(seed);
  return at::randn(shape).set_requires_grad(true);
}

// Rank 1 of a pretend world of two: the other rank's buffer is `other`, the root's values `root`.
class LoopbackRank1 : public Communicator {
 public:
  at::Tensor other, root;
  int calls = 0;
  int rank() const override { return 1; }
  int size() const override { return 2; }
  int local_rank() const override { return 1; }
  int local_size() const override { return 2; }
  std::string backend() const override { return "loopback"; }
  std::string device() const override { return "cpu"; }
  void allreduce_sum_(at::Tensor& t) override { ++calls; t.add_(other); }
  void broadcast_(at::Tensor& t, int r) override { ++calls; EXPECT_EQ(r, 0); t.copy_(root); }
  at::Tensor allgather(const at::Tensor&) override { throw Error("unused"); }
  std::vector<std::string> allgather_strings(const std::vector<std::string>&) override { throw Error("unused"); }
  int64_t allreduce_max(int64_t v) override { return v; }
  void barrier() override {}
  [[noreturn]] void abort(int code) override { std::abort(); }
};

struct Model {
  at::Tensor W = param({3, 4}, 1), b = param({3}, 2), v = param({5}, 3);
  // loss = sum((W x + b)^2) + sum(v^3)
  at::Tensor loss(const at::Tensor& x) const { return (at::matmul(W, x) + b).pow(2).sum() + v.pow(3).sum(); }
};

TEST(FlatGrads, ViewsReceiveAutogradGradients) {
  Model m;
  FlatGrads fg({{m.W, m.b}, {m.v}});
  ASSERT_EQ(fg.numel(), 12 + 3 + 5);
  ASSERT_EQ(fg.groups(), 2);
  EXPECT_EQ(fg.group_numel(0), 15);
  at::manual_seed(9);
  at::Tensor x = at::randn({4});
  m.loss(x).backward();
  m.loss(x).backward();  // accumulates: 2x the closed form
  fg.check_bound();
  // Closed form: dL/dW = 2 (Wx+b) x^T, dL/db = 2 (Wx+b), dL/dv = 3 v^2.
  at::Tensor y = (at::matmul(m.W, x) + m.b).detach();
  at::Tensor gW = 2 * 2 * at::outer(y, x), gb = 2 * 2 * y, gv = 2 * 3 * m.v.detach().pow(2);
  EXPECT_TRUE(at::allclose(m.W.grad(), gW, 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(m.b.grad(), gb, 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(m.v.grad(), gv, 1e-5, 1e-5));
  // ... and they live in the buffer, in order.
  at::Tensor& buf = fg.buffer();
  EXPECT_TRUE(buf.narrow(0, 0, 12).equal(m.W.grad().reshape({-1})));
  EXPECT_TRUE(buf.narrow(0, 12, 3).equal(m.b.grad()));
  EXPECT_TRUE(fg.group_view(1).equal(m.v.grad()));
  EXPECT_TRUE(at::allclose(buf, at::cat({gW.reshape({-1}), gb, gv}), 1e-5, 1e-5));
  fg.zero();
  fg.check_bound();
  EXPECT_EQ(m.W.grad().abs().sum().item<float>(), 0.f);
  m.loss(x).backward();
  EXPECT_TRUE(at::allclose(buf, at::cat({gW.reshape({-1}), gb, gv}) / 2, 1e-5, 1e-5));
}

TEST(FlatGrads, ReplacedGradIsDetectedAndRebound) {
  Model m;
  FlatGrads fg(std::vector<at::Tensor>{m.W, m.b, m.v});
  m.b.mutable_grad() = at::Tensor();  // what optimizer.zero_grad() does in LibTorch 2.x
  EXPECT_THROW(fg.check_bound(), Error);
  auto comm = make_self_communicator();
  EXPECT_THROW(fg.allreduce_mean(*comm), Error);
  at::manual_seed(9);
  m.loss(at::randn({4})).backward();  // allocates a fresh grad for b outside the buffer
  EXPECT_THROW(fg.check_bound(), Error);
  at::Tensor gb = m.b.grad().clone();
  fg.bind();  // keeps what was accumulated
  fg.check_bound();
  EXPECT_TRUE(fg.buffer().narrow(0, 12, 3).equal(gb));
}

// DDPO trains no flow net: an empty group must be harmless (norm 0, clipping a no-op).
TEST(FlatGrads, EmptyGroupsAreHarmless) {
  Model m;
  FlatGrads fg(std::vector<std::vector<at::Tensor>>{{m.W, m.b, m.v}, {}});
  ASSERT_EQ(fg.groups(), 2);
  EXPECT_EQ(fg.group_numel(1), 0);
  at::manual_seed(9);
  m.loss(at::randn({4})).backward();
  at::Tensor before = fg.buffer().clone();
  std::vector<double> norms = fg.clip_groups({1e9, 1.0});
  EXPECT_EQ(norms[1], 0.0);
  EXPECT_NEAR(norms[0], before.norm().item<double>(), 1e-5 * norms[0]);
  EXPECT_TRUE(fg.buffer().equal(before));  // max norm 1e9: nothing clipped
  EXPECT_THROW(fg.clip_groups({1.0}), Error);  // one max norm per group
  EXPECT_THROW(fg.group_numel(2), Error);
  FlatGrads none(std::vector<at::Tensor>{});
  EXPECT_EQ(none.numel(), 0);
  auto comm = make_self_communicator();
  none.allreduce_mean(*comm);
  EXPECT_EQ(none.norm(), 0.0);
}

TEST(FlatGrads, RejectsWhatItCannotHold) {
  EXPECT_THROW(FlatGrads({at::zeros({2}, at::kDouble).set_requires_grad(true)}), Error);
  EXPECT_THROW(FlatGrads({at::zeros({2})}), Error);  // no requires_grad
}

// One clip_group per group equals torch::nn::utils::clip_grad_norm_ on that group's parameters.
TEST(FlatGrads, ClipMatchesTorchClipGradNorm) {
  for (double scale : {1.0, 1e-3}) {  // clipped, and below the threshold (untouched)
    Model m, ref;
    for (auto* p : {&ref.W, &ref.b, &ref.v}) p->set_data(p->detach().clone());
    FlatGrads fg({{m.W, m.b}, {m.v}});
    at::manual_seed(4);
    at::Tensor x = at::randn({4}) * scale;
    m.loss(x).backward();
    ref.loss(x).backward();
    // Group gradients of ref are not views: an independent path.
    double n0 = torch::nn::utils::clip_grad_norm_(std::vector<at::Tensor>{ref.W, ref.b}, 1.0);
    double n1 = torch::nn::utils::clip_grad_norm_(std::vector<at::Tensor>{ref.v}, 0.5);
    std::vector<double> norms = fg.clip_groups({1.0, 0.5});
    EXPECT_NEAR(norms[0], n0, 1e-5 * n0);
    EXPECT_NEAR(norms[1], n1, 1e-5 * n1);
    EXPECT_TRUE(at::allclose(m.W.grad(), ref.W.grad(), 1e-5, 1e-7));
    EXPECT_TRUE(at::allclose(m.b.grad(), ref.b.grad(), 1e-5, 1e-7));
    EXPECT_TRUE(at::allclose(m.v.grad(), ref.v.grad(), 1e-5, 1e-7));
    if (scale == 1.0) {
      EXPECT_GT(n0, 1.0);
      EXPECT_NEAR(fg.norm(0), 1.0, 1e-5);
      EXPECT_NEAR(fg.norm(1), 0.5, 1e-5);
    }
    // Whole-buffer norm: sqrt of the sum of the groups' squares.
    EXPECT_NEAR(fg.norm(), std::hypot(fg.norm(0), fg.norm(1)), 1e-5);
  }
}

TEST(FlatGrads, SelfCommunicatorLeavesEverythingAlone) {
  Model m;
  at::Tensor W0 = m.W.detach().clone();
  FlatGrads fg(std::vector<at::Tensor>{m.W, m.b, m.v});
  at::manual_seed(9);
  m.loss(at::randn({4})).backward();
  at::Tensor before = fg.buffer().clone();
  auto comm = make_self_communicator();
  fg.allreduce_mean(*comm);
  EXPECT_TRUE(fg.buffer().equal(before));
  fg.broadcast_parameters(*comm);
  EXPECT_TRUE(m.W.detach().equal(W0));
}

TEST(FlatGrads, MeanOverTwoRanksAndBroadcastUseTheFlatLayout) {
  Model m;
  FlatGrads fg({{m.W, m.b}, {m.v}});
  at::manual_seed(9);
  m.loss(at::randn({4})).backward();
  at::Tensor mine = fg.buffer().clone();
  LoopbackRank1 comm;
  comm.other = at::arange(fg.numel(), at::kFloat);
  fg.allreduce_mean(comm);
  EXPECT_EQ(comm.calls, 1);  // one collective for all parameters
  at::Tensor want = (mine + comm.other) / 2;
  EXPECT_TRUE(at::allclose(fg.buffer(), want));
  EXPECT_TRUE(at::allclose(m.v.grad(), want.narrow(0, 15, 5)));
  EXPECT_TRUE(at::allclose(m.b.grad(), want.narrow(0, 12, 3)));
  // Broadcast: the root's flat vector lands in the parameters in the same order.
  comm.root = at::arange(fg.numel(), at::kFloat) * -1;
  fg.broadcast_parameters(comm, 0);
  EXPECT_TRUE(m.W.detach().equal(comm.root.narrow(0, 0, 12).view({3, 4})));
  EXPECT_TRUE(m.v.detach().equal(comm.root.narrow(0, 15, 5)));
  EXPECT_TRUE(m.W.requires_grad());
  fg.check_bound();
}

}  // namespace
}  // namespace dagalign
