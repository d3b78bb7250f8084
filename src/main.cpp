// dagalign: one executable, one subcommand per task (see dagalign --help).
#include "dagalign/cli/commands.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/train/signals.h"

int main(int argc, char** argv) {
  dagalign::MpiSession mpi(&argc, &argv);  // MPI only when started by mpirun/srun
  const int code = dagalign::cli::run(argc, argv);
  // Preemption is agreed by all ranks (checkpoint written): finalise normally, then report 75.
  if (code == dagalign::kPreemptedExitCode) return mpi.finish(0), code;
  return mpi.finish(code);
}
