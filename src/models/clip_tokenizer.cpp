// CLIP byte-level BPE tokenizer; see the header for the steps. Unicode categories, NFC and case mapping
// come from ICU (the same tables the reference's regex engine and normalizers are built from).
#include "dagalign/models/clip_tokenizer.h"

#include <algorithm>
#include <cctype>
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


// ---- openai/CLIP simple_tokenizer cleaning (a subset of ftfy.fix_text, html.unescape, str.lower) ----

using U32 = std::vector<UChar32>;

std::string to_utf8(const U32& s) { return to_utf8(s, 0, s.size()); }

// Python str.isspace: general category Zs, or bidirectional class WS, B or S (\s of Python's re on str).
bool py_isspace(UChar32 c) {
  if (u_charType(c) == U_SPACE_SEPARATOR) return true;
  const auto d = u_charDirection(c);
  return d == U_WHITE_SPACE_NEUTRAL || d == U_BLOCK_SEPARATOR || d == U_SEGMENT_SEPARATOR;
}

bool is_alnum_ascii(UChar32 c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// U+0080..U+009F read as the Windows-1252 bytes they most likely were ("sloppy": the five bytes cp1252
// leaves undefined stay as they are) -- ftfy fix_c1_controls and Python html's _invalid_charrefs.
UChar32 sloppy_cp1252(UChar32 c) {
  static const UChar32 table[32] = {0x20AC, 0x81,   0x201A, 0x192,  0x201E, 0x2026, 0x2020, 0x2021,
                                    0x2C6,  0x2030, 0x160,  0x2039, 0x152,  0x8D,   0x17D,  0x8F,
                                    0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                    0x2DC,  0x2122, 0x161,  0x203A, 0x153,  0x9D,   0x17E,  0x178};
  return c >= 0x80 && c <= 0x9F ? table[c - 0x80] : c;
}

// ftfy remove_control_chars: U+0000-0008, 000B, 000E-001F, 007F, 206A-206F, FEFF, FFF9-FFFC.
bool ftfy_control(UChar32 c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// A numeric character reference's replacement as Python's html.unescape gives it; false = keep the text.
bool numeric_reference(uint64_t num, U32& out) {
  if (num >= 0x80 && num <= 0x9F) {
    out.push_back(sloppy_cp1252(UChar32(num)));
    return true;
  }
  if (num == 0 || (num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
    out.push_back(0xFFFD);
    return true;
  }
  const bool invalid = (num >= 0x1 && num <= 0x8) || num == 0xB || (num >= 0xE && num <= 0x1F) ||
                       (num >= 0x7F && num <= 0x9F) || (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE;
  if (!invalid) out.push_back(UChar32(num));  // invalid code points are dropped
  return true;
}

const std::pair<const char*, UChar32> kNamedEntities[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0}, {"copy", 0xA9}, {"reg", 0xAE}};
// Entities Python also decodes without the semicolon (html.entities.html5 keys without ';').
bool legacy_entity(const std::string& name) { return name != "apos"; }

// Decodes "&#123;", "&#x1F;" (semicolon optional in html mode) and the named entities above at s[i] ('&').
// ftfy mode: only the form "&#?[0-9A-Za-z]{1,24};" and, for numbers, only when html.unescape succeeds.
bool decode_entity(const U32& s, size_t& i, U32& out, bool ftfy_mode) {
  size_t j = i + 1;
  if (j < s.size() && s[j] == '#') {
    ++j;
    const bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
    if (hex) ++j;
    size_t k = j;
    uint64_t num = 0;
    while (k < s.size() && (hex ? std::isxdigit(int(s[k] < 128 ? s[k] : 0)) : (s[k] >= '0' && s[k] <= '9'))) {
      if (num <= 0x10FFFFFF) num = num * (hex ? 16 : 10) + uint64_t(std::isdigit(int(s[k])) ? s[k] - '0' : (std::tolower(int(s[k])) - 'a' + 10));
      ++k;
    }
    if (k == j) return false;
    const bool semi = k < s.size() && s[k] == ';';
    if (ftfy_mode && !semi) return false;
    U32 rep;
    if (!numeric_reference(num, rep)) return false;
    out.insert(out.end(), rep.begin(), rep.end());
    i = k + (semi ? 1 : 0);
    return true;
  }
  for (const auto& [name, ch] : kNamedEntities) {
    const size_t n = std::strlen(name);
    if (!starts_with(s, j, name)) continue;
    const bool semi = j + n < s.size() && s[j + n] == ';';
    if (!semi && (ftfy_mode || !legacy_entity(name))) continue;
    if (ftfy_mode) {  // ftfy only touches "&#?[0-9A-Za-z]{1,24};" matches: the name must end at the ';'
      out.push_back(ch);
      i = j + n + 1;
      return true;
    }
    out.push_back(ch);
    i = j + n + (semi ? 1 : 0);
    return true;
  }
  return false;
}

U32 unescape(const U32& s, bool ftfy_mode) {
  U32 out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '&' && decode_entity(s, i, out, ftfy_mode)) continue;
    out.push_back(s[i++]);
  }
  return out;
}

// ftfy, in its order: fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes
// (chardata.py LIGATURES, WIDTH_MAP, *_QUOTE_RE), remove_terminal_escapes, remove_control_chars.
// (fix_line_breaks only turns line separators into "\n", which whitespace_clean collapses anyway.)
U32 ftfy_char_fixes(const U32& s) {
  static const std::pair<UChar32, const char*> ligatures[] = {
      {0x132, "IJ"}, {0x133, "ij"}, {0x149, "\xCA\xBCn"}, {0x1F1, "DZ"}, {0x1F2, "Dz"}, {0x1F3, "dz"},
      {0x1C4, "D\xC5\xBD"}, {0x1C5, "D\xC5\xBE"}, {0x1C6, "d\xC5\xBE"}, {0x1C7, "LJ"}, {0x1C8, "Lj"}, {0x1C9, "lj"},
      {0x1CA, "NJ"}, {0x1CB, "Nj"}, {0x1CC, "nj"}, {0xFB00, "ff"}, {0xFB01, "fi"}, {0xFB02, "fl"},
      {0xFB03, "ffi"}, {0xFB04, "ffl"}, {0xFB05, "\xC5\xBFt"}, {0xFB06, "st"}};
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  DAG_CHECK(U_SUCCESS(status), "CLIP tokenizer: ICU NFKC normalizer unavailable");
  U32 out;
  for (size_t i = 0; i < s.size(); ++i) {
    // remove_terminal_escapes: ESC [ [0-9;]* [A-Za-z]
    if (s[i] == 0x1B && i + 1 < s.size() && s[i + 1] == '[') {
      size_t j = i + 2;
      while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';')) ++j;
      if (j < s.size() && s[j] < 128 && std::isalpha(int(s[j]))) {
        i = j;
        continue;
      }
    }
    const UChar32 c = sloppy_cp1252(s[i]);  // fix_c1_controls
    if (ftfy_control(c)) continue;          // remove_control_chars
    const char* lig = nullptr;
    for (const auto& [from, to] : ligatures)
      if (c == from) lig = to;
    if (lig) {
      const auto cps = code_points(lig);
      out.insert(out.end(), cps.begin(), cps.end());
    } else if (c == 0x3000) {
      out.push_back(' ');
    } else if (c >= 0xFF01 && c < 0xFFF0) {  // width map: NFKC of the half-/full-width forms
      std::string folded;
      nfkc->normalize(icu::UnicodeString(c), status).toUTF8String(folded);
      const auto cps = code_points(folded);
      out.insert(out.end(), cps.begin(), cps.end());
    } else if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) {
      out.push_back('\'');
    } else if (c >= 0x201C && c <= 0x201F) {
      out.push_back('"');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

U32 nfc(const U32& s) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
  std::string out;
  n->normalize(icu::UnicodeString::fromUTF8(to_utf8(s)), status).toUTF8String(out);
  DAG_CHECK(U_SUCCESS(status), "CLIP tokenizer: NFC failed (", u_errorName(status), ")");
  return code_points(out);
}

// ftfy.fix_text subset, repeated until nothing changes (ftfy's fix_and_explain loop).
U32 ftfy_subset(U32 s) {
  const bool html = std::find(s.begin(), s.end(), UChar32('<')) == s.end();  // unescape_html="auto"
  for (int round = 0; round < 8; ++round) {
    U32 t = html ? unescape(s, /*ftfy_mode=*/true) : s;
    t = nfc(ftfy_char_fixes(t));
    if (t == s) break;
    s = std::move(t);
  }
  return s;
}

U32 py_strip(const U32& s) {
  size_t b = 0, e = s.size();
  while (b < e && py_isspace(s[b])) ++b;
  while (e > b && py_isspace(s[e - 1])) --e;
  return U32(s.begin() + std::ptrdiff_t(b), s.begin() + std::ptrdiff_t(e));
}

}  // namespace

ClipTokenizer::ClipTokenizer(const std::string& vocab_json, const std::string& merges_txt,
                             const std::string& pad_token, int64_t max_length, ClipTextCleaning cleaning)
    : cleaning_(cleaning), vocab_path_(vocab_json), max_length_(max_length) {
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

ClipTokenizer ClipTokenizer::from_folder(const std::string& dir, ClipTextCleaning cleaning) {
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
                       max_length, cleaning);
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
  if (cleaning_ == ClipTextCleaning::openai) return encode_openai(text);
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

std::vector<int64_t> ClipTokenizer::encode_openai(const std::string& text) const {
  // basic_clean: ftfy.fix_text, html.unescape twice, strip; whitespace_clean: \s+ -> " ", strip; lower.
  U32 s = ftfy_subset(code_points(text));
  s = py_strip(unescape(unescape(s, false), false));
  U32 collapsed;
  for (size_t i = 0; i < s.size(); ++i) {
    collapsed.push_back(py_isspace(s[i]) ? UChar32(' ') : s[i]);
    while (py_isspace(s[i]) && i + 1 < s.size() && py_isspace(s[i + 1])) ++i;  // a run -> one space
  }
  std::string lowered;
  icu::UnicodeString::fromUTF8(to_utf8(py_strip(collapsed))).toLower(icu::Locale::getRoot()).toUTF8String(lowered);
  // The split pattern, <|startoftext|> and <|endoftext|> first, tried at each piece start.
  const auto cps = code_points(lowered);
  std::vector<int64_t> ids;
  size_t i = 0;
  while (i < cps.size()) {
    const std::string* special = nullptr;
    for (const auto* sp : {&kBos, &kEos})
      if (starts_with(cps, i, *sp)) special = sp;
    if (special) {
      ids.push_back(vocab_.at(*special));
      i += special->size();
      continue;
    }
    // One piece of the remaining alternatives (the same as pre_tokenize's) starting at i.
    size_t j = i;
    static const char* contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    for (const char* c : contractions)
      if (j == i && starts_with(cps, i, c)) j = i + std::strlen(c);
    if (j == i) {
      if (is_letter(cps[i])) {
        while (j < cps.size() && is_letter(cps[j])) ++j;
      } else if (is_number(cps[i])) {
        j = i + 1;
      } else if (!is_space(cps[i])) {
        while (j < cps.size() && !is_space(cps[j]) && !is_letter(cps[j]) && !is_number(cps[j])) ++j;
      } else {
        ++i;
        continue;
      }
    }
    const auto p = piece_ids(to_utf8(cps, i, j));
    ids.insert(ids.end(), p.begin(), p.end());
    i = j;
  }
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
