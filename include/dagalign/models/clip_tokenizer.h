#pragma once
// The CLIP byte-level BPE tokenizer (openai/CLIP clip/simple_tokenizer.py; HF CLIPTokenizer), reading a
// diffusers `tokenizer/` folder (vocab.json + merges.txt [+ tokenizer_config.json, special_tokens_map.json]).
//
// encode(text):
//   0. special tokens (<|startoftext|>, <|endoftext|>, a pad token such as "!") are split off the raw text
//      and map to their ids directly (transformers' added tokens);
//   1. normalize: NFC; every run of White_Space -> " "; lowercase (full per-code-point mapping, no context);
//   2. split with 's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//      (categories on Unicode code points, ICU); text outside matches (whitespace) is dropped;
//   3. each piece -> UTF-8 bytes -> bytes_to_unicode characters; "</w>" appended to the last character;
//   4. BPE: repeatedly merge the adjacent pair of lowest merge rank (merges.txt line order), per piece cached;
//   5. tokens -> ids through vocab.json.
// encode_padded(text) = [<|startoftext|>] + ids[:max_length-2] + [<|endoftext|>] + pad to max_length with the
// configured pad token (SD 1.5: <|endoftext|> 49407; SD 2.x: "!" 0).
//
// The default (ClipTextCleaning::transformers) reproduces transformers' CLIPTokenizer (tokenizers backend,
// transformers >= 5), which diffusers pipelines use. ClipTextCleaning::openai reproduces openai's
// clip/simple_tokenizer.py, which runs ftfy.fix_text and html.unescape twice first; ftfy has no C++ port,
// so only this subset of it is done: HTML entities (numeric, and amp/lt/gt/quot/apos/nbsp/copy/reg), C1
// controls read as Windows-1252, Latin ligatures, full-/half-width folding, curly-quote uncurling,
// terminal-escape and control-character removal, NFC; then Python's strip, \s+ -> " ", str.lower (with
// final sigma) and the split pattern with <|startoftext|>/<|endoftext|> as alternatives.
// Skipped: mojibake repair (ftfy fix_encoding, e.g. "cafÃ©" -> "café") and the other ~2,200 named HTML
// entities. tests/data/clip/README.md.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign {

enum class ClipTextCleaning { transformers, openai };

class ClipTokenizer {
 public:
  // vocab_json, merges_txt: file paths. pad_token: a vocabulary token (e.g. "<|endoftext|>" or "!").
  ClipTokenizer(const std::string& vocab_json, const std::string& merges_txt,
                const std::string& pad_token = "<|endoftext|>", int64_t max_length = 77,
                ClipTextCleaning cleaning = ClipTextCleaning::transformers);
  // <dir>/vocab.json, <dir>/merges.txt; pad token and model_max_length from tokenizer_config.json or
  // special_tokens_map.json when present (defaults "<|endoftext|>", 77).
  static ClipTokenizer from_folder(const std::string& dir, ClipTextCleaning cleaning = ClipTextCleaning::transformers);

  std::string normalize(const std::string& text) const;                   // step 1 (UTF-8 in and out)
  std::vector<std::string> pre_tokenize(const std::string& normalized) const;  // step 2
  std::vector<std::string> bpe(const std::string& piece) const;            // steps 3-4: BPE tokens of a piece
  std::vector<int64_t> encode(const std::string& text) const;              // ids, no framing, no truncation
  std::vector<int64_t> encode_padded(const std::string& text) const;       // max_length ids
  at::Tensor encode_batch(const std::vector<std::string>& texts) const;    // (B, max_length) int64

  int64_t token_id(const std::string& token) const;  // throws naming the vocabulary file
  int64_t bos_id() const { return bos_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t pad_id() const { return pad_id_; }
  int64_t max_length() const { return max_length_; }
  int64_t vocab_size() const { return int64_t(vocab_.size()); }

 private:
  std::vector<int64_t> piece_ids(const std::string& piece) const;  // bpe + vocabulary, cached
  std::vector<int64_t> encode_openai(const std::string& text) const;

  ClipTextCleaning cleaning_;
  std::string vocab_path_;
  std::vector<std::string> specials_;  // split off the raw text before normalization
  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<std::string, int32_t> ranks_;  // "first second" -> merge rank
  std::string byte_char_[256];                      // bytes_to_unicode, as UTF-8
  int64_t bos_id_ = 0, eos_id_ = 0, pad_id_ = 0, max_length_ = 77;
  struct Cache {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int64_t>> ids;  // piece -> ids
  };
  std::unique_ptr<Cache> cache_ = std::make_unique<Cache>();
};

}  // namespace dagalign
