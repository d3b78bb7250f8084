// CLIP vision tower, projection, and CLIP image preprocessing; see the header for the equations.
#include "dagalign/models/clip_vision_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {

ClipVisionConfig ClipVisionConfig::from_json(const nlohmann::json& j0, const std::string& file) {
  const bool full = j0.contains("vision_config") && j0["vision_config"].is_object();
  const nlohmann::json& j = full ? j0["vision_config"] : j0;
  ClipVisionConfig c;
  c.hidden_size = config_value<int64_t>(j, "hidden_size", file, c.hidden_size);
  c.intermediate_size = config_value<int64_t>(j, "intermediate_size", file, c.intermediate_size);
  c.num_hidden_layers = config_value<int64_t>(j, "num_hidden_layers", file, c.num_hidden_layers);
  c.num_attention_heads = config_value<int64_t>(j, "num_attention_heads", file, c.num_attention_heads);
  c.num_channels = config_value<int64_t>(j, "num_channels", file, c.num_channels);
  c.image_size = config_value<int64_t>(j, "image_size", file, c.image_size);
  c.patch_size = config_value<int64_t>(j, "patch_size", file, c.patch_size);
  c.hidden_act = config_value<std::string>(j, "hidden_act", file, c.hidden_act);
  c.layer_norm_eps = config_value<double>(j, "layer_norm_eps", file, c.layer_norm_eps);
  c.projection_dim = config_value<int64_t>(full ? j0 : j, "projection_dim", file, c.projection_dim);
  check_clip_activation(c.hidden_act, "config " + file);
  if (c.patch_size <= 0 || c.image_size % c.patch_size != 0)
    throw ConfigError(cat("config ", file, ": image_size ", c.image_size, " is not a multiple of patch_size ",
                          c.patch_size));
  if (c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads != 0)
    throw ConfigError(cat("config ", file, ": hidden_size ", c.hidden_size, " is not divisible by num_attention_heads ",
                          c.num_attention_heads));
  return c;
}

ClipVisionConfig ClipVisionConfig::vit_l14() {
  ClipVisionConfig c;
  c.hidden_size = 1024;
  c.intermediate_size = 4096;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 16;
  c.patch_size = 14;
  c.projection_dim = 768;
  return c;
}

ClipEncoderOptions ClipVisionConfig::encoder() const {
  ClipEncoderOptions o;
  o.hidden_size = hidden_size;
  o.intermediate_size = intermediate_size;
  o.num_hidden_layers = num_hidden_layers;
  o.num_attention_heads = num_attention_heads;
  o.hidden_act = hidden_act;
  o.layer_norm_eps = layer_norm_eps;
  return o;
}

ClipVisionEmbeddingsImpl::ClipVisionEmbeddingsImpl(const ClipVisionConfig& c) : image_size(c.image_size) {
  class_embedding = register_parameter("class_embedding", at::randn({c.hidden_size}));
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(c.num_channels, c.hidden_size, c.patch_size).stride(c.patch_size).bias(false)));
  const int64_t patches = (c.image_size / c.patch_size) * (c.image_size / c.patch_size);
  position_embedding = register_module("position_embedding", torch::nn::Embedding(patches + 1, c.hidden_size));
}

at::Tensor ClipVisionEmbeddingsImpl::forward(const at::Tensor& pixel_values) {
  DAG_CHECK(pixel_values.dim() == 4 && pixel_values.size(2) == image_size && pixel_values.size(3) == image_size,
            "CLIP vision: pixel_values must be [B, C, ", image_size, ", ", image_size, "], found ", pixel_values.sizes());
  const int64_t B = pixel_values.size(0);
  auto patches = patch_embedding->forward(pixel_values.to(patch_embedding->weight.scalar_type()))
                     .flatten(2)
                     .transpose(1, 2);                                  // [B, N, C]
  auto cls = class_embedding.view({1, 1, -1}).expand({B, 1, class_embedding.size(0)});
  return at::cat({cls, patches}, 1) + position_embedding->weight.unsqueeze(0);  // + pos[0..N]
}

ClipVisionTransformerImpl::ClipVisionTransformerImpl(const ClipVisionConfig& c) {
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)); };
  embeddings = register_module("embeddings", ClipVisionEmbeddings(c));
  pre_layrnorm = register_module("pre_layrnorm", ln());
  encoder = register_module("encoder", ClipEncoder(c.encoder()));
  post_layernorm = register_module("post_layernorm", ln());
}

at::Tensor ClipVisionTransformerImpl::forward(const at::Tensor& pixel_values, at::Tensor* last_hidden_state) {
  auto h = encoder->forward(pre_layrnorm->forward(embeddings->forward(pixel_values)));
  if (last_hidden_state) *last_hidden_state = h;
  return post_layernorm->forward(h.select(1, 0));
}

ClipVisionWithProjectionImpl::ClipVisionWithProjectionImpl(const ClipVisionConfig& c) : config(c) {
  vision_model = register_module("vision_model", ClipVisionTransformer(c));
  visual_projection = register_module(
      "visual_projection", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.projection_dim).bias(false)));
}

at::Tensor ClipVisionWithProjectionImpl::get_image_features(const at::Tensor& pixel_values) {
  return visual_projection->forward(vision_model->forward(pixel_values));
}

ClipVisionWithProjection load_clip_vision(const std::string& model_dir) {
  namespace fs = std::filesystem;
  const auto config_path = (fs::path(model_dir) / "config.json").string();
  const auto config = ClipVisionConfig::from_json(read_json_file(config_path), config_path);
  const auto weights_path = (fs::path(model_dir) / "model.safetensors").string();
  ClipVisionWithProjection model(config);
  TensorMap vision;
  for (auto& [k, t] : read_safetensors(weights_path)) {
    const bool ours = k.rfind("vision_model.", 0) == 0 || k.rfind("visual_projection.", 0) == 0;
    const bool other_half = k.rfind("text_model.", 0) == 0 || k.rfind("text_projection.", 0) == 0 || k == "logit_scale";
    if (ours || !other_half) vision.emplace(k, t);  // anything else is reported as unexpected
  }
  vision.erase("vision_model.embeddings.position_ids");  // a legacy buffer, as in the text model
  load_state_dict(*model, vision, weights_path);
  model->eval();
  return model;
}

namespace {

// Antialiased bicubic resampling of uint8 images, bit-exact with torch's uint8 kernel (ATen
// UpSampleKernel.cpp `_compute_index_ranges_int16_weights` + the AVX uint8 passes), which torchvision's
// resize(antialias=True) on uint8 tensors -- and so transformers' CLIPImageProcessor -- runs.
// Per output index i (align_corners = false):
//   scale = in / out; support = 2 * max(scale, 1); center = scale (i + 0.5)
//   xmin = max(int(center - support + 0.5), 0); xsize = min(int(center + support + 0.5), in) - xmin
//   w_j = K((j + xmin - center + 0.5) / max(scale, 1)), normalised to sum 1, with Keys' cubic (a = -0.5):
//   K(x) = ((a+2)|x| - (a+3)) x^2 + 1 for |x| < 1; a(((|x| - 5)|x| + 8)|x| - 4) for |x| < 2; else 0.
// Weights become int16 with the largest precision p (< 22) such that round(max_w 2^(p+1)) < 2^15;
// out = clamp((2^(p-1) + sum_j in_j w_j) >> p, 0, 255). Width is resampled first, then height (a pass is
// skipped when that size does not change), with a uint8 image in between.
struct AaWeights {
  std::vector<int64_t> xmin, xsize;
  std::vector<int32_t> w;  // [out, ksize]
  int64_t ksize = 0;
  int precision = 0;
};

double keys_cubic(double x) {
  const double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

AaWeights aa_bicubic_weights(int64_t in, int64_t out) {
  AaWeights r;
  const double scale = double(in) / double(out);
  const double support = scale >= 1.0 ? 2.0 * scale : 2.0;
  const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
  r.ksize = int64_t(std::ceil(support)) * 2 + 1;
  std::vector<double> wd(size_t(out * r.ksize), 0.0);
  double wt_max = 0.0;
  for (int64_t i = 0; i < out; ++i) {
    const double center = scale * (double(i) + 0.5);
    const int64_t xmin = std::max<int64_t>(int64_t(center - support + 0.5), 0);
    const int64_t xsize = std::min<int64_t>(int64_t(center + support + 0.5), in) - xmin;
    r.xmin.push_back(xmin);
    r.xsize.push_back(xsize);
    double total = 0.0;
    double* w = &wd[size_t(i * r.ksize)];
    for (int64_t j = 0; j < xsize; ++j) total += (w[j] = keys_cubic((double(j + xmin) - center + 0.5) * invscale));
    for (int64_t j = 0; j < xsize; ++j) {
      if (total != 0.0) w[j] /= total;
      wt_max = std::max(wt_max, w[j]);
    }
  }
  int p = 0;
  for (; p < 22; ++p)
    if (int(0.5 + wt_max * double(1 << (p + 1))) >= (1 << 15)) break;
  r.precision = p;
  r.w.resize(wd.size());
  for (size_t k = 0; k < wd.size(); ++k)
    r.w[k] = wd[k] < 0 ? int32_t(-0.5 + wd[k] * double(1 << p)) : int32_t(0.5 + wd[k] * double(1 << p));
  return r;
}

// Resamples dimension `dim` (1 = height, 2 = width) of a contiguous uint8 [C, H, W] image to `out`.
at::Tensor aa_resample(const at::Tensor& img, int dim, int64_t out) {
  const int64_t C = img.size(0), H = img.size(1), W = img.size(2);
  const int64_t in = img.size(dim);
  const auto wts = aa_bicubic_weights(in, out);
  at::Tensor res = at::empty(dim == 2 ? std::vector<int64_t>{C, H, out} : std::vector<int64_t>{C, out, W}, at::kByte);
  const uint8_t* src = img.data_ptr<uint8_t>();
  uint8_t* dst = res.data_ptr<uint8_t>();
  const int64_t stride = dim == 2 ? 1 : W;  // step between neighbours along `dim`
  const int64_t lines = dim == 2 ? C * H : C * W;
  const int32_t half = 1 << (wts.precision - 1);
  for (int64_t line = 0; line < lines; ++line) {
    // A line is a row (dim 2) or a column (dim 1) of one channel.
    const int64_t c = dim == 2 ? line / H : line / W;
    const int64_t pos = dim == 2 ? line % H : line % W;
    const uint8_t* s = dim == 2 ? src + (c * H + pos) * W : src + c * H * W + pos;
    uint8_t* d = dim == 2 ? dst + (c * H + pos) * out : dst + c * out * W + pos;
    for (int64_t i = 0; i < out; ++i) {
      int32_t sum = half;
      const int32_t* w = &wts.w[size_t(i * wts.ksize)];
      const uint8_t* p = s + wts.xmin[size_t(i)] * stride;
      for (int64_t j = 0; j < wts.xsize[size_t(i)]; ++j) sum += int32_t(p[j * stride]) * w[j];
      d[i * stride] = uint8_t(std::clamp(sum >> wts.precision, 0, 255));
    }
  }
  return res;
}

}  // namespace

at::Tensor clip_resize_crop(const at::Tensor& images, const ClipPreprocessOptions& o) {
  DAG_CHECK(images.dim() == 4 && images.size(1) == 3, "CLIP preprocessing: images must be [B, 3, H, W], found ",
            images.sizes());
  const int64_t B = images.size(0), H = images.size(2), W = images.size(3);
  DAG_CHECK(H > 0 && W > 0, "CLIP preprocessing: empty image ", images.sizes());
  // transformers get_resize_output_image_size(default_to_square=False): short -> S, long -> int(S * long / short)
  const int64_t S = o.shortest_edge;
  const int64_t short_side = std::min(H, W), long_side = std::max(H, W);
  const int64_t new_long = int64_t(double(S) * double(long_side) / double(short_side));
  const int64_t h = H <= W ? S : new_long, w = H <= W ? new_long : S;
  const int64_t c = o.crop_size;
  DAG_CHECK(h >= c && w >= c, "CLIP preprocessing: resized image ", h, "x", w, " is smaller than the crop ", c);
  const int64_t top = int64_t(double(h - c) / 2.0), left = int64_t(double(w - c) / 2.0);
  const at::Tensor u8 = images.to(at::kCPU).round().clamp(0, 255).to(at::kByte).contiguous();
  std::vector<at::Tensor> out;
  for (int64_t b = 0; b < B; ++b) {
    at::Tensor x = u8[b].contiguous();
    if (w != W) x = aa_resample(x, 2, w);
    if (h != H) x = aa_resample(x, 1, h);
    out.push_back(x.slice(1, top, top + c).slice(2, left, left + c));
  }
  return at::stack(out).contiguous();
}

at::Tensor clip_preprocess(const at::Tensor& images, const ClipPreprocessOptions& o) {
  // uint8 quantization as DDPO feeds its reward: round(x * 255).clamp(0, 255)
  auto q = (images.to(at::kFloat) * 255.0).round().clamp(0, 255);
  auto x = clip_resize_crop(q, o).to(at::kFloat);
  // rescale (1/255) and normalize fused as transformers does: (x - 255 mean) / (255 std)
  auto mean = at::tensor({o.mean[0], o.mean[1], o.mean[2]}, at::kDouble).mul(255.0).to(at::kFloat).view({1, 3, 1, 1});
  auto std = at::tensor({o.std[0], o.std[1], o.std[2]}, at::kDouble).mul(255.0).to(at::kFloat).view({1, 3, 1, 1});
  return (x - mean) / std;
}

}  // namespace dagalign
