#pragma once
// NCCL implementation of Communicator (built with -DDAGALIGN_CUDA=ON): CUDA tensors go through NCCL,
// everything else (strings, flags, CPU tensors, barrier) through the MPI communicator it owns.
//
// - Bootstrap: rank 0 makes the ncclUniqueId, MPI_Bcast sends it, every rank calls ncclCommInitRank.
// - Device: cuda:(local_rank % visible devices); set as the current device.
// - Ordering: an event recorded on the current (compute) stream; the dedicated NCCL stream waits on
//   it, runs the collective, records `done`; the compute stream waits on `done`. The host then polls
//   `done` and ncclCommGetAsyncError; an NCCL error or the timeout (DAGALIGN_NCCL_TIMEOUT_S, default
//   1800 s) -> log, ncclCommAbort, MPI_Abort with exit code 3 (the whole job ends non-zero, no hang).
#include <memory>

#include "dagalign/dist/communicator.h"

namespace dagalign {

// Exit code of a job ended by an NCCL failure or timeout.
constexpr int kNcclFailureExit = 3;

std::unique_ptr<Communicator> make_nccl_communicator();
bool cuda_device_visible();

}  // namespace dagalign
