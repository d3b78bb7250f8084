// dagalign eval --model DIR [--lora FILE] --reward NAME --prompts SET|FILE [--eval.n 256] [--eval.steps 20]
//               [--eval.guidance W] [--eval.out DIR] [--eval.seed S]
// Evaluates a text-to-image model on a prompt set: sample i uses prompt i mod |set| and the seed
// stream_seed(eval.seed, Purpose::kEval, i) (x_T and every step's noise from its own generator, so sample i
// is the same whatever the batch size), generated in batches of eval.batch with DDIM (eta, CFG guidance).
// Reports (cli/eval_figures.h): reward mean/std/min/max; prompt fidelity (fraction faithful) and mean
// alignment score from the rule-based checker; the diversity of the samples next to that of ground-truth
// images of the tiny world for the same prompts (seed eval.seed). Fidelity and the data reference are
// tiny-world figures: when a prompt is no tiny-world caption they are reported as not applicable (null).
// Writes OUT/eval.json (figures, per-sample prompt/seed/reward/faithful/alignment, config) and OUT/grid.png
// (the first eval.grid samples labelled with reward, fidelity mark and prompt); prints a summary block.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/cli/commands.h"
#include "dagalign/cli/eval_figures.h"
#include "dagalign/cli/pipeline_loading.h"
#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/rng.h"
#include "dagalign/core/runtime.h"
#include "dagalign/core/timer.h"
#include "dagalign/io/png.h"
#include "dagalign/rewards/factory.h"
#include "dagalign/shapes/diversity.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign::cli {

namespace {

nlohmann::json diversity_json(const shapes::Diversity& d) {
  return {{"n", d.n},
          {"pairwise_rms", d.pairwise_rms},
          {"shape_entropy_bits", d.shape_entropy},
          {"colour_entropy_bits", d.colour_entropy},
          {"background_entropy_bits", d.background_entropy},
          {"joint_entropy_bits", d.joint_entropy},
          {"distinct_fraction", d.distinct_fraction},
          {"found_fraction", d.found_fraction}};
}

std::string fixed(double v, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

int eval(const Args& args) {
  std::string model, lora, variant, reward_name, prompts_spec = "heldout", out = "eval";
  int n = 256, steps = 20, batch = 32, grid = 32, threads = 0;
  int64_t seed = 1;
  double guidance = 5.0, eta = 1.0;
  RewardOptions ropts;
  Config cfg("dagalign eval");
  cfg.add("model", &model, "diffusers text-to-image folder (SD 1.5 or pixel-space tiny-shapes)")
      .add("lora", &lora, "LoRA to apply: a safetensors file (diffusers/peft keys, 'unet.' prefix, e.g. a run's lora-final.safetensors) "
           "or a run's checkpoint (checkpoints/epoch-N.h5: its epoch-N.lora.safetensors)")
      .add("variant", &variant, "weights variant, e.g. fp16")
      .add("reward", &reward_name, "reward to report (reward.* keys set its options)")
      .add("prompts", &prompts_spec, "prompt set (all, basic, train, heldout) or a text file with one prompt per line")
      .add("eval.n", &n, "number of samples (sample i uses prompt i mod |set|)", positive())
      .add("eval.steps", &steps, "DDIM steps", positive())
      .add("eval.guidance", &guidance, "classifier-free guidance scale (1: conditional only)")
      .add("eval.eta", &eta, "DDIM eta", positive())
      .add("eval.batch", &batch, "samples generated (and scored) per batch", positive())
      .add("eval.seed", &seed, "seed: sample i uses stream_seed(seed, eval, i); data reference too")
      .add("eval.grid", &grid, "samples shown in grid.png (the first ones)", at_least(0))
      .add("eval.out", &out, "output folder (eval.json, grid.png)")
      .add("threads", &threads, "LibTorch threads (0: all cores available)", at_least(0));
  ropts.add_to(cfg);
  if (!cfg.parse(args)) {
    std::printf("%s", cfg.help().c_str());
    return 0;
  }
  if (reward_name.empty()) throw ConfigError("eval: --reward NAME is required");
  if (out.empty()) throw ConfigError("eval: eval.out must name a folder");
  const std::vector<std::string> set = load_prompts(prompts_spec);
  auto reward = make_reward(reward_name, ropts);  // before the model: a bad name fails at once
  set_threads(threads);

  Stopwatch load_sw;
  SDPipeline pipe = load_pipeline("eval", model, variant, lora);
  const double load_s = load_sw.seconds();

  std::vector<std::string> prompts;
  std::vector<uint64_t> seeds;
  for (int i = 0; i < n; ++i) {
    prompts.push_back(set[static_cast<size_t>(i) % set.size()]);
    seeds.push_back(stream_seed(static_cast<uint64_t>(seed), Purpose::kEval, static_cast<uint64_t>(i)));
  }
  SamplerConfig sc;
  sc.steps = steps;
  sc.guidance = guidance;
  sc.eta = eta;
  sc.keep_eps = false;

  // generate and score in batches: images (n, 3, H, W) kept for the figures, rewards (n,)
  std::vector<at::Tensor> image_parts, reward_parts;
  const int nb = (n + batch - 1) / batch;
  Stopwatch gen_sw;
  double reward_s = 0;
  for (int b = 0; b < nb; ++b) {
    const int lo = b * batch, hi = std::min(n, lo + batch);
    std::vector<std::string> bp(prompts.begin() + lo, prompts.begin() + hi);
    std::vector<uint64_t> bs(seeds.begin() + lo, seeds.begin() + hi);
    at::Tensor images = pipe.generate(bp, bs, sc).images.to(at::kCPU, at::kFloat).contiguous();
    Stopwatch rs;
    at::Tensor r = reward->score(images, bp);
    check_scores(reward->name(), r, hi - lo);
    reward_s += rs.seconds();
    image_parts.push_back(images);
    reward_parts.push_back(r.to(at::kFloat));
    log::info(cat("eval: batch ", b + 1, "/", nb, ": ", hi, "/", n, " samples, ", fixed(gen_sw.seconds(), 1), " s"));
  }
  const double gen_s = gen_sw.seconds() - reward_s;
  const at::Tensor images = at::cat(image_parts, 0);
  const at::Tensor rewards = at::cat(reward_parts, 0);

  Stopwatch fig_sw;
  const RewardStats rstat = reward_stats(rewards);
  const Fidelity fid = prompt_fidelity(images, prompts);
  const bool square = images.size(2) == images.size(3);
  nlohmann::json div_samples = nullptr, div_data = nullptr, data = nullptr;
  std::string div_line = "n/a (fewer than 2 samples or non-square images)", data_line = "n/a";
  if (n >= 2 && square) {
    const shapes::Diversity d = shapes::measure_diversity(images);
    div_samples = diversity_json(d);
    div_line = d.summary();
  }
  if (fid.applicable) {
    // ground truth of the tiny world for the same prompts, through the same figures
    const at::Tensor ref = reference_images(prompts, static_cast<uint64_t>(seed), static_cast<int>(images.size(2)));
    const Fidelity rf = prompt_fidelity(ref, prompts);
    data = {{"fidelity", rf.fidelity}, {"alignment", rf.alignment}};
    data_line = cat("(fidelity ", fixed(rf.fidelity), ")");
    if (n >= 2) {
      const shapes::Diversity d = shapes::measure_diversity(ref);
      div_data = diversity_json(d);
      data_line = cat(d.summary(), " ", data_line);
    }
  } else {
    data_line = cat("n/a (", fid.reason, ")");
  }
  const double fig_s = fig_sw.seconds();

  std::filesystem::create_directories(out);
  const std::string grid_path = (std::filesystem::path(out) / "grid.png").string();
  const std::string json_path = (std::filesystem::path(out) / "eval.json").string();
  const float* rv = rewards.data_ptr<float>();
  const int g = std::min(n, std::max(grid, 0));
  if (g > 0) {
    GridOptions go;
    go.sidecar = false;
    go.scale = std::max<int>(1, static_cast<int>(128 / images.size(3)));  // small images: cells >= 128 px
    go.label_lines = 3;
    for (int i = 0; i < g; ++i) {
      const std::string mark = fid.applicable ? (fid.faithful[i] ? " ok " : " no ") : " ";
      go.labels.push_back(cat("r=", fixed(rv[i]), mark, prompts[i]));
    }
    write_image_grid(grid_path, images.slice(0, 0, g), go);
  }

  auto or_null = [&](double v) { return fid.applicable ? nlohmann::json(v) : nlohmann::json(nullptr); };
  int64_t n_faithful = 0;
  for (int f : fid.faithful) n_faithful += f;
  nlohmann::json j = {
      {"command", "eval"},
      {"git", git_revision()},
      {"config",
       {{"model", model}, {"lora", lora}, {"variant", variant}, {"reward", reward_name}, {"prompts", prompts_spec},
        {"n", n}, {"steps", steps}, {"guidance", guidance}, {"eta", eta}, {"batch", batch}, {"seed", seed},
        {"grid", grid}, {"out", out}}},
      {"config_ini", cfg.resolved()},
      {"prompt_count", set.size()},
      {"height", images.size(2)},
      {"width", images.size(3)},
      {"reward", {{"name", reward_name}, {"n", rstat.n}, {"mean", rstat.mean}, {"std", rstat.std},
                  {"min", rstat.min}, {"max", rstat.max}}},
      {"fidelity", {{"applicable", fid.applicable}, {"reason", fid.reason}, {"fidelity", or_null(fid.fidelity)},
                    {"faithful", fid.applicable ? nlohmann::json(n_faithful) : nlohmann::json(nullptr)},
                    {"alignment", or_null(fid.alignment)}}},
      {"diversity", {{"samples", div_samples}, {"data", div_data}}},
      {"data", data},
      {"seconds", {{"load", load_s}, {"generate", gen_s}, {"reward", reward_s}, {"figures", fig_s}}},
      {"samples",
       {{"prompts", prompts}, {"seeds", seeds}, {"rewards", std::vector<float>(rv, rv + n)},
        {"faithful", fid.applicable ? nlohmann::json(fid.faithful) : nlohmann::json(nullptr)},
        {"alignment", fid.applicable ? nlohmann::json(fid.alignment_per) : nlohmann::json(nullptr)}}},
      {"grid", g > 0 ? nlohmann::json(grid_path) : nlohmann::json(nullptr)}};
  write_json_file(json_path, j);

  std::printf("eval: %s%s%s | %d samples of %zu prompts (%s) | %dx%d | DDIM %d steps, eta %g, guidance %g, seed %lld\n",
              model.c_str(), lora.empty() ? "" : " + LoRA ", lora.c_str(), n, set.size(), prompts_spec.c_str(),
              static_cast<int>(images.size(2)), static_cast<int>(images.size(3)), steps, eta, guidance,
              static_cast<long long>(seed));
  std::printf("  reward %s: mean %s  std %s  min %s  max %s\n", reward_name.c_str(), fixed(rstat.mean, 4).c_str(),
              fixed(rstat.std, 4).c_str(), fixed(rstat.min, 4).c_str(), fixed(rstat.max, 4).c_str());
  if (fid.applicable)
    std::printf("  prompt fidelity: %s (%lld/%d faithful), mean alignment %s\n", fixed(fid.fidelity).c_str(),
                static_cast<long long>(n_faithful), n, fixed(fid.alignment).c_str());
  else
    std::printf("  prompt fidelity: n/a (%s)\n", fid.reason.c_str());
  std::printf("  diversity, samples: %s\n", div_line.c_str());
  std::printf("  diversity, data:    %s\n", data_line.c_str());
  std::printf("  time: load %.1f s, generate %.1f s, reward %.1f s, figures %.1f s\n", load_s, gen_s, reward_s, fig_s);
  std::printf("  wrote %s%s%s\n", json_path.c_str(), g > 0 ? " and " : "", g > 0 ? grid_path.c_str() : "");
  return 0;
}

}  // namespace dagalign::cli
