#include "dagalign/models/unet_flops.h"

#include <vector>

namespace dagalign {
namespace {

struct Counter {
  int64_t B, L, cross, temb;
  double conv(int64_t cin, int64_t cout, int64_t k, int64_t ho, int64_t wo) const {
    return 2.0 * B * ho * wo * cout * cin * k * k;
  }
  double linear(double rows, int64_t in, int64_t out) const { return 2.0 * rows * in * out; }
  // ResnetBlock2D: conv1, time_emb_proj, conv2, 1x1 shortcut when in != out
  double resnet(int64_t in, int64_t out, int64_t h, int64_t w) const {
    double f = conv(in, out, 3, h, w) + linear(B, temb, out) + conv(out, out, 3, h, w);
    if (in != out) f += conv(in, out, 1, h, w);
    return f;
  }
  // Transformer2DModel with `layers` BasicTransformerBlocks (proj_in/out cost the same as conv or linear)
  double transformer(int64_t C, int64_t h, int64_t w, int64_t layers) const {
    const double N = double(B) * h * w;  // token rows
    const double HW = double(h) * w;
    double block = 4 * linear(N, C, C)                           // attn1 q, k, v, out
                   + 2 * (2.0 * B * HW * HW * C)                 // attn1 QK^T, AV
                   + 2 * linear(N, C, C) + 2 * linear(double(B) * L, cross, C)  // attn2 q, out; k, v
                   + 2 * (2.0 * B * HW * L * C)                  // attn2 QK^T, AV
                   + linear(N, C, 8 * C) + linear(N, 4 * C, C);  // GEGLU proj, ff.net.2
    return 2 * linear(N, C, C) + layers * block;
  }
};

int64_t down_size(int64_t s) { return (s + 2 - 3) / 2 + 1; }  // conv 3x3, stride 2, padding 1

}  // namespace

UNetFlops count_unet_flops(const UNetConfig& c, int64_t batch, int64_t height, int64_t width, int64_t ctx_len) {
  Counter k{batch, ctx_len, c.cross_attention_dim, c.time_embed_dim()};
  const auto& ch = c.block_out_channels;
  const size_t n = ch.size();
  UNetFlops r;
  r.modules["time_embedding"] = k.linear(batch, ch[0], k.temb) + k.linear(batch, k.temb, k.temb);
  r.modules["conv_in"] = k.conv(c.in_channels, ch[0], 3, height, width);

  // down path: remember each skip's channels and size
  struct Skip { int64_t c, h, w; };
  std::vector<Skip> skips{{ch[0], height, width}};
  int64_t h = height, w = width, cin = ch[0];
  for (size_t i = 0; i < n; ++i) {
    const bool attn = c.down_block_types[i] == "CrossAttnDownBlock2D";
    double f = 0;
    for (int64_t j = 0; j < c.layers_per_block; ++j) {
      f += k.resnet(j == 0 ? cin : ch[i], ch[i], h, w);
      if (attn) f += k.transformer(ch[i], h, w, c.transformer_layers_per_block);
      skips.push_back({ch[i], h, w});
    }
    if (i + 1 < n) {
      const int64_t h2 = down_size(h), w2 = down_size(w);
      f += k.conv(ch[i], ch[i], 3, h2, w2);
      h = h2;
      w = w2;
      skips.push_back({ch[i], h, w});
    }
    cin = ch[i];
    r.modules["down_blocks." + std::to_string(i)] = f;
  }
  const int64_t cm = ch[n - 1];
  r.modules["mid_block"] = 2 * k.resnet(cm, cm, h, w) + k.transformer(cm, h, w, c.transformer_layers_per_block);

  int64_t prev = cm;
  for (size_t i = 0; i < n; ++i) {
    const int64_t out = ch[n - 1 - i];
    const bool attn = c.up_block_types[i] == "CrossAttnUpBlock2D";
    double f = 0;
    for (int64_t j = 0; j <= c.layers_per_block; ++j) {
      const Skip s = skips.back();
      skips.pop_back();
      f += k.resnet((j == 0 ? prev : out) + s.c, out, h, w);
      if (attn) f += k.transformer(out, h, w, c.transformer_layers_per_block);
    }
    if (i + 1 < n) {  // upsample to the next skip's size, then conv 3x3
      h = skips.back().h;
      w = skips.back().w;
      f += k.conv(out, out, 3, h, w);
    }
    prev = out;
    r.modules["up_blocks." + std::to_string(i)] = f;
  }
  r.modules["conv_out"] = k.conv(ch[0], c.out_channels, 3, h, w);
  for (const auto& [name, f] : r.modules) r.forward += f;
  return r;
}

}  // namespace dagalign
