#pragma once
// JPEG (in)compressibility (docs/rewards.md, DDPO/DAG `jpeg_incompressibility`):
//   r = size of PIL's Image.save(format="JPEG", quality=95) in kB (bytes / 1000); compressibility is -r.
// Encoded with libjpeg-turbo (TurboJPEG API) under PIL's settings: RGB -> YCbCr, 4:2:0 chroma subsampling
// (libjpeg's default, which PIL keeps unless asked), baseline standard Huffman tables (no optimize),
// accurate integer DCT (JDCT_ISLOW, libjpeg's default; TurboJPEG would pick the fast DCT below quality 96
// without TJFLAG_ACCURATEDCT), JFIF header. The sizes equal PIL's byte for byte (tests/unit/rewards/test_jpeg.cpp).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dagalign/rewards/reward.h"

namespace dagalign {

// Size in bytes of the JPEG of one H x W x 3 uint8 RGB image (row-major).
size_t jpeg_size(const uint8_t* rgb, int height, int width, int quality = 95);

class JpegReward : public Reward {
 public:
  // compressible = true: r = -kB (jpeg_compressibility); false: r = +kB (jpeg_incompressibility).
  explicit JpegReward(bool compressible, int quality = 95);
  ~JpegReward() override;
  std::string name() const override;
  at::Tensor score(const at::Tensor& samples, const std::vector<std::string>& prompts) override;

 private:
  bool compressible_;
  int quality_;
  void* handle_;  // tjhandle
};

}  // namespace dagalign
