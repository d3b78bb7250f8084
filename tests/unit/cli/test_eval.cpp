// dagalign eval: the figures (cli/eval_figures.h) against independent computations and ground-truth data,
// and the command end to end on the tiny SD fixture (tests/data/unet/tiny_pipeline): eval.json complete and
// consistent with its own per-sample rows, samples independent of the batch size, grid.png written.
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/cli/eval_figures.h"
#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/io/png.h"
#include "dagalign/models/lora.h"
#include "dagalign/models/sd_pipeline.h"
#include "dagalign/rewards/factory.h"
#include "dagalign/shapes/diversity.h"
#include "dagalign/shapes/generator.h"
#include "dagalign/shapes/prompt_sets.h"

namespace dagalign::cli {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code;
  std::string output;
};

Result run(const std::string& args) {
  const std::string cmd = std::string(DAGALIGN_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

const std::string kModel = std::string(DAGALIGN_TEST_DATA) + "/unet/tiny_pipeline";

TEST(EvalFigures, RewardStatsMatchHandComputation) {
  // {1, 2, 3, 6}: mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5
  const RewardStats s = reward_stats(at::tensor({1.0f, 2.0f, 3.0f, 6.0f}));
  EXPECT_EQ(s.n, 4);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_NEAR(s.std, std::sqrt(3.5), 1e-12);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 6.0);
  EXPECT_THROW(reward_stats(at::empty({0})), Error);
}

TEST(EvalFigures, GroundTruthDataIsFaithful) {
  // the training data's own images and captions
  const shapes::Batch b = shapes::generate_batch(7, 0, 200);
  const Fidelity f = prompt_fidelity(b.images, b.captions);
  ASSERT_TRUE(f.applicable) << f.reason;
  EXPECT_DOUBLE_EQ(f.fidelity, 1.0);
  EXPECT_DOUBLE_EQ(f.alignment, 1.0);
  ASSERT_EQ(f.faithful.size(), 200u);
}

TEST(EvalFigures, ReferenceImagesShowTheirPrompts) {
  // every 7th caption of the grammar (sizes and positions included) and captions that leave attributes out
  std::vector<std::string> prompts;
  const auto all = shapes::prompt_set("all");
  for (size_t i = 0; i < all.size(); i += 7) prompts.push_back(all[i]);
  for (const char* p : {"a red circle", "a cross on a blue background", "a large square", "a triangle at the top"})
    prompts.push_back(p);
  const at::Tensor ref = reference_images(prompts, 3, 32);
  ASSERT_EQ(ref.sizes(), (std::vector<int64_t>{int64_t(prompts.size()), 3, 32, 32}));
  const Fidelity f = prompt_fidelity(ref, prompts);
  ASSERT_TRUE(f.applicable) << f.reason;
  EXPECT_DOUBLE_EQ(f.fidelity, 1.0);
  EXPECT_DOUBLE_EQ(f.alignment, 1.0);
  // unnamed attributes vary: 64 copies of "a red circle" are not 64 equal images
  const at::Tensor same = reference_images(std::vector<std::string>(64, "a red circle"), 3, 32);
  const shapes::Diversity d = shapes::measure_diversity(same);
  EXPECT_GT(d.pairwise_rms, 0.01);
  EXPECT_GT(d.background_entropy, 1.5);  // 7 backgrounds possible
  EXPECT_DOUBLE_EQ(d.shape_entropy, 0.0);
  // deterministic in the seed, different across seeds
  EXPECT_TRUE(at::equal(reference_images(prompts, 3, 32), ref));
  EXPECT_FALSE(at::equal(reference_images(prompts, 4, 32), ref));
}

TEST(EvalFigures, FidelityNotApplicableOutsideTheTinyWorld) {
  const at::Tensor img = at::rand({2, 3, 32, 32});
  const Fidelity f = prompt_fidelity(img, {"a red circle on a blue background", "two cats on a mat"});
  EXPECT_FALSE(f.applicable);
  EXPECT_NE(f.reason.find("two cats on a mat"), std::string::npos) << f.reason;
  EXPECT_FALSE(prompt_fidelity(at::rand({1, 3, 32, 16}), {"a red circle"}).applicable);  // not square
}

TEST(EvalFigures, LoadPromptsFromSetOrFile) {
  EXPECT_EQ(load_prompts("heldout"), shapes::prompt_set("heldout"));
  const std::string path = ::testing::TempDir() + "eval_prompts.txt";
  std::ofstream(path) << "  a red circle \r\n\n\ttwo cats\n";
  EXPECT_EQ(load_prompts(path), (std::vector<std::string>{"a red circle", "two cats"}));
  try {
    load_prompts("/no/such/prompts.txt");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/prompts.txt"), std::string::npos) << e.what();
  }
}

TEST(EvalCommand, JsonIsCompleteAndConsistent) {
  const std::string out = ::testing::TempDir() + "eval_cmd_a";
  fs::remove_all(out);
  const int n = 5;
  auto r = run(cat("eval --model ", kModel, " --reward jpeg_compressibility --prompts heldout --eval.n ", n,
                   " --eval.steps 2 --eval.batch 2 --eval.seed 9 --eval.grid 4 --eval.out ", out, " --threads 1"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("batch 3/3"), std::string::npos) << r.output;  // progress
  EXPECT_NE(r.output.find("prompt fidelity"), std::string::npos) << r.output;
  const nlohmann::json j = read_json(out + "/eval.json");
  for (const char* k : {"config", "config_ini", "reward", "fidelity", "diversity", "data", "samples", "seconds"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["config"]["model"], kModel);
  EXPECT_EQ(j["config"]["steps"], 2);
  EXPECT_EQ(j["prompt_count"], 56);

  // per-sample rows: prompt i mod |set|, seed stream_seed(9, kEval, i)
  const auto heldout = shapes::prompt_set("heldout");
  const auto& s = j["samples"];
  ASSERT_EQ(s["rewards"].size(), size_t(n));
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(s["prompts"][i], heldout[size_t(i) % heldout.size()]);
    EXPECT_EQ(s["seeds"][i].get<uint64_t>(), stream_seed(9, Purpose::kEval, uint64_t(i)));
  }
  // reward figures from the rows: mean, population std, min, max
  double sum = 0, mn = 1e300, mx = -1e300;
  for (const auto& v : s["rewards"]) {
    const double x = v.get<double>();
    sum += x, mn = std::min(mn, x), mx = std::max(mx, x);
  }
  const double mean = sum / n;
  double ss = 0;
  for (const auto& v : s["rewards"]) ss += (v.get<double>() - mean) * (v.get<double>() - mean);
  EXPECT_NEAR(j["reward"]["mean"].get<double>(), mean, 1e-5 * (1 + std::fabs(mean)));
  EXPECT_NEAR(j["reward"]["std"].get<double>(), std::sqrt(ss / n), 1e-5 * (1 + std::fabs(mean)));
  EXPECT_NEAR(j["reward"]["min"].get<double>(), mn, 1e-6 * (1 + std::fabs(mn)));
  EXPECT_NEAR(j["reward"]["max"].get<double>(), mx, 1e-6 * (1 + std::fabs(mx)));
  EXPECT_GT(j["reward"]["std"].get<double>(), 0.0);  // different samples, different JPEG sizes

  // fidelity figures from the rows
  ASSERT_TRUE(j["fidelity"]["applicable"].get<bool>());
  int faithful = 0;
  double align = 0;
  for (int i = 0; i < n; ++i) faithful += s["faithful"][i].get<int>(), align += s["alignment"][i].get<double>();
  EXPECT_EQ(j["fidelity"]["faithful"].get<int>(), faithful);
  EXPECT_DOUBLE_EQ(j["fidelity"]["fidelity"].get<double>(), double(faithful) / n);
  EXPECT_NEAR(j["fidelity"]["alignment"].get<double>(), align / n, 1e-12);

  // ground truth through the same path: faithful; its diversity as computed here
  EXPECT_DOUBLE_EQ(j["data"]["fidelity"].get<double>(), 1.0);
  std::vector<std::string> prompts = s["prompts"].get<std::vector<std::string>>();
  const shapes::Diversity dd = shapes::measure_diversity(reference_images(prompts, 9, int(j["height"].get<int>())));
  EXPECT_NEAR(j["diversity"]["data"]["pairwise_rms"].get<double>(), dd.pairwise_rms, 1e-9);
  EXPECT_NEAR(j["diversity"]["data"]["joint_entropy_bits"].get<double>(), dd.joint_entropy, 1e-9);
  EXPECT_EQ(j["diversity"]["samples"]["n"], n);
  EXPECT_GT(j["diversity"]["samples"]["pairwise_rms"].get<double>(), 0.0);

  // the grid: 4 cells (2 x 2) of 32 px images scaled to 128 px
  const at::Tensor grid = read_png(out + "/grid.png");
  EXPECT_GE(grid.size(1), 2 * 128);
  EXPECT_LT(grid.size(1), 3 * 128);

  // sample i does not depend on the batch it is generated in
  const std::string out_b = ::testing::TempDir() + "eval_cmd_b";
  fs::remove_all(out_b);
  auto r2 = run(cat("eval --model ", kModel, " --reward jpeg_compressibility --prompts heldout --eval.n 3",
                    " --eval.steps 2 --eval.batch 3 --eval.seed 9 --eval.grid 0 --eval.out ", out_b, " --threads 1"));
  ASSERT_EQ(r2.code, 0) << r2.output;
  const nlohmann::json j2 = read_json(out_b + "/eval.json");
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(j2["samples"]["rewards"][i].get<double>(), s["rewards"][i].get<double>(), 1e-6) << i;
  EXPECT_FALSE(fs::exists(out_b + "/grid.png"));

  // the prompt_alignment reward (rewards module) is the checker's graded score the fidelity rows hold
  const std::string out_c = ::testing::TempDir() + "eval_cmd_c";
  fs::remove_all(out_c);
  auto r3 = run(cat("eval --model ", kModel, " --reward prompt_alignment --prompts heldout --eval.n 3",
                    " --eval.steps 2 --eval.seed 9 --eval.grid 0 --eval.out ", out_c, " --threads 1"));
  ASSERT_EQ(r3.code, 0) << r3.output;
  const nlohmann::json j3 = read_json(out_c + "/eval.json");
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(j3["samples"]["rewards"][i].get<double>(), j3["samples"]["alignment"][i].get<double>(), 1e-6) << i;
    EXPECT_EQ(j3["samples"]["alignment"][i], s["alignment"][i]) << i;
  }
}

TEST(EvalCommand, LoraSamplesMatchAnInProcessPipeline) {
  // a LoRA with random factors (B != 0, so it changes the model), saved as diffusers reads it
  const std::string dir = ::testing::TempDir() + "eval_cmd_lora";
  fs::remove_all(dir);
  fs::create_directories(dir);
  SDPipeline pipe = SDPipeline::load(kModel);
  LoraConfig lc;
  lc.rank = 2;
  apply_lora(*pipe.unet, lc, make_generator(3));
  {
    at::NoGradGuard ng;
    for (auto& p : lora_parameters(*pipe.unet)) p.normal_(0, 0.5, make_generator(4));
  }
  save_lora(dir + "/lora.safetensors", *pipe.unet);
  const int n = 3;
  auto r = run(cat("eval --model ", kModel, " --lora ", dir, "/lora.safetensors --reward jpeg_compressibility",
                   " --prompts heldout --eval.n ", n, " --eval.steps 2 --eval.seed 9 --eval.grid 0 --eval.out ", dir,
                   "/out --threads 1"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("LoRA"), std::string::npos) << r.output;
  const nlohmann::json j = read_json(dir + "/out/eval.json");

  // the same samples in process: prompt i mod |set|, seed stream_seed(9, kEval, i), DDIM 2 steps, eta 1, w 5
  const auto heldout = shapes::prompt_set("heldout");
  std::vector<std::string> prompts;
  std::vector<uint64_t> seeds;
  for (int i = 0; i < n; ++i) {
    prompts.push_back(heldout[size_t(i)]);
    seeds.push_back(stream_seed(9, Purpose::kEval, uint64_t(i)));
  }
  SamplerConfig sc;
  sc.steps = 2;
  sc.guidance = 5.0;
  sc.eta = 1.0;
  sc.keep_eps = false;
  at::Tensor images;
  {
    at::NoGradGuard ng;
    images = pipe.generate(prompts, seeds, sc).images;
  }
  const at::Tensor want = make_reward("jpeg_compressibility")->score(images, prompts);
  const at::Tensor base_images = SDPipeline::load(kModel).generate(prompts, seeds, sc).images;
  const at::Tensor base = make_reward("jpeg_compressibility")->score(base_images, prompts);
  int differ = 0;
  for (int i = 0; i < n; ++i) {
    EXPECT_NEAR(j["samples"]["rewards"][i].get<double>(), want[i].item<double>(), 1e-4) << i;
    differ += std::fabs(want[i].item<double>() - base[i].item<double>()) > 1e-3;
  }
  EXPECT_GT(differ, 0) << "the LoRA does not change the samples";
}

TEST(EvalCommand, FreeTextPromptsReportFidelityNotApplicable) {
  const std::string dir = ::testing::TempDir() + "eval_cmd_text";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/prompts.txt") << "a red circle on a blue background\ntwo cats on a mat\n";
  auto r = run(cat("eval --model ", kModel, " --reward jpeg_compressibility --prompts ", dir,
                   "/prompts.txt --eval.n 2 --eval.steps 1 --eval.out ", dir, "/out --threads 1"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("n/a"), std::string::npos) << r.output;
  const nlohmann::json j = read_json(dir + "/out/eval.json");
  EXPECT_FALSE(j["fidelity"]["applicable"].get<bool>());
  EXPECT_TRUE(j["fidelity"]["fidelity"].is_null());
  EXPECT_TRUE(j["data"].is_null());
  EXPECT_TRUE(j["diversity"]["data"].is_null());
  EXPECT_EQ(j["samples"]["prompts"][1], "two cats on a mat");
}

TEST(EvalCommand, BadArgumentsNameTheKey) {
  auto r = run(cat("eval --model ", kModel, " --reward no_such_reward"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("no_such_reward"), std::string::npos) << r.output;
  r = run(cat("eval --model ", kModel, " --reward jpeg_compressibility --prompts no_such_set"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("no_such_set"), std::string::npos) << r.output;
  r = run("eval --reward jpeg_compressibility --eval.n 0");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("eval.n"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace dagalign::cli

namespace dagalign {
namespace {

// eval's top-level keys (model, reward, ...) come before any [section] of the resolved config, so the
// config stored in eval.json parses back to the same values.
TEST(EvalConfig, ResolvedConfigWithTopLevelKeysParsesBack) {
  std::string model, key;
  int n = 1;
  Config a("a");
  a.add("model", &model, "").add("eval.n", &n, "").add("reward", &key, "");
  a.parse({"--model", "dir/x", "--eval.n", "7", "--reward", "jpeg"});
  const std::string text = a.resolved();
  EXPECT_LT(text.find("model = dir/x"), text.find("[eval]")) << text;
  std::string model2, key2;
  int n2 = 1;
  Config b("b");
  b.add("model", &model2, "").add("eval.n", &n2, "").add("reward", &key2, "");
  b.parse_ini_text(text, "resolved");
  EXPECT_EQ(model2, "dir/x");
  EXPECT_EQ(n2, 7);
  EXPECT_EQ(key2, "jpeg");
}

}  // namespace
}  // namespace dagalign
