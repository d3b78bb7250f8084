// CLIP tokenizer against transformers' CLIPTokenizer on the real CLIP vocabulary (tests/data/clip, built from
// openai's bpe_simple_vocab_16e6.txt.gz by tools/golden/clip_tokenizer.py; ids from the same script).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/models/clip_tokenizer.h"

using namespace dagalign;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(DAGALIGN_TEST_DATA) + "/clip";

// Unpacks tests/data/clip/{vocab.json,merges.txt}.gz into a tokenizer/ folder once per process.
const std::string& tokenizer_dir() {
  static const std::string dir = [] {
    const std::string d = testing::TempDir() + "/dagalign_clip_tok_" + std::to_string(::getpid());
    fs::create_directories(d);
    for (const char* name : {"vocab.json", "merges.txt"}) {
      const std::string cmd = "gzip -dc '" + kData + "/" + name + ".gz' > '" + d + "/" + name + "'";
      if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    }
    return d;
  }();
  return dir;
}

const ClipTokenizer& sd15() {
  static const ClipTokenizer tok = ClipTokenizer::from_folder(tokenizer_dir());
  return tok;
}

nlohmann::json golden() {
  std::ifstream in(kData + "/tokenizer_golden.json");
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(ClipTokenizer, VocabularyLayout) {
  const auto& tok = sd15();
  EXPECT_EQ(tok.vocab_size(), 49408);
  EXPECT_EQ(tok.bos_id(), 49406);
  EXPECT_EQ(tok.eos_id(), 49407);
  EXPECT_EQ(tok.pad_id(), 49407);  // SD 1.5 pads with <|endoftext|>
  EXPECT_EQ(tok.max_length(), 77);
  EXPECT_EQ(tok.token_id("!"), 0);          // first printable byte
  EXPECT_EQ(tok.token_id("!</w>"), 256);    // byte tokens + </w> follow the 256 byte tokens
  EXPECT_EQ(tok.token_id("\xC4\xA0"), 220);  // 188 printable bytes first, then the others in byte order: space (the 33rd) is U+0120, id 188 + 32
  EXPECT_EQ(tok.bpe("a"), std::vector<std::string>{"a</w>"});
  EXPECT_EQ(tok.bpe(" "), std::vector<std::string>{"\xC4\xA0</w>"});
}

TEST(ClipTokenizer, NormalizeAndSplit) {
  const auto& tok = sd15();
  EXPECT_EQ(tok.normalize("  A\tCAT\n\nSat  "), " a cat sat ");
  EXPECT_EQ(tok.normalize("cafe\xCC\x81"), "caf\xC3\xA9");                // NFC composes e + U+0301
  EXPECT_EQ(tok.normalize("\xCE\xA3\xCE\xA3"), "\xCF\x83\xCF\x83");        // per-char lowercase: no final sigma
  EXPECT_EQ(tok.normalize("\xC4\xB0"), "i\xCC\x87");                       // U+0130 -> i + U+0307 (full mapping)
  EXPECT_EQ(tok.pre_tokenize("it's 42 rock'n'roll!! caf\xC3\xA9"),
            (std::vector<std::string>{"it", "'s", "4", "2", "rock", "'", "n", "'", "roll", "!!", "caf\xC3\xA9"}));
  // Special tokens are split off the raw text before this stage; a literal reaching it is ordinary text.
  EXPECT_EQ(tok.pre_tokenize("a<|endoftext|>b"), (std::vector<std::string>{"a", "<|", "endoftext", "|>", "b"}));
  EXPECT_EQ(tok.encode("a?<|endoftext|>b"),
            (std::vector<int64_t>{tok.token_id("a</w>"), tok.token_id("?</w>"), 49407, tok.token_id("b</w>")}));
}

TEST(ClipTokenizer, MatchesTransformersOnGoldenPrompts) {
  const auto g = golden();
  const auto& tok = sd15();
  const auto& cases = g.at("cases");
  ASSERT_GE(cases.size(), 200u);
  size_t over_long = 0, checked_bang = 0;
  ClipTokenizer bang((fs::path(tokenizer_dir()) / "vocab.json").string(),
                     (fs::path(tokenizer_dir()) / "merges.txt").string(), "!", 77);
  for (const auto& c : cases) {
    const auto prompt = c.at("prompt").get<std::string>();
    const auto ids = c.at("ids").get<std::vector<int64_t>>();
    EXPECT_EQ(tok.encode(prompt), ids) << "prompt: " << prompt;
    EXPECT_EQ(tok.encode_padded(prompt), c.at("padded").get<std::vector<int64_t>>()) << "prompt: " << prompt;
    over_long += ids.size() > 75;
    if (c.contains("padded_bang")) {
      EXPECT_EQ(bang.encode_padded(prompt), c.at("padded_bang").get<std::vector<int64_t>>()) << "prompt: " << prompt;
      ++checked_bang;
    }
  }
  EXPECT_GE(over_long, 10u);
  EXPECT_GE(checked_bang, 20u);
}

// openai/CLIP simple_tokenizer ids (ftfy + html.unescape + str.lower + specials in the pattern), recorded by the
// golden script from openai's algorithm with the real ftfy and regex packages.
TEST(ClipTokenizer, OpenaiCleaningMatchesSimpleTokenizer) {
  const auto g = golden();
  const auto tok = ClipTokenizer::from_folder(tokenizer_dir(), ClipTextCleaning::openai);
  size_t differs_from_transformers = 0;
  for (const auto& c : g.at("cases")) {
    const auto prompt = c.at("prompt").get<std::string>();
    const auto ids = c.at("openai_ids").get<std::vector<int64_t>>();
    EXPECT_EQ(tok.encode(prompt), ids) << "prompt: " << prompt;
    differs_from_transformers += ids != c.at("ids").get<std::vector<int64_t>>();
  }
  EXPECT_GE(differs_from_transformers, 8u);  // the cases where the two references differ are covered
}

TEST(ClipTokenizer, BatchAndCacheGiveSameIds) {
  const auto& tok = sd15();
  const std::vector<std::string> prompts = {"a photo of a cat", "", "a photo of a cat"};
  const auto t = tok.encode_batch(prompts);
  EXPECT_EQ(t.sizes(), at::IntArrayRef({3, 77}));
  EXPECT_EQ(t.scalar_type(), at::kLong);
  for (int64_t b = 0; b < 3; ++b) {
    const auto expect = tok.encode_padded(prompts[size_t(b)]);
    EXPECT_TRUE(at::equal(t[b], at::tensor(expect, at::kLong))) << b;
  }
  // The empty prompt: [bos, eos, pad...].
  EXPECT_EQ(t[1][0].item<int64_t>(), 49406);
  EXPECT_EQ(t[1][1].item<int64_t>(), 49407);
  EXPECT_EQ(t[1][76].item<int64_t>(), 49407);
}

TEST(ClipTokenizer, FolderConfigSetsPadAndLength) {
  const std::string dir = testing::TempDir() + "/dagalign_clip_tok_cfg_" + std::to_string(::getpid());
  fs::create_directories(dir);
  for (const char* name : {"vocab.json", "merges.txt"})
    fs::copy_file(fs::path(tokenizer_dir()) / name, fs::path(dir) / name, fs::copy_options::overwrite_existing);
  std::ofstream(dir + "/tokenizer_config.json")
      << R"({"pad_token": {"content": "!", "lstrip": false}, "model_max_length": 10, "do_lower_case": true})";
  const auto tok = ClipTokenizer::from_folder(dir);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.max_length(), 10);
  const auto ids = tok.encode_padded("a photo");
  const auto raw = tok.encode("a photo");
  ASSERT_EQ(ids.size(), 10u);
  EXPECT_EQ(ids[0], 49406);
  EXPECT_EQ(std::vector<int64_t>(ids.begin() + 1, ids.begin() + 1 + raw.size()), raw);
  EXPECT_EQ(ids[1 + raw.size()], 49407);
  EXPECT_EQ(ids[9], 0);
  // Truncation keeps <|endoftext|> last.
  const auto longer = tok.encode_padded("one two three four five six seven eight nine ten");
  EXPECT_EQ(longer[9], 49407);
  fs::remove_all(dir);
}

TEST(ClipTokenizer, ErrorsNameTheFileOrText) {
  try {
    ClipTokenizer("/nonexistent/vocab.json", "/nonexistent/merges.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vocab.json"), std::string::npos);
  }
  try {
    sd15().encode("bad \xC3\x28 utf8");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos);
  }
  EXPECT_THROW(ClipTokenizer((fs::path(tokenizer_dir()) / "vocab.json").string(),
                             (fs::path(tokenizer_dir()) / "merges.txt").string(), "<|notatoken|>"),
               Error);
}
