// CLIP byte-level BPE tokenizer; see the header for the steps. Unicode categories, NFC and case mapping
// come from ICU (the same tables the reference's regex engine and normalizers are built from).
#include "dagalign/models/clip_tokenizer.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include "dagalign/core/error.h"

namespace dagalign {
namespace {

const std::string kBos = "<|startoftext|>";
const std::string kEos = "<|endoftext|>";
const std::string kEndOfWord = "</w>";

std::string utf8(UChar32 c) {
  std::string out;
  icu::UnicodeString(c).toUTF8String(out);
  return out;
}

// Decodes UTF-8 into code points; invalid input is an error naming the text.
std::vector<UChar32> code_points(const std::string& s) {
  std::vector<UChar32> out;
  out.reserve(s.size());
  int32_t i = 0;
  const int32_t n = int32_t(s.size());
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  while (i < n) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    DAG_CHECK(c >= 0, "CLIP tokenizer: text is not valid UTF-8 (byte ", i, "): \"", s, "\"");
    out.push_back(c);
  }
  return out;
}

bool is_letter(UChar32 c) {  // \p{L} = Lu | Ll | Lt | Lm | Lo
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER: case U_LOWERCASE_LETTER: case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER: case U_OTHER_LETTER:
      return true;
    default:
      return false;
  }
}
bool is_number(UChar32 c) {  // \p{N} = Nd | Nl | No
  switch (u_charType(c)) {
    case U_DECIMAL_DIGIT_NUMBER: case U_LETTER_NUMBER: case U_OTHER_NUMBER:
      return true;
    default:
      return false;
  }
}
bool is_space(UChar32 c) { return u_hasBinaryProperty(c, UCHAR_WHITE_SPACE); }  // \s

// openai/CLIP bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100 + n in byte order, so every byte has a visible, non-space character.
void build_byte_chars(std::string (&out)[256]) {
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    out[b] = utf8(printable ? b : 256 + n++);
  }
}

bool starts_with(const std::vector<UChar32>& s, size_t i, const std::string& ascii) {
  if (i + ascii.size() > s.size()) return false;
  for (size_t k = 0; k < ascii.size(); ++k)
    if (s[i + k] != UChar32(uint8_t(ascii[k]))) return false;
  return true;
}

std::string to_utf8(const std::vector<UChar32>& s, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) out += utf8(s[i]);
  return out;
}

// A special token given in tokenizer_config.json as a string or as {"content": "..."}.
std::string token_string(const nlohmann::json& v, const std::string& file, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  throw ConfigError(cat("tokenizer config ", file, ": key '", key, "' is neither a string nor {\"content\": ...}: ",
                        v.dump()));
}

}  // namespace

ClipTokenizer::ClipTokenizer(const std::string& vocab_json, const std::string& merges_txt,
                             const std::string& pad_token, int64_t max_length)
    : vocab_path_(vocab_json), max_length_(max_length) {
  build_byte_chars(byte_char_);
  {
    std::ifstream in(vocab_json);
    DAG_CHECK(in, "CLIP vocabulary ", vocab_json, ": cannot open");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw Error(cat("CLIP vocabulary ", vocab_json, ": invalid JSON: ", e.what()));
    }
    DAG_CHECK(j.is_object(), "CLIP vocabulary ", vocab_json, ": expected an object {token: id}");
    for (auto it = j.begin(); it != j.end(); ++it) {
      DAG_CHECK(it.value().is_number_integer(), "CLIP vocabulary ", vocab_json, ": token '", it.key(),
                "' has a non-integer id ", it.value().dump());
      vocab_[it.key()] = it.value().get<int64_t>();
    }
  }
  {
    std::ifstream in(merges_txt);
    DAG_CHECK(in, "CLIP merges ", merges_txt, ": cannot open");
    std::string line;
    int32_t rank = 0;
    int64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
      const auto sp = line.find(' ');
      DAG_CHECK(sp != std::string::npos && sp > 0 && sp + 1 < line.size() && line.find(' ', sp + 1) == std::string::npos,
                "CLIP merges ", merges_txt, ": line ", line_no, " is not 'first second': '", line, "'");
      ranks_.emplace(line, rank++);  // first occurrence wins, as in dict(zip(merges, range(...)))
    }
    DAG_CHECK(rank > 0, "CLIP merges ", merges_txt, ": no merges");
  }
  bos_id_ = token_id(kBos);
  eos_id_ = token_id(kEos);
  pad_id_ = token_id(pad_token);
  specials_ = {kBos, kEos};
  if (pad_token != kBos && pad_token != kEos) specials_.push_back(pad_token);
  DAG_CHECK(max_length_ >= 2, "CLIP tokenizer: max_length ", max_length_, " leaves no room for <|startoftext|> and <|endoftext|>");
  for (int b = 0; b < 256; ++b) {
    token_id(byte_char_[b]);  // every byte is a token, so no piece is ever unknown
    token_id(byte_char_[b] + kEndOfWord);
  }
}

ClipTokenizer ClipTokenizer::from_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  std::string pad = kEos;
  int64_t max_length = 77;
  for (const char* name : {"special_tokens_map.json", "tokenizer_config.json"}) {  // the latter wins
    const auto path = (fs::path(dir) / name).string();
    if (!fs::exists(path)) continue;
    std::ifstream in(path);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw ConfigError(cat("tokenizer config ", path, ": invalid JSON: ", e.what()));
    }
    if (j.contains("pad_token") && !j["pad_token"].is_null()) pad = token_string(j["pad_token"], path, "pad_token");
    if (j.contains("model_max_length") && j["model_max_length"].is_number_integer()) {
      const auto m = j["model_max_length"].get<int64_t>();
      if (m < 1000000) max_length = m;  // transformers writes 1e30 for "no limit"
    }
  }
  return ClipTokenizer((fs::path(dir) / "vocab.json").string(), (fs::path(dir) / "merges.txt").string(), pad,
                       max_length);
}

int64_t ClipTokenizer::token_id(const std::string& token) const {
  auto it = vocab_.find(token);
  DAG_CHECK(it != vocab_.end(), "CLIP vocabulary ", vocab_path_, ": no token '", token, "'");
  return it->second;
}

std::string ClipTokenizer::normalize(const std::string& text) const {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  DAG_CHECK(U_SUCCESS(status), "CLIP tokenizer: ICU NFC normalizer unavailable (", u_errorName(status), ")");
  std::string composed;
  if (std::all_of(text.begin(), text.end(), [](char ch) { return uint8_t(ch) < 0x80; })) {
    composed = text;  // ASCII is already in NFC
  } else {
    code_points(text);  // validates UTF-8 with a clear error
    icu::UnicodeString s = nfc->normalize(icu::UnicodeString::fromUTF8(text), status);
    DAG_CHECK(U_SUCCESS(status), "CLIP tokenizer: NFC failed (", u_errorName(status), ") for \"", text, "\"");
    s.toUTF8String(composed);
  }
  // \s+ -> " ", then lowercase each code point on its own (full mapping, e.g. U+0130 -> "i\u0307"; no
  // final-sigma context, like tokenizers' Lowercase normalizer).
  std::string out;
  bool in_space = false;
  for (UChar32 c : code_points(composed)) {
    if (is_space(c)) {
      if (!in_space) out += ' ';
      in_space = true;
      continue;
    }
    in_space = false;
    if (c < 0x80) {
      out += char(c >= 'A' && c <= 'Z' ? c + 32 : c);
    } else {
      icu::UnicodeString one(c);
      one.toLower(icu::Locale::getRoot()).toUTF8String(out);
    }
  }
  return out;
}

std::vector<std::string> ClipTokenizer::pre_tokenize(const std::string& normalized) const {
  // The pattern's <|startoftext|>|<|endoftext|> alternatives are left out: special tokens are split off the
  // raw text before normalization (encode), and in the reference a literal that reaches this stage is
  // re-split by the byte-level pre-tokenizer into "<|", "endoftext", "|>" -- what the remaining
  // alternatives give.
  static const char* contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  const auto s = code_points(normalized);
  std::vector<std::string> pieces;
  size_t i = 0;
  while (i < s.size()) {
    // Alternatives in the pattern's order; the first that matches at i wins (leftmost-first).
    bool matched = false;
    for (const char* c : contractions) {
      if (starts_with(s, i, c)) {
        pieces.emplace_back(c);
        i += std::strlen(c);
        matched = true;
        break;
      }
    }
    if (matched) continue;
    size_t j = i;
    if (is_letter(s[i])) {  // [\p{L}]+
      while (j < s.size() && is_letter(s[j])) ++j;
    } else if (is_number(s[i])) {  // [\p{N}]
      j = i + 1;
    } else if (!is_space(s[i])) {  // [^\s\p{L}\p{N}]+
      while (j < s.size() && !is_space(s[j]) && !is_letter(s[j]) && !is_number(s[j])) ++j;
    } else {  // whitespace: not part of any piece
      ++i;
      continue;
    }
    pieces.push_back(to_utf8(s, i, j));
    i = j;
  }
  return pieces;
}

std::vector<std::string> ClipTokenizer::bpe(const std::string& piece) const {
  // word = bytes_to_unicode characters, "</w>" joined to the last one.
  std::vector<std::string> word;
  for (unsigned char b : piece) word.push_back(byte_char_[b]);
  if (word.empty()) return {};
  word.back() += kEndOfWord;
  // Merge the lowest-ranked adjacent pair everywhere it occurs (left to right), until no pair is a merge.
  while (word.size() > 1) {
    int32_t best = std::numeric_limits<int32_t>::max();
    size_t best_i = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks_.find(word[i] + " " + word[i + 1]);
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        best_i = i;
      }
    }
    if (best == std::numeric_limits<int32_t>::max()) break;
    const std::string first = word[best_i], second = word[best_i + 1];
    std::vector<std::string> merged;
    merged.reserve(word.size());
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(word[i++]);
      }
    }
    word.swap(merged);
  }
  return word;
}

std::vector<int64_t> ClipTokenizer::piece_ids(const std::string& piece) const {
  {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    auto it = cache_->ids.find(piece);
    if (it != cache_->ids.end()) return it->second;
  }
  std::vector<int64_t> ids;
  for (const auto& tok : bpe(piece)) {
    auto it = vocab_.find(tok);
    // A merge result missing from vocab.json maps to the unknown token (<|endoftext|>), as in transformers.
    ids.push_back(it == vocab_.end() ? eos_id_ : it->second);
  }
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (cache_->ids.size() > 100000) cache_->ids.clear();  // bounded
  cache_->ids.emplace(piece, ids);
  return ids;
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& text) const {
  // Special tokens (<|startoftext|>, <|endoftext|>, and the pad token when it is another token, e.g. "!"
  // for SD 2.x) are split off the raw text first, case-sensitively, and map to their ids directly -- the
  // reference registers them as added tokens. The text between them is normalized and split.
  std::vector<int64_t> ids;
  const auto encode_segment = [&](const std::string& segment) {
    if (segment.empty()) return;
    for (const auto& piece : pre_tokenize(normalize(segment))) {
      const auto p = piece_ids(piece);
      ids.insert(ids.end(), p.begin(), p.end());
    }
  };
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const std::string* hit = nullptr;
    for (const auto& special : specials_)
      if (text.compare(i, special.size(), special) == 0 && (!hit || special.size() > hit->size())) hit = &special;
    if (!hit) {
      ++i;
      continue;
    }
    encode_segment(text.substr(start, i - start));
    ids.push_back(vocab_.at(*hit));
    i += hit->size();
    start = i;
  }
  encode_segment(text.substr(start));
  return ids;
}

std::vector<int64_t> ClipTokenizer::encode_padded(const std::string& text) const {
  const auto ids = encode(text);
  std::vector<int64_t> out;
  out.reserve(size_t(max_length_));
  out.push_back(bos_id_);
  const size_t keep = std::min(ids.size(), size_t(max_length_ - 2));  // truncation counts the two specials
  out.insert(out.end(), ids.begin(), ids.begin() + std::ptrdiff_t(keep));
  out.push_back(eos_id_);
  out.resize(size_t(max_length_), pad_id_);
  return out;
}

at::Tensor ClipTokenizer::encode_batch(const std::vector<std::string>& texts) const {
  at::Tensor out = at::empty({int64_t(texts.size()), max_length_}, at::kLong);
  auto* p = out.data_ptr<int64_t>();
  for (size_t b = 0; b < texts.size(); ++b) {
    const auto ids = encode_padded(texts[b]);
    std::copy(ids.begin(), ids.end(), p + b * size_t(max_length_));
  }
  return out;
}

}  // namespace dagalign
