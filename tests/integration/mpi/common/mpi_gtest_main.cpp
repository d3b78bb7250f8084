// main() of the gtest programs run under `mpirun -np 2`: every rank runs every test in the same order;
// the exit code is the worst over ranks.
#include <gtest/gtest.h>
#include <mpi.h>

#include "dagalign/core/runtime.h"
#include "dagalign/dist/communicator.h"

int main(int argc, char** argv) {
  dagalign::MpiSession mpi(&argc, &argv, /*force=*/true);
  dagalign::set_threads(1);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  int worst = rc;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return mpi.finish(worst);
}
