// The pretraining loop of the tiny text-to-image model; the objective and EMA are in the header.
#include "dagalign/train/pretrain.h"

#include <cmath>
#include <fstream>
#include <filesystem>
#include <limits>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/algo/adamw.h"
#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/rng.h"
#include "dagalign/core/runtime.h"
#include "dagalign/core/timer.h"
#include "dagalign/diffusion/v_prediction.h"
#include "dagalign/models/sd_pipeline.h"
#include "dagalign/shapes/caption_tokenizer.h"
#include "dagalign/shapes/checker.h"
#include "dagalign/shapes/generator.h"
#include "dagalign/shapes/prompt_sets.h"
#include "dagalign/train/signals.h"
#include "dagalign/weights/diffusers_folder.h"
#include "dagalign/weights/state_dict.h"

namespace fs = std::filesystem;

namespace dagalign {

namespace {

struct Model {
  SDPipeline ema;  // tokenizer, EMA text encoder and UNet, no vae, schedule: what is exported
  ClipTextModel text{nullptr};
  UNet2DConditionModel unet{nullptr};
  nlohmann::json unet_cfg, text_cfg, sched_cfg;

  std::vector<at::Tensor> params() {
    auto p = unet->parameters();
    for (auto& t : text->parameters()) p.push_back(t);
    return p;
  }
  std::vector<at::Tensor> ema_params() {
    auto p = ema.unet->parameters();
    for (auto& t : ema.text_encoder->parameters()) p.push_back(t);
    return p;
  }
};

Model build_model(const TinyModelConfig& mc, const std::string& tokenizer_dir, uint64_t seed) {
  write_tokenizer_folder(tokenizer_dir, shapes::build_bpe_vocabulary(shapes::caption_words()), mc.max_length);
  Model m{SDPipeline{ClipTokenizer::from_folder(tokenizer_dir), nullptr, nullptr, nullptr, ScheduleConfig{}}};
  for (const std::string& c : shapes::all_captions())
    DAG_CHECK(int64_t(m.ema.tokenizer.encode(c).size()) + 2 <= mc.max_length, "tiny.max_length ", mc.max_length,
              " truncates the caption '", c, "' (", m.ema.tokenizer.encode(c).size() + 2, " tokens)");
  m.unet_cfg = mc.unet_json();
  m.text_cfg = mc.text_encoder_json(m.ema.tokenizer.vocab_size(), m.ema.tokenizer.bos_id(), m.ema.tokenizer.eos_id());
  m.sched_cfg = mc.scheduler_json();
  const auto uc = UNetConfig::from_json(m.unet_cfg, "tiny.* (unet)");
  const auto tc = ClipTextConfig::from_json(m.text_cfg, "tiny.* (text_encoder)");
  at::manual_seed(seed);  // default initialisation of every layer draws from the global generator
  m.unet = UNet2DConditionModel(uc);
  m.text = ClipTextModel(tc);
  m.ema.unet = UNet2DConditionModel(uc);
  m.ema.text_encoder = ClipTextModel(tc);
  at::NoGradGuard ng;
  auto p = m.params(), e = m.ema_params();
  for (size_t i = 0; i < p.size(); ++i) {
    e[i].copy_(p[i]);
    e[i].set_requires_grad(false);
  }
  m.ema.schedule.beta_schedule = mc.beta_schedule;  // as scheduler_json() writes it
  m.ema.schedule.beta_start = mc.beta_start;
  m.ema.schedule.beta_end = mc.beta_end;
  m.ema.schedule.steps_offset = 1;
  m.ema.schedule.clip_sample_range = 1.0;
  m.ema.schedule.prediction_type = mc.prediction_type;
  return m;
}

std::string index_key(const char* prefix, size_t i) { return cat(prefix, i); }

void save_state(const std::string& path, Model& m, AdamW& opt, int64_t step) {
  TensorMap t;
  for (const auto& kv : m.unet->named_parameters()) t["unet." + kv.key()] = kv.value();
  for (const auto& kv : m.text->named_parameters()) t["text_encoder." + kv.key()] = kv.value();
  for (const auto& kv : m.ema.unet->named_parameters()) t["ema.unet." + kv.key()] = kv.value();
  for (const auto& kv : m.ema.text_encoder->named_parameters()) t["ema.text_encoder." + kv.key()] = kv.value();
  for (size_t i = 0; i < opt.exp_avg().size(); ++i) {
    t[index_key("adam.m.", i)] = opt.exp_avg()[i];
    t[index_key("adam.v.", i)] = opt.exp_avg_sq()[i];
  }
  write_safetensors(path, t, {{"step", std::to_string(step)}, {"format", "dagalign-pretrain-1"}});
}

int64_t load_state(const std::string& path, Model& m, AdamW& opt) {
  Metadata meta;
  TensorMap t = read_safetensors(path, &meta);
  DAG_CHECK(meta.count("step") && meta["format"] == "dagalign-pretrain-1", path,
            ": not a dagalign pretrain state (metadata 'format'/'step' missing)");
  auto take = [&](const std::string& key, at::Tensor dst) {
    auto it = t.find(key);
    DAG_CHECK(it != t.end(), path, ": missing tensor '", key, "' (written by another architecture?)");
    DAG_CHECK(it->second.sizes() == dst.sizes(), path, ": tensor '", key, "' has shape ", it->second.sizes(),
              ", the model has ", dst.sizes());
    at::NoGradGuard ng;
    dst.copy_(it->second);
  };
  for (const auto& kv : m.unet->named_parameters()) take("unet." + kv.key(), kv.value());
  for (const auto& kv : m.text->named_parameters()) take("text_encoder." + kv.key(), kv.value());
  for (const auto& kv : m.ema.unet->named_parameters()) take("ema.unet." + kv.key(), kv.value());
  for (const auto& kv : m.ema.text_encoder->named_parameters()) take("ema.text_encoder." + kv.key(), kv.value());
  for (size_t i = 0; i < opt.exp_avg().size(); ++i) {
    take(index_key("adam.m.", i), opt.exp_avg()[i]);
    take(index_key("adam.v.", i), opt.exp_avg_sq()[i]);
  }
  const int64_t step = std::stoll(meta["step"]);
  opt.set_steps(step);
  return step;
}

// Writes the EMA model as a diffusers folder: into <out>.tmp, then renamed over <out>.
void export_folder(const std::string& out, Model& m, const std::string& tokenizer_dir) {
  const std::string tmp = out + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  fs::copy(tokenizer_dir, tmp + "/tokenizer", fs::copy_options::recursive);
  write_component(tmp, "unet", m.unet_cfg, state_dict(*m.ema.unet));
  write_component(tmp, "text_encoder", m.text_cfg, state_dict(*m.ema.text_encoder));
  fs::create_directories(tmp + "/scheduler");
  write_json_file(tmp + "/scheduler/scheduler_config.json", m.sched_cfg);
  write_model_index(tmp, {{"_class_name", "StableDiffusionPipeline"},
                          {"_diffusers_version", "0.30.0"},
                          {"scheduler", {"diffusers", "DDIMScheduler"}},
                          {"text_encoder", {"transformers", "CLIPTextModel"}},
                          {"tokenizer", {"transformers", "CLIPTokenizer"}},
                          {"unet", {"diffusers", "UNet2DConditionModel"}},
                          {"vae", {nullptr, nullptr}},
                          {"safety_checker", {nullptr, nullptr}},
                          {"feature_extractor", {nullptr, nullptr}},
                          {"requires_safety_checker", false}});
  fs::remove_all(out);
  fs::create_directories(fs::absolute(out).parent_path());
  fs::rename(tmp, out);
}

// Prompt fidelity of the EMA model on n "basic" prompts (checker reads every named attribute back).
double fidelity(Model& m, const PretrainConfig& cfg) {
  const auto prompts_all = shapes::prompt_set("basic");
  std::vector<std::string> prompts;
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < cfg.eval_samples; ++i) {
    prompts.push_back(prompts_all[size_t((i * 37) % int64_t(prompts_all.size()))]);
    seeds.push_back(stream_seed(uint64_t(cfg.seed), Purpose::kEval, uint64_t(i)));
  }
  SamplerConfig s;
  s.steps = int(cfg.eval_steps);
  s.guidance = cfg.guidance;
  s.keep_eps = false;
  m.ema.unet->eval();
  m.ema.text_encoder->eval();
  const at::Tensor images = m.ema.generate(prompts, seeds, s).images;
  const auto readings = shapes::read_images(images);
  int ok = 0;
  for (size_t i = 0; i < prompts.size(); ++i) ok += shapes::faithful(readings[i], shapes::parse_prompt(prompts[i]));
  return double(ok) / double(prompts.size());
}

}  // namespace

int run_pretrain(const PretrainConfig& cfg, const TinyModelConfig& mc, const std::string& resolved_config) {
  const int threads = set_threads(cfg.threads);
  install_preempt_handler(cfg.preempt_signal);
  fs::create_directories(cfg.dir);
  {
    std::ofstream(cfg.dir + "/config.ini") << resolved_config;
  }
  const std::string tokenizer_dir = cfg.dir + "/tokenizer";
  Model m = build_model(mc, tokenizer_dir, uint64_t(cfg.seed));
  auto params = m.params(), ema = m.ema_params();
  int64_t n_params = 0;
  for (const auto& p : params) n_params += p.numel();
  AdamW opt(params, {cfg.lr, 0.9, 0.999, 1e-8, cfg.weight_decay});
  const std::string state_path = cfg.dir + "/pretrain-state.safetensors";
  int64_t start = 0;
  if (fs::exists(state_path)) {
    start = load_state(state_path, m, opt);
    log::info(cat("resumed from ", state_path, " at step ", start));
  }
  log::info(cat("dagalign pretrain: ", n_params, " parameters (", n_params * 4 / 1e6, " MB fp32), ",
                m.ema.tokenizer.vocab_size(), " tokens, ", threads, " thread(s), steps ", start, " -> ", cfg.steps,
                " of batch ", cfg.batch, "\n--- resolved configuration ---\n", resolved_config,
                "------------------------------"));
  const NoiseSchedule schedule(m.ema.schedule);
  const at::Tensor abar = at::tensor(schedule.alphas_cumprod(), at::kDouble).to(at::kFloat);
  const int64_t N = schedule.num_train_timesteps();
  const bool v_pred = mc.prediction_type == "v_prediction";
  const shapes::WorldSpec spec{int(mc.image_size)};
  const uint64_t seed = uint64_t(cfg.seed);

  Stopwatch clock;
  double loss_sum = 0;
  int64_t loss_n = 0, done = 0;
  for (int64_t step = start; step < cfg.steps; ++step) {
    if (preempt_requested()) {
      save_state(state_path, m, opt, step);
      log::info(cat("preempted: state saved at step ", step, " to ", state_path, "; exit ", kPreemptedExitCode));
      return kPreemptedExitCode;
    }
    m.unet->train();
    m.text->train();
    shapes::Batch data = shapes::generate_batch(seed, uint64_t(step * cfg.batch), cfg.batch, spec);
    for (int64_t i = 0; i < cfg.batch; ++i) {  // caption dropout: u_i uniform in [0, 1) from (seed, step, i)
      const double u = double(stream_seed(seed, Purpose::kPrompt, uint64_t(step), uint64_t(i)) >> 11) * 0x1.0p-53;
      if (u < cfg.cond_drop) data.captions[size_t(i)].clear();
    }
    at::Generator gen = make_generator(stream_seed(seed, Purpose::kTrajectory, uint64_t(step)));
    const at::Tensor t = at::randint(0, N, {cfg.batch}, gen, at::kLong);
    const at::Tensor eps = at::randn(data.images.sizes(), gen, at::kFloat);
    const at::Tensor a = abar.index_select(0, t).view({-1, 1, 1, 1});
    const at::Tensor xt = a.sqrt() * (data.images * 2 - 1) + (1 - a).sqrt() * eps;  // x_t = sqrt(abar) x0 + sqrt(1-abar) eps
    const at::Tensor ctx = m.text->encode(m.ema.tokenizer.encode_batch(data.captions));
    const at::Tensor x0 = data.images * 2 - 1;
    const at::Tensor target = v_pred ? v_target(x0, eps, a) : eps;  // diffusion/v_prediction.h
    const at::Tensor loss = (m.unet->forward(xt, t, ctx) - target).pow(2).mean();
    for (auto& p : params) p.mutable_grad() = at::Tensor();
    loss.backward();
    {
      at::NoGradGuard ng;
      double sq = 0;
      for (auto& p : params) sq += p.grad().pow(2).sum().item<double>();
      const double norm = std::sqrt(sq);
      if (norm > 1.0)
        for (auto& p : params) p.mutable_grad().mul_(1.0 / norm);
    }
    opt.set_lr(cfg.lr * std::min(1.0, double(step + 1) / double(std::max<int64_t>(cfg.warmup, 1))));
    opt.step();
    {
      at::NoGradGuard ng;
      const double d = std::min(cfg.ema, double(1 + step) / double(10 + step));
      for (size_t i = 0; i < params.size(); ++i) ema[i].mul_(d).add_(params[i], 1 - d);
    }
    const double l = loss.item<double>();
    DAG_CHECK(std::isfinite(l), "pretrain: loss is ", l, " at step ", step, " (lower pretrain.lr?)");
    loss_sum += l;
    ++loss_n;
    ++done;
    const int64_t k = step + 1;
    if (k % cfg.log_every == 0 || k == cfg.steps) {
      const double rate = double(done * cfg.batch) / clock.seconds();
      log::info(cat("step ", k, "/", cfg.steps, " | loss ", loss_sum / double(loss_n), " | ", int64_t(rate),
                    " images/s | elapsed ", int64_t(clock.seconds()), " s | eta ",
                    int64_t(double((cfg.steps - k) * cfg.batch) / rate), " s"));
      loss_sum = 0;
      loss_n = 0;
    }
    if (k % cfg.checkpoint_every == 0 && k < cfg.steps) save_state(state_path, m, opt, k);
    if (cfg.eval_every > 0 && k % cfg.eval_every == 0 && k < cfg.steps) {
      Stopwatch sw;
      const double f = fidelity(m, cfg);
      log::info(cat("step ", k, " | EMA prompt fidelity ", f, " on ", cfg.eval_samples, " samples (",
                    cfg.eval_steps, " steps, guidance ", cfg.guidance, ", ", int64_t(sw.seconds()), " s)"));
    }
  }
  save_state(state_path, m, opt, cfg.steps);
  export_folder(cfg.out, m, tokenizer_dir);
  log::info(cat("exported the EMA model to ", cfg.out));
  if (cfg.eval_samples > 0) {
    const double f = fidelity(m, cfg);
    log::info(cat("final EMA prompt fidelity ", f, " on ", cfg.eval_samples, " samples (", cfg.eval_steps,
                  " steps, guidance ", cfg.guidance, ")"));
  }
  return 0;
}

}  // namespace dagalign
