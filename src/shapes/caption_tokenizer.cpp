#include "dagalign/shapes/caption_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign::shapes {

namespace {

std::string utf8(int cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else {  // bytes_to_unicode stays below U+0800
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

// Byte-pair merging of one word's pieces by merge rank (lowest first), as the CLIP tokenizer does.
std::vector<std::string> apply_bpe(std::vector<std::string> pieces,
                                   const std::map<std::pair<std::string, std::string>, size_t>& rank) {
  while (pieces.size() > 1) {
    size_t best = SIZE_MAX, at = 0;
    for (size_t i = 0; i + 1 < pieces.size(); ++i) {
      auto it = rank.find({pieces[i], pieces[i + 1]});
      if (it != rank.end() && it->second < best) best = it->second, at = i;
    }
    if (best == SIZE_MAX) break;
    const auto pair = std::make_pair(pieces[at], pieces[at + 1]);
    std::vector<std::string> next;  // merge every occurrence of the pair, left to right
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (i + 1 < pieces.size() && pieces[i] == pair.first && pieces[i + 1] == pair.second) {
        next.push_back(pair.first + pair.second);
        ++i;
      } else {
        next.push_back(pieces[i]);
      }
    }
    pieces = std::move(next);
  }
  return pieces;
}

}  // namespace

std::vector<std::string> clip_byte_characters() {
  // bs = [!..~] + [¡..¬] + [®..ÿ] map to themselves; the other bytes to 256, 257, ... in byte order.
  std::vector<std::string> out(256);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    out[size_t(b)] = utf8(printable ? b : 256 + n++);
  }
  return out;
}

BpeVocabulary build_bpe_vocabulary(const std::vector<std::string>& words) {
  const auto chars = clip_byte_characters();
  // openai/CLIP's base order: bytes in bs order (printables first, then the remapped ones).
  std::vector<int> order;
  for (int b = 0; b < 256; ++b)
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) order.push_back(b);
  for (int b = 0; b < 256; ++b)
    if (std::find(order.begin(), order.end(), b) == order.end()) order.push_back(b);
  BpeVocabulary v;
  for (int b : order) v.tokens.push_back(chars[size_t(b)]);
  for (int b : order) v.tokens.push_back(chars[size_t(b)] + "</w>");

  std::map<std::pair<std::string, std::string>, size_t> rank;
  for (const std::string& w : words) {
    DAG_CHECK(!w.empty(), "BPE vocabulary: empty word");
    std::vector<std::string> pieces;
    for (unsigned char c : w) pieces.push_back(chars[c]);
    pieces.back() += "</w>";
    for (;;) {
      pieces = apply_bpe(pieces, rank);
      if (pieces.size() == 1) break;
      const auto pair = std::make_pair(pieces[0], pieces[1]);
      rank.emplace(pair, v.merges.size());
      v.merges.push_back(pair);
      v.tokens.push_back(pair.first + pair.second);
    }
  }
  v.tokens.push_back("<|startoftext|>");
  v.tokens.push_back("<|endoftext|>");
  return v;
}

void write_tokenizer_folder(const std::string& dir, const BpeVocabulary& vocab, int64_t max_length) {
  std::filesystem::create_directories(dir);
  nlohmann::json v = nlohmann::json::object();
  for (size_t i = 0; i < vocab.tokens.size(); ++i) v[vocab.tokens[i]] = i;
  write_json_file(dir + "/vocab.json", v);
  {
    const std::string path = dir + "/merges.txt";
    std::ofstream out(path, std::ios::trunc);
    DAG_CHECK(out, "cannot write ", path);
    out << "#version: 0.2\n";
    for (const auto& [a, b] : vocab.merges) out << a << ' ' << b << '\n';
    DAG_CHECK(out.good(), "write to ", path, " failed");
  }
  const nlohmann::json specials = {{"bos_token", "<|startoftext|>"}, {"eos_token", "<|endoftext|>"},
                                   {"unk_token", "<|endoftext|>"}, {"pad_token", "<|endoftext|>"}};
  nlohmann::json cfg = specials;
  cfg["model_max_length"] = max_length;
  cfg["do_lower_case"] = true;
  cfg["tokenizer_class"] = "CLIPTokenizer";
  write_json_file(dir + "/tokenizer_config.json", cfg);
  write_json_file(dir + "/special_tokens_map.json", specials);
}

}  // namespace dagalign::shapes
