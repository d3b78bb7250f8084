#include "dagalign/rewards/jpeg.h"

#include <turbojpeg.h>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/rewards/images.h"

namespace dagalign {

namespace {

size_t encode_size(tjhandle h, const uint8_t* rgb, int height, int width, int quality) {
  DAG_CHECK(quality >= 1 && quality <= 100, "jpeg: quality must be in [1, 100], found ", quality);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  // PIL's defaults: 4:2:0, accurate DCT, no Huffman optimisation (tjCompress2 never optimises unless asked)
  const int rc = tjCompress2(h, rgb, width, 0, height, TJPF_RGB, &buf, &size, TJSAMP_420, quality,
                             TJFLAG_ACCURATEDCT);
  if (rc != 0) {
    const std::string msg = tjGetErrorStr2(h);
    if (buf) tjFree(buf);
    throw Error(cat("jpeg: libjpeg-turbo failed to encode a ", height, "x", width, " image: ", msg));
  }
  tjFree(buf);
  return static_cast<size_t>(size);
}

}  // namespace

size_t jpeg_size(const uint8_t* rgb, int height, int width, int quality) {
  tjhandle h = tjInitCompress();
  DAG_CHECK(h != nullptr, "jpeg: tjInitCompress failed: ", tjGetErrorStr2(nullptr));
  try {
    const size_t n = encode_size(h, rgb, height, width, quality);
    tjDestroy(h);
    return n;
  } catch (...) {
    tjDestroy(h);
    throw;
  }
}

JpegReward::JpegReward(bool compressible, int quality)
    : compressible_(compressible), quality_(quality), handle_(tjInitCompress()) {
  DAG_CHECK(handle_ != nullptr, "reward '", name(), "': tjInitCompress failed: ", tjGetErrorStr2(nullptr));
  DAG_CHECK(quality >= 1 && quality <= 100, "reward '", name(), "': quality must be in [1, 100], found ", quality);
}

JpegReward::~JpegReward() { tjDestroy(static_cast<tjhandle>(handle_)); }

std::string JpegReward::name() const { return compressible_ ? "jpeg_compressibility" : "jpeg_incompressibility"; }

at::Tensor JpegReward::score(const at::Tensor& samples, const std::vector<std::string>& prompts) {
  const std::string nm = name();
  at::Tensor u8 = to_uint8_nhwc(samples, nm.c_str());  // (B, H, W, C)
  DAG_CHECK(u8.size(3) == 3, "reward '", nm, "': expected RGB images (C = 3), found shape ", samples.sizes());
  const int64_t B = u8.size(0), H = u8.size(1), W = u8.size(2);
  at::Tensor out = at::empty({B}, at::kFloat);
  float* o = out.data_ptr<float>();
  const uint8_t* p = u8.data_ptr<uint8_t>();
  for (int64_t i = 0; i < B; ++i) {
    // r = bytes / 1000 (kB); compressibility r = -kB
    const double kb = static_cast<double>(encode_size(static_cast<tjhandle>(handle_), p + i * H * W * 3,
                                                      static_cast<int>(H), static_cast<int>(W), quality_)) / 1000.0;
    o[i] = static_cast<float>(compressible_ ? -kb : kb);
  }
  check_scores(nm, out, B);
  return out;
}

}  // namespace dagalign
