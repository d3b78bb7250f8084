// The pretrained base model of the tiny world (models/tiny-shapes, pixel space, v-prediction): `dagalign eval`
// at 20 DDIM steps (guidance 2) on 32 held-out and 32 basic captions spread over each set. Measured on 256
// held-out samples: prompt fidelity 0.914, mean alignment 0.971 (docs/tiny-shapes.md); a random-weights folder
// of the same layout scores 0 and ~0.15, the epsilon-only stage-1 model 0.29 and 0.64. The bounds sit ~3
// standard errors of a 32-sample estimate below the measurement and above the 70 % target.
// Skipped while the folder is absent (before the model is committed).
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dagalign/shapes/prompt_sets.h"

namespace {

namespace fs = std::filesystem;

// DAGALIGN_TINY_SHAPES=DIR checks another folder of the layout (e.g. a candidate from a pretraining run).
const std::string kModel = std::getenv("DAGALIGN_TINY_SHAPES")
                               ? std::getenv("DAGALIGN_TINY_SHAPES")
                               : std::string(DAGALIGN_SOURCE_DIR) + "/models/tiny-shapes";
constexpr double kMinFidelity = 0.75;   // measured 0.914 (256 samples); 32-sample s.e. ~0.05
constexpr double kMinAlignment = 0.88;  // measured 0.971; random weights ~0.15

int run(const std::string& args, std::string* output) {
  const std::string cmd = std::string(DAGALIGN_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) output->append(buf.data(), n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Evaluates n captions spread over a named set (caption (stride i) mod |set| for sample i, stride coprime to
// |set|, so every colour appears) and checks the fidelity; one LibTorch thread (CI runs tests side by side).
void check_fidelity(const std::string& set, int n, size_t stride) {
  if (!fs::exists(kModel + "/model_index.json")) GTEST_SKIP() << kModel << " is absent";
  const auto captions = dagalign::shapes::prompt_set(set);
  const std::string file = ::testing::TempDir() + "tiny_shapes_prompts_" + set + ".txt";
  {
    std::ofstream f(file);
    for (size_t i = 0; i < size_t(n); ++i) f << captions[(stride * i) % captions.size()] << "\n";
  }
  const std::string out = ::testing::TempDir() + "tiny_shapes_eval_" + set;
  fs::remove_all(out);
  std::string output;
  const int code = run("eval --model " + kModel + " --reward prompt_alignment --prompts " + file + " --eval.n " +
                           std::to_string(n) + " --eval.steps 20 --eval.guidance 2 --eval.batch 32 --eval.grid 0" +
                           " --threads 1 --eval.out " + out,
                       &output);
  std::printf("%s", output.c_str());
  ASSERT_EQ(code, 0);
  std::ifstream in(out + "/eval.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_TRUE(j["fidelity"]["applicable"].get<bool>());
  EXPECT_GE(j["fidelity"]["fidelity"].get<double>(), kMinFidelity);
  EXPECT_GE(j["fidelity"]["alignment"].get<double>(), kMinAlignment);
  // prompt_alignment is the graded alignment score: its mean is the reported mean alignment
  EXPECT_NEAR(j["reward"]["mean"].get<double>(), j["fidelity"]["alignment"].get<double>(), 1e-5);
}

TEST(TinyShapesModel, HeldoutPromptFidelity) { check_fidelity("heldout", 32, 9); }  // 9 coprime to 56
TEST(TinyShapesModel, BasicPromptFidelity) { check_fidelity("basic", 32, 37); }    // 37 coprime to 224

}  // namespace
