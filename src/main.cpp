// dagalign: one executable, one subcommand per task (see dagalign --help).
#include "dagalign/cli/commands.h"
#include "dagalign/dist/communicator.h"

int main(int argc, char** argv) {
  dagalign::MpiSession mpi(&argc, &argv);  // MPI only when started by mpirun/srun
  return mpi.finish(dagalign::cli::run(argc, argv));
}
