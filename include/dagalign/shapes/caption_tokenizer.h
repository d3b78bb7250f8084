#pragma once
// A CLIP byte-level BPE vocabulary built for the caption language of the tiny world, written as a diffusers
// `tokenizer/` folder that ClipTokenizer (and transformers' CLIPTokenizer) reads:
//   vocab.json   the 256 byte characters of bytes_to_unicode, the same with "</w>", one token per merge,
//                then <|startoftext|> and <|endoftext|> (openai/CLIP's order)
//   merges.txt   "#version: 0.2" then one "first second" per line, in rank order
// Merges are grown word by word until every caption word is one token: simulate BPE (repeatedly merge the
// adjacent pair of lowest rank) on "w o r d</w>"; while it ends in more than one piece, append the merge
// of its first two pieces (a new merge has the highest rank, so it fires only after every existing one,
// and words that already end as one piece have no pair left for it to change).
#include <cstdint>
#include <string>
#include <vector>

namespace dagalign::shapes {

struct BpeVocabulary {
  std::vector<std::string> tokens;  // id -> token
  std::vector<std::pair<std::string, std::string>> merges;  // rank order
};

// bytes_to_unicode of openai/CLIP: byte -> its printable character (UTF-8).
std::vector<std::string> clip_byte_characters();

// The vocabulary for `words` (lowercase ASCII words of the caption language).
BpeVocabulary build_bpe_vocabulary(const std::vector<std::string>& words);

// Writes vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json into `dir` (created);
// model_max_length = max_length, pad token <|endoftext|> (as SD 1.5).
void write_tokenizer_folder(const std::string& dir, const BpeVocabulary& vocab, int64_t max_length);

}  // namespace dagalign::shapes
