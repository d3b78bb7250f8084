// dot_product_attention: softmax(q k^T / sqrt(d)) v against a float64 evaluation of the formula, for the
// single-block path and the query-row blocking (uneven last block), with gradients.
#include <gtest/gtest.h>

#include <cmath>

#include <ATen/ATen.h>

#include "dagalign/core/rng.h"
#include "dagalign/models/attention.h"

namespace dagalign {
namespace {

TEST(UNetAttention, BlockedAttentionEqualsTheFormula) {
  auto g = make_generator(3);
  auto q = at::randn({2, 3, 37, 8}, g), k = at::randn({2, 3, 29, 8}, g), v = at::randn({2, 3, 29, 8}, g);
  auto qd = q.to(at::kDouble), kd = k.to(at::kDouble), vd = v.to(at::kDouble);
  auto ref = at::matmul(at::softmax(at::matmul(qd, kd.transpose(-2, -1)) / std::sqrt(8.0), -1), vd);
  // one block, and blocks of 5 query rows (2*3*5*29*4 bytes): 7 full blocks + 2 rows
  for (int64_t bytes : {int64_t(64) << 20, int64_t(2 * 3 * 5 * 29 * 4)}) {
    auto qg = q.clone().requires_grad_(true);
    auto out = dot_product_attention(qg, k, v, bytes);
    EXPECT_LE((out.to(at::kDouble) - ref).abs().max().item<double>(), 1e-5) << bytes;
    out.sum().backward();
    auto qr = qd.clone().requires_grad_(true);
    at::matmul(at::softmax(at::matmul(qr, kd.transpose(-2, -1)) / std::sqrt(8.0), -1), vd).sum().backward();
    EXPECT_LE((qg.grad().to(at::kDouble) - qr.grad()).abs().max().item<double>(), 1e-5) << bytes;
  }
}

}  // namespace
}  // namespace dagalign
