#include "dagalign/dist/communicator.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"

namespace dagalign {

void Communicator::allreduce_mean_(at::Tensor& t) {
  allreduce_sum_(t);
  if (size() > 1) t.div_(double(size()));
}

std::vector<double> Communicator::allreduce_sum(std::vector<double> v) {
  if (v.empty() || size() == 1) return v;
  at::Tensor t = at::from_blob(v.data(), {int64_t(v.size())}, at::kDouble).to(at::Device(device()));
  allreduce_sum_(t);
  t = t.cpu().contiguous();
  std::copy(t.data_ptr<double>(), t.data_ptr<double>() + v.size(), v.begin());
  return v;
}

double Communicator::allreduce_sum(double v) { return allreduce_sum(std::vector<double>{v})[0]; }

namespace {

// World of one: every collective is the identity.
class SelfCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string backend() const override { return "self"; }
  std::string device() const override { return "cpu"; }
  void allreduce_sum_(at::Tensor& t) override { DAG_CHECK(t.defined(), "allreduce_sum_: tensor is undefined"); }
  void broadcast_(at::Tensor& t, int root) override {
    DAG_CHECK(root == 0, "broadcast_: root ", root, " outside [0, 1)");
  }
  at::Tensor allgather(const at::Tensor& t) override { return (t.dim() == 0 ? t.reshape({1}) : t).clone(); }
  std::vector<std::string> allgather_strings(const std::vector<std::string>& local) override { return local; }
  int64_t allreduce_max(int64_t v) override { return v; }
  void barrier() override {}
  [[noreturn]] void abort(int code) override {
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
  }
};

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace

namespace detail {
int g_mpirun_launch_at_init = -1;
}

bool mpirun_launched_now() { return env("OMPI_MCA_orte_launch") || env("OMPI_MCA_orte_hnp_uri"); }

std::unique_ptr<Communicator> make_self_communicator() { return std::make_unique<SelfCommunicator>(); }

bool launched_by_mpi() {
  if (const char* f = env("DAGALIGN_FORCE_MPI")) return std::string(f) != "0";
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "SLURM_PROCID"})
    if (env(v)) return true;
  return false;
}

void check_slurm_world(int world_size) {
  if (!env("SLURM_JOB_ID")) return;
  if (const char* s = env("DAGALIGN_SKIP_SLURM_CHECK"); s && std::string(s) != "0") return;
  // mpirun inside an allocation starts its ranks through ORTE daemons: then `mpirun -np` decides the
  // world and SLURM_* describe the daemons' step, not the ranks. Judged from the environment before
  // MPI_Init: a singleton MPI_Init sets these variables in its own process.
  bool by_mpirun = detail::g_mpirun_launch_at_init >= 0 ? detail::g_mpirun_launch_at_init == 1
                                                          : mpirun_launched_now();
  if (by_mpirun) return;
  const char* key = env("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS";
  const char* v = env(key);
  if (!v) return;
  char* end = nullptr;
  long tasks = std::strtol(v, &end, 10);
  DAG_CHECK(end && *end == '\0' && tasks > 0, "Slurm: ", key, "='", v, "' is not a positive integer");
  DAG_CHECK(tasks == world_size, "Slurm: ", key, "=", tasks, " but the MPI world has ", world_size,
            " rank(s): the tasks do not form one MPI world (N copies of 'rank 0 of 1': MPI without PMIx "
            "under srun, or a batch script that starts the program without srun). Launch with "
            "`srun --mpi=pmix` (see `srun --mpi=list`) or mpirun; DAGALIGN_SKIP_SLURM_CHECK=1 skips this check");
}

std::string startup_banner(const Communicator& comm) {
  char host[256] = "?";
  gethostname(host, sizeof(host) - 1);
  host[sizeof(host) - 1] = '\0';
  return cat("host ", host, " rank ", comm.rank(), "/", comm.size(), " local ", comm.local_rank(), "/",
             comm.local_size(), " device ", comm.device(), " backend ", comm.backend());
}

void log_startup(const Communicator& comm) { log::info_all(startup_banner(comm)); }

}  // namespace dagalign
