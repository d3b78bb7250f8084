// dagalign bench clip: CLIP tokenizer throughput and CLIP text-encoder forward time.
//
//   tokenizer: the prompts of tests/data/clip/tokenizer_golden.json (or --clip.prompts, one per line),
//              encode_padded over all of them; "cold" = a fresh tokenizer (empty BPE cache), "warm" = the
//              same tokenizer again (every piece cached); prompts/s = prompts / wall time (median of reps).
//   encoder:   ClipTextModel forward (no grad, float32) on (batch, 77) ids, median of reps after 1 warm-up,
//              for the tiny golden configuration and the SD 1.5 configuration (random weights).
// tools/golden/clip_bench.py runs this and the same work in transformers, and prints both with ratios.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/cli/commands.h"
#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/core/runtime.h"
#include "dagalign/core/timer.h"
#include "dagalign/models/clip_text_model.h"
#include "dagalign/models/clip_tokenizer.h"

namespace dagalign::cli {
namespace fs = std::filesystem;

namespace {

// A folder holding vocab.json + merges.txt: `dir` itself, or a temporary copy unpacked from *.gz there.
std::string tokenizer_folder(const std::string& dir) {
  if (fs::exists(fs::path(dir) / "vocab.json") && fs::exists(fs::path(dir) / "merges.txt")) return dir;
  const auto tmp = fs::temp_directory_path() / cat("dagalign-bench-clip-", ::getpid());
  fs::create_directories(tmp);
  for (const char* name : {"vocab.json", "merges.txt"}) {
    const auto gz = (fs::path(dir) / (std::string(name) + ".gz")).string();
    DAG_CHECK(fs::exists(gz), "bench clip: ", dir, " holds neither ", name, " nor ", gz);
    const auto cmd = cat("gzip -dc '", gz, "' > '", (tmp / name).string(), "'");
    DAG_CHECK(std::system(cmd.c_str()) == 0, "bench clip: failed: ", cmd);
  }
  return tmp.string();
}

std::vector<std::string> load_prompts(const std::string& file) {
  std::vector<std::string> out;
  if (file.size() > 5 && file.substr(file.size() - 5) == ".json") {
    std::ifstream in(file);
    DAG_CHECK(in, "bench clip: cannot open ", file);
    const auto j = nlohmann::json::parse(in);
    for (const auto& c : j.at("cases")) out.push_back(c.at("prompt").get<std::string>());
  } else {
    std::ifstream in(file);
    DAG_CHECK(in, "bench clip: cannot open ", file);
    for (std::string line; std::getline(in, line);) out.push_back(line);
  }
  DAG_CHECK(!out.empty(), "bench clip: no prompts in ", file);
  return out;
}

double time_forward(ClipTextModel& model, const at::Tensor& ids, int reps) {
  at::NoGradGuard no_grad;
  model->forward(ids);  // warm-up
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    Stopwatch sw;
    auto out = model->forward(ids).last_hidden_state;
    (void)out.sum().item<float>();
    t.push_back(sw.seconds());
  }
  return median(t);
}

}  // namespace

int bench_clip(const Args& args) {
  std::string data = "tests/data/clip", prompts_file;
  int reps = 5, threads = 2;
  int64_t batch = 8;
  bool sd15 = true;
  Config cfg("dagalign bench clip");
  cfg.add("clip.data", &data, "folder with vocab.json + merges.txt (or their .gz) and the tiny_sd/ golden text encoder")
      .add("clip.prompts", &prompts_file, "prompts: a text file (one per line) or a tokenizer_golden.json; default <clip.data>/tokenizer_golden.json")
      .add("clip.reps", &reps, "timed repetitions (median reported)")
      .add("clip.batch", &batch, "text-encoder batch size")
      .add("clip.sd15", &sd15, "also time the SD 1.5 text encoder configuration (0.5 GB)")
      .add("clip.threads", &threads, "LibTorch threads");
  if (!cfg.parse(args)) {
    std::printf("%s", cfg.help().c_str());
    return 0;
  }
  DAG_CHECK(reps > 0 && batch > 0, "bench clip: reps and batch must be positive");
  set_threads(threads);
  const auto prompts = load_prompts(prompts_file.empty() ? data + "/tokenizer_golden.json" : prompts_file);
  const auto tok_dir = tokenizer_folder(data);

  std::vector<double> cold, warm;
  for (int r = 0; r < reps; ++r) {
    const auto tok = ClipTokenizer::from_folder(tok_dir);  // fresh cache
    Stopwatch sw;
    for (const auto& p : prompts) (void)tok.encode_padded(p);
    cold.push_back(sw.seconds());
    sw.reset();
    for (const auto& p : prompts) (void)tok.encode_padded(p);
    warm.push_back(sw.seconds());
  }
  const double n = double(prompts.size());
  std::printf("threads %d, %zu prompts, median of %d\n", threads, prompts.size(), reps);
  std::printf("tokenizer_cold_prompts_per_s %.1f\n", n / median(cold));
  std::printf("tokenizer_warm_prompts_per_s %.1f\n", n / median(warm));

  const auto tok = ClipTokenizer::from_folder(tok_dir);
  std::vector<std::string> batch_prompts;
  for (int64_t b = 0; b < batch; ++b) batch_prompts.push_back(prompts[size_t(b) % prompts.size()]);
  const auto real_ids = tok.encode_batch(batch_prompts);

  auto tiny = load_clip_text_model(data + "/tiny_sd");
  const auto tiny_ids = at::randint(0, tiny->text_model->config.vocab_size, {batch, 77}, at::kLong);
  std::printf("text_encoder_tiny_ms %.3f\n", 1e3 * time_forward(tiny, tiny_ids, reps));
  if (sd15) {
    ClipTextModel full(ClipTextConfig::sd15());
    full->eval();
    std::printf("text_encoder_sd15_ms %.3f\n", 1e3 * time_forward(full, real_ids, reps));
  }
  return 0;
}

}  // namespace dagalign::cli
