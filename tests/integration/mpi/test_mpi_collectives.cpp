// MpiCommunicator collectives over 2 ranks (run by mpirun -np 2): results checked against the values
// each rank can compute for every rank by hand.
#include <cstdlib>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/dist/mpi_communicator.h"

namespace dagalign {
namespace {

Communicator& comm() {
  static std::unique_ptr<Communicator> c = make_communicator("mpi");
  return *c;
}

// What rank r contributes: distinct, exactly representable values.
at::Tensor contribution(int r, at::ScalarType type, int64_t n = 7) {
  return (at::arange(n, at::kDouble) * 3 + 100 * (r + 1)).to(type);
}

TEST(MpiCollectives, WorldOfTwoOnOneHost) {
  ASSERT_EQ(comm().size(), 2) << "run with mpirun -np 2";
  EXPECT_EQ(comm().backend(), "mpi");
  EXPECT_EQ(comm().local_size(), 2);
  EXPECT_EQ(comm().local_rank(), comm().rank());  // one host: local rank = rank
  EXPECT_NE(startup_banner(comm()).find(cat("rank ", comm().rank(), "/2")), std::string::npos);
  EXPECT_TRUE(launched_by_mpi());
  // ctest runs this program twice: plain, and with DAGALIGN_MPI_TIMEOUT_S=60 (nonblocking collectives).
  const char* timeout = std::getenv("DAGALIGN_MPI_TIMEOUT_S");
  auto* mpi = dynamic_cast<MpiCommunicator*>(&comm());
  ASSERT_NE(mpi, nullptr);
  EXPECT_EQ(mpi->timeout_seconds(), timeout ? std::atof(timeout) : 0.0);
}

TEST(MpiCollectives, AllreduceSumAndMeanAreExact) {
  for (at::ScalarType type : {at::kFloat, at::kDouble, at::kLong, at::kInt}) {
    at::Tensor t = contribution(comm().rank(), type);
    comm().allreduce_sum_(t);
    at::Tensor want = contribution(0, type) + contribution(1, type);
    EXPECT_TRUE(t.equal(want)) << c10::toString(type) << ": " << t << " vs " << want;
  }
  at::Tensor m = contribution(comm().rank(), at::kFloat).reshape({7, 1});
  comm().allreduce_mean_(m);
  EXPECT_TRUE(m.equal(((contribution(0, at::kFloat) + contribution(1, at::kFloat)) / 2).reshape({7, 1})));
  // Several MB: the same arithmetic in every element (ring/segmented algorithms inside MPI).
  at::Tensor big = at::full({3'000'000}, float(comm().rank() + 1));
  comm().allreduce_sum_(big);
  EXPECT_EQ(big.min().item<float>(), 3.f);
  EXPECT_EQ(big.max().item<float>(), 3.f);
  std::vector<double> s = comm().allreduce_sum(std::vector<double>{1.0 + comm().rank(), 0.5});
  EXPECT_EQ(s, (std::vector<double>{3.0, 1.0}));
}

TEST(MpiCollectives, RejectsWhatMpiCannotSum) {
  at::Tensor h = at::zeros({4}, at::kHalf);
  EXPECT_THROW(comm().allreduce_sum_(h), Error);  // both ranks throw before any MPI call
  at::Tensor nc = at::zeros({4, 4}).t();
  EXPECT_THROW(comm().allreduce_sum_(nc), Error);
}

TEST(MpiCollectives, Broadcast) {
  for (int root : {0, 1}) {
    at::Tensor t = contribution(comm().rank(), at::kFloat).reshape({7});
    comm().broadcast_(t, root);
    EXPECT_TRUE(t.equal(contribution(root, at::kFloat)));
  }
}

TEST(MpiCollectives, AllgatherTensorsInRankOrder) {
  at::Tensor t = contribution(comm().rank(), at::kFloat).reshape({1, 7});
  at::Tensor g = comm().allgather(t);
  ASSERT_EQ(g.sizes(), at::IntArrayRef({2, 7}));
  EXPECT_TRUE(g[0].equal(contribution(0, at::kFloat)));
  EXPECT_TRUE(g[1].equal(contribution(1, at::kFloat)));
  at::Tensor s = comm().allgather(at::scalar_tensor(double(comm().rank()) + 0.25, at::kDouble));
  EXPECT_TRUE(s.equal(at::tensor({0.25, 1.25}, at::kDouble)));
}

TEST(MpiCollectives, AllgatherShapeMismatchIsAnErrorOnEveryRank) {
  at::Tensor t = at::zeros({2 + comm().rank()});
  try {
    comm().allgather(t);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("all ranks must agree"), std::string::npos) << e.what();
  }
}

const char kNul[] = "dog \xc3\xa9\n\t nul\0byte";  // UTF-8, control characters, an embedded NUL

TEST(MpiCollectives, AllgatherStringsOfDifferentLengthsAndCounts) {
  std::vector<std::string> mine;
  if (comm().rank() == 0) mine = {"a photo of a cat", "", "x"};
  else mine = {std::string(5000, 'z') + "end", std::string(kNul, sizeof(kNul) - 1)};
  std::vector<std::string> all = comm().allgather_strings(mine);
  std::vector<std::string> want = {"a photo of a cat", "", "x", std::string(5000, 'z') + "end",
                                   std::string(kNul, sizeof(kNul) - 1)};
  EXPECT_EQ(all, want);
  // A rank with nothing to say.
  std::vector<std::string> none = comm().rank() == 1 ? std::vector<std::string>{} : std::vector<std::string>{"only"};
  EXPECT_EQ(comm().allgather_strings(none), std::vector<std::string>{"only"});
}

TEST(MpiCollectives, AllreduceMaxAndBarrier) {
  EXPECT_EQ(comm().allreduce_max(comm().rank() == 1 ? 1 : 0), 1);  // a preemption flag on rank 1
  EXPECT_EQ(comm().allreduce_max(-5 - comm().rank()), -5);
  EXPECT_EQ(comm().allreduce_max(int64_t(1) << 40), int64_t(1) << 40);
  comm().barrier();
}

}  // namespace
}  // namespace dagalign
