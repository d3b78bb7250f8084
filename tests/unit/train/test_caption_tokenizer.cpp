// The BPE vocabulary built for the caption language, read back by the (independent) CLIP tokenizer.
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "dagalign/models/clip_tokenizer.h"
#include "dagalign/shapes/caption_tokenizer.h"
#include "dagalign/shapes/generator.h"

namespace fs = std::filesystem;
using namespace dagalign;

namespace {

fs::path write_folder(const std::string& name, int64_t max_length) {
  const fs::path dir = fs::temp_directory_path() / ("dagalign-captok-" + name + "-" + std::to_string(::getpid()));
  shapes::write_tokenizer_folder(dir.string(), shapes::build_bpe_vocabulary(shapes::caption_words()), max_length);
  return dir;
}

}  // namespace

TEST(CaptionTokenizer, ByteCharactersAreClipsBijection) {
  const auto c = shapes::clip_byte_characters();
  EXPECT_EQ(c['a'], "a");
  EXPECT_EQ(c[' '], "\xC4\xA0");  // U+0120 'Ġ', as in GPT-2 / CLIP
  EXPECT_EQ(c[0], "\xC4\x80");    // U+0100
  EXPECT_EQ(std::set<std::string>(c.begin(), c.end()).size(), 256u);
}

TEST(CaptionTokenizer, EveryCaptionWordIsOneTokenAndCaptionsRoundTrip) {
  const fs::path dir = write_folder("words", 16);
  const ClipTokenizer tok = ClipTokenizer::from_folder(dir.string());
  const auto v = shapes::build_bpe_vocabulary(shapes::caption_words());
  ASSERT_EQ(tok.vocab_size(), int64_t(v.tokens.size()));
  EXPECT_EQ(tok.max_length(), 16);
  std::set<int64_t> ids;
  for (const std::string& w : shapes::caption_words()) {
    const auto e = tok.encode(w);
    ASSERT_EQ(e.size(), 1u) << w;
    EXPECT_EQ(v.tokens.at(size_t(e[0])), w + "</w>");
    ids.insert(e[0]);
  }
  EXPECT_EQ(ids.size(), shapes::caption_words().size());  // distinct words, distinct tokens
  size_t longest = 0;
  for (const std::string& c : shapes::all_captions()) {
    const auto e = tok.encode(c);
    std::string back;
    for (int64_t id : e) back += (back.empty() ? "" : " ") + v.tokens.at(size_t(id)).substr(0, v.tokens[size_t(id)].size() - 4);
    EXPECT_EQ(back, c);
    longest = std::max(longest, e.size());
  }
  EXPECT_LE(longest + 2, 16u);  // every caption fits model_max_length with its start/end tokens
  // Words outside the language still tokenize (byte fallback), into several tokens.
  EXPECT_GT(tok.encode("zebra").size(), 1u);
  fs::remove_all(dir);
}
