// The world-of-one communicator, launcher detection and the Slurm world check (single process).
#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/dist/communicator.h"

namespace dagalign {
namespace {

// Sets/unsets environment variables for one test and restores them afterwards.
class EnvGuard {
 public:
  void set(const std::string& k, const char* v) {
    if (!saved_.count(k)) {
      const char* old = std::getenv(k.c_str());
      saved_[k] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (v) setenv(k.c_str(), v, 1); else unsetenv(k.c_str());
  }
  ~EnvGuard() {
    for (auto& [k, v] : saved_) {
      if (v) setenv(k.c_str(), v->c_str(), 1); else unsetenv(k.c_str());
    }
  }
 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

const char* kLauncherVars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "SLURM_PROCID",
                               "DAGALIGN_FORCE_MPI", "SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_STEP_NUM_TASKS",
                               "OMPI_MCA_orte_launch", "OMPI_MCA_orte_hnp_uri", "DAGALIGN_SKIP_SLURM_CHECK"};

void clear_launcher(EnvGuard& env) {
  for (const char* v : kLauncherVars) env.set(v, nullptr);
}

TEST(SelfCommunicator, CollectivesAreTheIdentity) {
  auto comm = make_self_communicator();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  EXPECT_EQ(comm->local_rank(), 0);
  EXPECT_EQ(comm->backend(), "self");
  at::Tensor t = at::arange(6, at::kFloat).reshape({2, 3});
  at::Tensor ref = t.clone();
  comm->allreduce_sum_(t);
  EXPECT_TRUE(t.equal(ref));
  comm->allreduce_mean_(t);
  EXPECT_TRUE(t.equal(ref));
  comm->broadcast_(t, 0);
  EXPECT_TRUE(t.equal(ref));
  EXPECT_THROW(comm->broadcast_(t, 1), Error);
  at::Tensor g = comm->allgather(t);
  EXPECT_TRUE(g.equal(ref));
  EXPECT_NE(g.data_ptr(), t.data_ptr());  // a copy, as with more ranks
  EXPECT_EQ(comm->allgather(at::scalar_tensor(2.5)).sizes(), at::IntArrayRef({1}));
  std::vector<std::string> s = {"a", "", "long prompt"};
  EXPECT_EQ(comm->allgather_strings(s), s);
  EXPECT_EQ(comm->allreduce_max(-7), -7);
  EXPECT_DOUBLE_EQ(comm->allreduce_sum(1.25), 1.25);
  comm->barrier();
}

TEST(Launcher, DetectedFromEnvironment) {
  EnvGuard env;
  clear_launcher(env);
  EXPECT_FALSE(launched_by_mpi());
  env.set("OMPI_COMM_WORLD_SIZE", "2");
  EXPECT_TRUE(launched_by_mpi());
  env.set("OMPI_COMM_WORLD_SIZE", nullptr);
  env.set("SLURM_PROCID", "0");
  EXPECT_TRUE(launched_by_mpi());
  env.set("DAGALIGN_FORCE_MPI", "0");
  EXPECT_FALSE(launched_by_mpi());
}

TEST(Launcher, NotLaunchedGivesWorldOfOne) {
  EnvGuard env;
  clear_launcher(env);
  auto comm = make_communicator();
  EXPECT_EQ(comm->backend(), "self");
  EXPECT_EQ(comm->size(), 1);
  EXPECT_THROW(make_communicator("gloo"), Error);
}

TEST(SlurmWorld, MismatchIsAClearError) {
  EnvGuard env;
  clear_launcher(env);
  check_slurm_world(1);  // not under Slurm: nothing to check
  check_slurm_world(4);
  env.set("SLURM_JOB_ID", "123");
  env.set("SLURM_NTASKS", "4");
  check_slurm_world(4);
  try {
    check_slurm_world(1);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("SLURM_NTASKS=4"), std::string::npos) << m;
    EXPECT_NE(m.find("1 rank"), std::string::npos) << m;
  }
  // The step's task count wins over the job's.
  env.set("SLURM_STEP_NUM_TASKS", "2");
  check_slurm_world(2);
  EXPECT_THROW(check_slurm_world(4), Error);
  // sbatch script without srun: a world of one against 2 tasks.
  EXPECT_THROW(make_communicator(), Error);
  env.set("DAGALIGN_SKIP_SLURM_CHECK", "1");
  check_slurm_world(4);
  env.set("DAGALIGN_SKIP_SLURM_CHECK", nullptr);
  env.set("OMPI_MCA_orte_launch", "1");  // mpirun inside the allocation decides the world
  check_slurm_world(4);
  env.set("OMPI_MCA_orte_launch", nullptr);
  env.set("SLURM_STEP_NUM_TASKS", "x2");
  EXPECT_THROW(check_slurm_world(2), Error);
}

TEST(Banner, NamesHostRankDeviceAndWorld) {
  auto comm = make_self_communicator();
  std::string b = startup_banner(*comm);
  EXPECT_NE(b.find("host "), std::string::npos);
  EXPECT_NE(b.find("rank 0/1"), std::string::npos) << b;
  EXPECT_NE(b.find("local 0/1"), std::string::npos) << b;
  EXPECT_NE(b.find("device cpu"), std::string::npos) << b;
}

}  // namespace
}  // namespace dagalign
