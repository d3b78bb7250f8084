// Tests of io/png.h (PNG writing, grids, the 5x7 font); they live with the rewards tests because the PNG
// writer is this area's file in the io module.
#include "dagalign/io/png.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"

using namespace dagalign;

namespace {

std::string temp_dir() {
  char d[] = "/tmp/dagalign-png-XXXXXX";
  EXPECT_NE(mkdtemp(d), nullptr);
  return d;
}

// Decodes with Debian's Python PIL (an independent PNG reader): raw RGB bytes, H, W.
std::vector<uint8_t> pil_rgb(const std::string& png, int* h, int* w) {
  const std::string raw = png + ".raw", dims = png + ".dims";
  const std::string cmd = "/usr/bin/python3 -c \"import sys; from PIL import Image; im = Image.open(sys.argv[1]); "
                          "open(sys.argv[3], 'w').write('%d %d %s' % (im.height, im.width, im.mode)); "
                          "open(sys.argv[2], 'wb').write(im.convert('RGB').tobytes())\" " +
                          png + " " + raw + " " + dims;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream d(dims);
  std::string mode;
  d >> *h >> *w >> mode;
  std::ifstream f(raw, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(Png, FloatChwRoundTripsThroughLibpngAndPil) {
  const std::string dir = temp_dir(), path = dir + "/x.png";
  at::manual_seed(0);
  at::Tensor x = at::rand({3, 13, 21});
  x[0][0][0] = -0.5f, x[1][0][0] = 1.7f;  // clamped
  write_png(path, x);
  at::Tensor want = (x * 255).round().clamp(0, 255).to(at::kByte).permute({1, 2, 0}).contiguous();
  at::Tensor back = read_png(path);
  EXPECT_TRUE(at::equal(back, want));
  int h = 0, w = 0;
  std::vector<uint8_t> pil = pil_rgb(path, &h, &w);
  ASSERT_EQ(h, 13);
  ASSERT_EQ(w, 21);
  ASSERT_EQ(pil.size(), static_cast<size_t>(13 * 21 * 3));
  EXPECT_EQ(std::memcmp(pil.data(), want.data_ptr<uint8_t>(), pil.size()), 0);
  EXPECT_EQ(access((path + ".tmp").c_str(), F_OK), -1);  // no temporary left behind
}

TEST(Png, Uint8GrayAndRgba) {
  const std::string dir = temp_dir();
  at::Tensor gray = at::arange(0, 240, 10).to(at::kByte).view({4, 6, 1});
  write_png(dir + "/g.png", gray);
  at::Tensor back = read_png(dir + "/g.png");
  EXPECT_TRUE(at::equal(back, gray.expand({4, 6, 3})));
  at::Tensor rgba = at::full({2, 2, 4}, 200, at::kByte);
  write_png(dir + "/a.png", rgba);
  int h, w;
  EXPECT_EQ(pil_rgb(dir + "/a.png", &h, &w), std::vector<uint8_t>(12, 200));
  EXPECT_THROW(write_png(dir + "/bad.png", at::zeros({2, 4, 4})), Error);
  EXPECT_THROW(write_png("/nonexistent-dir/x.png", gray), Error);
  EXPECT_THROW(read_png(dir + "/missing.png"), Error);
}

TEST(Png, GridPlacesCellsWithGaps) {
  const std::string dir = temp_dir(), path = dir + "/grid.png";
  at::manual_seed(1);
  at::Tensor imgs = at::rand({5, 3, 4, 6});
  GridOptions o;
  o.cols = 3, o.gap = 2, o.scale = 2;
  write_image_grid(path, imgs, o);
  at::Tensor g = read_png(path);
  // rows = 2, cols = 3, cell 8 x 12: H = 2*8 + 3*2 = 22, W = 3*12 + 4*2 = 44
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{22, 44, 3}));
  at::Tensor u8 = (imgs * 255).round().clamp(0, 255).to(at::kByte);
  for (int i = 0; i < 5; ++i) {
    const int y0 = 2 + (i / 3) * 10, x0 = 2 + (i % 3) * 14;
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 12; ++x)
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(g[y0 + y][x0 + x][c].item<uint8_t>(), u8[i][c][y / 2][x / 2].item<uint8_t>()) << i;
  }
  EXPECT_TRUE((g.slice(0, 0, 2) == 255).all().item<bool>());                          // top gap
  EXPECT_TRUE((g.slice(0, 12, 22).slice(1, 30, 44) == 255).all().item<bool>());       // empty 6th cell
}

TEST(Png, GridLabelsAndSidecar) {
  const std::string dir = temp_dir(), path = dir + "/grid.png";
  at::Tensor imgs = at::zeros({2, 3, 32, 32});
  GridOptions o;
  o.scale = 2;
  o.labels = {"r=1.25 a red circle on a blue background", "r=-0.5"};
  write_image_grid(path, imgs, o);
  at::Tensor g = read_png(path);
  // cols = 2, rows = 1; cell 64 x 64 + label strip 2*8 + 2
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{2 + 64 + 18 + 2, 2 * 64 + 3 * 2, 3}));
  at::Tensor strip = g.slice(0, 66, 84);
  EXPECT_GT((strip.slice(1, 2, 66) == 0).sum().item<int64_t>(), 100);  // ink in the first label
  std::ifstream f(path + ".json");
  ASSERT_TRUE(f.good());
  nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_EQ(j["cols"], 2);
  EXPECT_EQ(j["cells"][0]["label"], o.labels[0]);
  EXPECT_EQ(j["cells"][1]["x"], 2 + 64 + 2);
  o.labels = {"only one"};
  EXPECT_THROW(write_image_grid(path, imgs, o), Error);
}

// The font draws each glyph's '#' cells: "H" has 17 ink pixels (2 columns of 7 + 3 in the bar), "1" has 10 (1+2+1+1+1+1+3),
// lower case maps to upper case, and an unknown character is a box outline (20 pixels).
TEST(Png, FontGlyphs) {
  auto ink = [](const std::string& s) {
    at::Tensor c = at::full({9, 6 * static_cast<int64_t>(s.size()) + 2, 3}, 255, at::kByte);
    draw_text(c, 1, 1, s, {0, 0, 0});
    return (c.select(2, 0) == 0).sum().item<int64_t>();
  };
  EXPECT_EQ(ink("H"), 17);
  EXPECT_EQ(ink("h"), 17);
  EXPECT_EQ(ink("1"), 10);
  EXPECT_EQ(ink(" "), 0);
  EXPECT_EQ(ink("\x01"), 20);
  EXPECT_EQ(ink("HH"), 34);
  at::Tensor c = at::full({9, 8, 3}, 255, at::kByte);
  draw_text(c, 1, 1, "L", {0, 0, 0});
  for (int y = 1; y <= 7; ++y) EXPECT_EQ(c[y][1][0].item<uint8_t>(), 0);  // the L's stem
  for (int x = 1; x <= 5; ++x) EXPECT_EQ(c[7][x][0].item<uint8_t>(), 0);  // and its foot
  EXPECT_EQ(c[1][2][0].item<uint8_t>(), 255);
}
