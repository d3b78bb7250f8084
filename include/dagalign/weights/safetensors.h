#pragma once
// safetensors files (https://github.com/huggingface/safetensors): u64 little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets:[begin,end)}, "__metadata__": {str: str}}, data.
// The reader validates the header as the format specifies and names the file and tensor on any error.
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

namespace dagalign {

using TensorMap = std::map<std::string, at::Tensor>;
using Metadata = std::map<std::string, std::string>;

// Reads every tensor (F32, F16, BF16, I64, ... as their at:: dtypes, CPU, owning memory).
TensorMap read_safetensors(const std::string& path, Metadata* metadata = nullptr);
// Writes tensors (made contiguous, CPU) in the canonical layout; atomically (temporary file, fsync, rename).
void write_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

}  // namespace dagalign
