#include "dagalign/train/sample_grid.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <ATen/ATen.h>

#include "dagalign/core/log.h"
#include "dagalign/core/rng.h"
#include "dagalign/core/timer.h"
#include "dagalign/diffusion/sampler.h"
#include "dagalign/io/png.h"

namespace dagalign {

namespace {

// Row p of the sample grid shows prompt floor(frac(p * phi) * n) of the world's list (phi the golden ratio
// conjugate): spread over the list without aliasing with its sort order (evenly spaced picks of the sorted
// tiny-world captions would all name the same shape).
size_t preview_index(int p, size_t n) {
  const double phi = 0.6180339887498949;
  double f = p * phi;
  f -= std::floor(f);
  return std::min(n - 1, static_cast<size_t>(f * static_cast<double>(n)));
}

}  // namespace

void write_sample_grid(World& world, const TrainerConfig& cfg, const NoiseSchedule& schedule, const std::string& path) {
  const auto list = world.prompt_list();
  const int P = std::min<int>(cfg.run.preview_prompts, static_cast<int>(list.size())), S = cfg.run.preview_seeds;
  if (P <= 0 || S <= 0) return;
  Stopwatch sw;
  std::vector<std::string> prompts;
  std::vector<uint64_t> seeds;
  for (int p = 0; p < P; ++p)
    for (int j = 0; j < S; ++j) {
      prompts.push_back(list[preview_index(p, list.size())]);
      seeds.push_back(stream_seed(cfg.run.seed, Purpose::kEval, 0, j));
    }
  SamplerConfig sc = cfg.sampler;
  sc.keep_eps = false;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> images, rewards;
  const size_t chunk = static_cast<size_t>(std::max(cfg.sample_batch_size, 1));
  for (size_t lo = 0; lo < prompts.size(); lo += chunk) {
    const size_t hi = std::min(prompts.size(), lo + chunk);
    std::vector<std::string> bp(prompts.begin() + lo, prompts.begin() + hi);
    std::vector<at::Generator> gens;
    for (size_t i = lo; i < hi; ++i) gens.push_back(make_generator(seeds[i]));
    auto enc = world.encode(bp);
    auto chain = sample_chain(world.policy(), schedule, sc, world.state_shape(), gens, enc.cond, world.uncond());
    auto img = world.decode(chain.latents.select(1, chain.steps()));
    auto r = world.reward().score(img, bp);
    check_scores(world.reward().name(), r, img.size(0));
    images.push_back(img);
    rewards.push_back(r.to(at::kFloat));
  }
  auto all = at::cat(images), r = at::cat(rewards);
  GridOptions go;
  go.cols = S;
  go.scale = std::max<int>(1, static_cast<int>((128 + all.size(2) - 1) / all.size(2)));  // cells >= 128 px
  go.label_lines = 3;
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::ostringstream os;
    os.setf(std::ios::fixed);
    os.precision(3);
    os << "r=" << r[static_cast<int64_t>(i)].item<double>() << " " << prompts[i];
    go.labels.push_back(os.str());
  }
  write_image_grid(path, all, go);
  log::info(cat("samples: ", path, " (", P, " prompts x ", S, " seeds, mean reward ",
                r.mean().item<double>(), ") in ", sw.seconds(), " s"));
}

}  // namespace dagalign
