// `dagalign sample` on the tiny pipeline folder: a PNG grid and its JSON sidecar (prompt, seeds,
// settings); a LoRA that does not fit the UNet fails naming the file and the layer.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
const std::string kBinary = DAGALIGN_BINARY;
const std::string kData = DAGALIGN_TEST_DATA;

int run(const std::string& cmd, const std::string& log) { return std::system((cmd + " > '" + log + "' 2>&1").c_str()); }

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(SDSampleCli, WritesGridAndSidecarAndRejectsMismatchedLora) {
  if (!fs::exists(kBinary)) GTEST_SKIP() << "dagalign binary not built: " << kBinary;
  const fs::path dir = fs::temp_directory_path() / ("dagalign_sample_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "grid.png").string(), log = (dir / "log.txt").string();
  const std::string base = kBinary + " sample --model '" + kData + "/unet/tiny_pipeline' --prompt 'a red circle' " +
                           "--steps 2 --guidance 5 --seed 7 --threads 1 --out '" + out + "'";
  ASSERT_EQ(run(base + " --num 3", log), 0) << slurp(log);
  std::string png = slurp(out);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  auto j = nlohmann::json::parse(slurp(out + ".json"));
  EXPECT_EQ(j["seeds"], (std::vector<int>{7, 8, 9}));
  EXPECT_EQ(j["prompt"], "a red circle");
  EXPECT_EQ(j["steps"], 2);
  EXPECT_EQ(j["height"], 32);

  // the tiny_linear LoRA has other widths than the pipeline's tiny_conv UNet
  const std::string lora = kData + "/lora/tiny_linear_lora.safetensors";
  EXPECT_NE(run(base + " --num 1 --lora '" + lora + "'", log), 0);
  const std::string msg = slurp(log);
  EXPECT_NE(msg.find(lora), std::string::npos) << msg;
  EXPECT_NE(msg.find("down_blocks.0.attentions.0"), std::string::npos) << msg;
  fs::remove_all(dir);
}

}  // namespace
