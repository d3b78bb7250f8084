#pragma once
// A batch of sampled denoising trajectories, as the sampler produces them, the trajectory store writes
// them and replay reads them back. N trajectories of T steps; state shape S (e.g. (4,64,64) or (2,)).
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

namespace dagalign {

struct TrajectoryBatch {
  at::Tensor latents;         // (N, T+1, S...) float32: x_T (index 0) ... x_0 (index T)
  at::Tensor timesteps;       // (N, T) int64: t of the state at index k (the step k -> k+1 goes t_k -> t'_k)
  at::Tensor log_pf;          // (N, T) float32: log P_F(x_{k+1} | x_k) at sampling time (old policy)
  at::Tensor log_pb;          // (N, T) float32: log P_B(x_k | x_{k+1})
  at::Tensor eps;             // (N, T, S...) float32: the sampling-time (CFG) eps, for the regulariser; may be undefined
  at::Tensor rewards;         // (N,) float32: reward of the decoded x_0
  at::Tensor cond;            // (N, ...) conditioning the model saw (text embeddings); undefined if unconditional
  at::Tensor prompt_ids;      // (N, L) int64 token ids; undefined if unconditional
  std::vector<std::string> prompts;  // N prompt strings (empty strings if unconditional)
  at::Tensor seeds;           // (N,) int64: the per-trajectory noise seed
  at::Tensor policy_version;  // (N,) int64: optimiser steps taken when sampled
  at::Tensor images;          // (N, H, W, 3) uint8 decoded images; optional (undefined)

  int64_t size() const { return latents.defined() ? latents.size(0) : 0; }
  int64_t steps() const { return timesteps.defined() ? timesteps.size(1) : 0; }
  // Rows [begin, end) of every field.
  TrajectoryBatch slice(int64_t begin, int64_t end) const;
  // The rows idx (int64 (K,) indices, any order, repeats allowed) of every field.
  TrajectoryBatch select(const at::Tensor& idx) const;
  // Concatenation along N (fields must agree in presence and trailing shapes; Error naming the field).
  static TrajectoryBatch cat(const std::vector<TrajectoryBatch>& parts);
};

// The tensor fields of TrajectoryBatch, one table for slice, select, cat and the HDF5 trajectory store.
struct TrajectoryField {
  const char* name;                     // HDF5 dataset name (docs/hdf5-schema.md)
  at::Tensor TrajectoryBatch::*member;
  at::ScalarType dtype;                 // the documented dtype (what a reader returns)
  bool floaty;                          // float32 data that the store may keep as float16
  bool required;                        // defined in every batch and present in every file
};
const std::vector<TrajectoryField>& trajectory_fields();

}  // namespace dagalign
