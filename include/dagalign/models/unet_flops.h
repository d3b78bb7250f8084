#pragma once
// FLOPs of a UNet2DConditionModel forward pass, counted from its configuration and input size.
// Convention (as torch.utils.flop_counter.FlopCounterMode): 2 FLOPs per multiply-add of convolutions,
// linear layers and the two attention products (Q K^T and softmax(.) V); bias adds, normalisation, softmax,
// activations and the sinusoidal embedding are not counted.
//   conv k x k, Cin -> Cout, output Ho x Wo:   2 B Ho Wo Cout Cin k^2
//   linear in -> out over N rows:             2 N in out
//   attention, N queries, M keys, width C:    2 B N M C (Q K^T) + 2 B N M C (A V)   (summed over heads)
// A backward pass with every weight and input requiring grad costs 2x the forward (grad wrt input and
// wrt weight of each product); forward + backward = 3x forward.
#include <map>
#include <string>

#include "dagalign/models/unet_config.h"

namespace dagalign {

struct UNetFlops {
  double forward = 0;                    // whole model
  std::map<std::string, double> modules;  // "conv_in", "time_embedding", "down_blocks.i", "mid_block", "up_blocks.i", "conv_out"
};

// x: [batch, in_channels, height, width]; context: [batch, ctx_len, cross_attention_dim].
UNetFlops count_unet_flops(const UNetConfig& config, int64_t batch, int64_t height, int64_t width, int64_t ctx_len);

}  // namespace dagalign
