#include "dagalign/io/png.h"

#include <png.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"

namespace dagalign {

namespace {

at::Tensor to_hwc_u8(const at::Tensor& image, const std::string& path) {
  if (image.scalar_type() == at::kByte) {
    DAG_CHECK(image.dim() == 3 && (image.size(2) == 1 || image.size(2) == 3 || image.size(2) == 4),
              "png '", path, "': a uint8 image must be (H, W, C) with C in {1, 3, 4}, found shape ", image.sizes());
    return image.to(at::kCPU).contiguous();
  }
  DAG_CHECK(image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3 || image.size(0) == 4),
            "png '", path, "': a float image must be (C, H, W) with C in {1, 3, 4}, found shape ", image.sizes());
  // uint8 = round(x * 255).clamp(0, 255), CHW -> HWC
  return (image.to(at::kCPU, at::kFloat) * 255.0f).round().clamp(0, 255).to(at::kByte).permute({1, 2, 0}).contiguous();
}

// 5x7 glyphs, one string of 7 rows x 5 columns per character ('#' = ink).
const std::map<char, const char*>& font() {
  static const std::map<char, const char*> f = {
      {'A', " ### #   ##   #######   ##   ##   #"}, {'B', "#### #   ##   ##### #   ##   ##### "},
      {'C', " ### #   ##    #    #    #   # ### "}, {'D', "#### #   ##   ##   ##   ##   ##### "},
      {'E', "######    #    #### #    #    #####"}, {'F', "######    #    #### #    #    #    "},
      {'G', " ### #   ##    # ####   ##   # ### "}, {'H', "#   ##   ##   #######   ##   ##   #"},
      {'I', " ###   #    #    #    #    #   ### "}, {'J', "  ###   #    #    #    # #  #  ##  "},
      {'K', "#   ##  # # #  ##   # #  #  # #   #"}, {'L', "#    #    #    #    #    #    #####"},
      {'M', "#   ### ### # ##   ##   ##   ##   #"}, {'N', "#   ###  ## # ##  ###   ##   ##   #"},
      {'O', " ### #   ##   ##   ##   ##   # ### "}, {'P', "#### #   ##   ##### #    #    #    "},
      {'Q', " ### #   ##   ##   ## # ##  #  ## #"}, {'R', "#### #   ##   ##### # #  #  # #   #"},
      {'S', " ####    #     ###     #    #####  "}, {'T', "#####  #    #    #    #    #    #  "},
      {'U', "#   ##   ##   ##   ##   ##   # ### "}, {'V', "#   ##   ##   ##   ##   # # #   #  "},
      {'W', "#   ##   ##   ## # ## # ## # # # # "}, {'X', "#   ##   # # #   #   # # #   ##   #"},
      {'Y', "#   ##   # # #   #    #    #    #  "}, {'Z', "#####    #   #   #   #   #    #####"},
      {'0', " ### #   ##  ### # ###  ##   # ### "}, {'1', "  #   ##    #    #    #    #   ### "},
      {'2', " ### #   #    #   #   #   #   #####"}, {'3', "#####   #   #     #     ##   # ### "},
      {'4', "   #   ##  # # #  ######   #    #  "}, {'5', "######    ####     #    ##   # ### "},
      {'6', "  ##  #   #    #### #   ##   # ### "}, {'7', "#####    #   #   #   #    #    #   "},
      {'8', " ### #   ##   # ### #   ##   # ### "}, {'9', " ### #   ##   # ####    #   #  ##  "},
      {' ', "                                   "}, {'.', "                          ##   ##  "},
      {',', "                     ##   ##   #   "}, {'-', "               ###                 "},
      {'+', "       #    #  #####  #    #       "}, {'=', "          #####     #####          "},
      {':', "      ##   ##        ##   ##       "}, {'/', "         #   #   #   #   #         "},
      {'(', "   #   #   #    #    #     #     # "}, {')', " #     #     #    #    #   #   #   "},
      {'%', "##   ##  #   #   #   #   #  ##   ##"}, {'_', "                              #####"},
      {'\'', "  #    #   #                       "}, {'~', "      #   # # #   #                "},
      {'#', " # #  # # ##### # # ##### # #  # # "}, {'!', "  #    #    #    #    #         #  "},
      {'?', " ### #   #    #   #   #         #  "}, {'<', "   #   #   #   #     #     #     # "},
      {'>', " #     #     #     #   #   #   #   "}, {'*', "       # # # # #  ###  # # # # #   "},
  };
  return f;
}

void set_px(at::Tensor& hwc, int x, int y, std::array<uint8_t, 3> c) {
  const int H = static_cast<int>(hwc.size(0)), W = static_cast<int>(hwc.size(1));
  if (x < 0 || y < 0 || x >= W || y >= H) return;
  uint8_t* p = hwc.data_ptr<uint8_t>() + (static_cast<int64_t>(y) * W + x) * 3;
  p[0] = c[0], p[1] = c[1], p[2] = c[2];
}

// Wraps text into at most `lines` lines of at most `width` characters (at spaces when possible); a cut
// text ends with '~'.
std::vector<std::string> wrap(const std::string& text, int width, int lines) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size() && static_cast<int>(out.size()) < lines) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size()) break;
    size_t n = std::min(text.size() - i, static_cast<size_t>(width));
    if (i + n < text.size()) {
      const size_t sp = text.rfind(' ', i + n);
      if (sp != std::string::npos && sp > i) n = sp - i;
    }
    out.push_back(text.substr(i, n));
    i += n;
  }
  while (i < text.size() && text[i] == ' ') ++i;
  if (i < text.size() && !out.empty() && width > 0) {
    std::string& last = out.back();
    if (static_cast<int>(last.size()) >= width) last.resize(static_cast<size_t>(width - 1));
    last += '~';
  }
  return out;
}

}  // namespace

int draw_text(at::Tensor& hwc, int x, int y, const std::string& text, std::array<uint8_t, 3> colour) {
  DAG_CHECK(hwc.dim() == 3 && hwc.size(2) == 3 && hwc.scalar_type() == at::kByte && hwc.is_contiguous(),
            "draw_text: expected a contiguous uint8 (H, W, 3) image, found shape ", hwc.sizes());
  static const char* kBox = "######   ##   ##   ##   ##   ######";
  int n = 0;
  for (char ch : text) {
    const char up = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto it = font().find(up);
    const char* g = it == font().end() ? kBox : it->second;
    for (int r = 0; r < 7; ++r)
      for (int c = 0; c < 5; ++c)
        if (g[r * 5 + c] == '#') set_px(hwc, x + c, y + r, colour);
    x += 6;
    ++n;
  }
  return n;
}

void write_png(const std::string& path, const at::Tensor& image) {
  at::Tensor hwc = to_hwc_u8(image, path);
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.height = static_cast<png_uint_32>(hwc.size(0));
  img.width = static_cast<png_uint_32>(hwc.size(1));
  const int C = static_cast<int>(hwc.size(2));
  img.format = C == 1 ? PNG_FORMAT_GRAY : C == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  const std::string tmp = path + ".tmp";
  if (!png_image_write_to_file(&img, tmp.c_str(), 0, hwc.data_ptr<uint8_t>(), static_cast<png_int_32>(hwc.size(1) * C),
                               nullptr)) {
    std::remove(tmp.c_str());
    throw Error(cat("png '", path, "': write failed: ", img.message));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(cat("png '", path, "': cannot rename ", tmp, " to it: ", std::strerror(errno)));
  }
}

at::Tensor read_png(const std::string& path) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str()))
    throw Error(cat("png '", path, "': cannot read: ", img.message));
  img.format = PNG_FORMAT_RGB;
  at::Tensor out = at::empty({static_cast<int64_t>(img.height), static_cast<int64_t>(img.width), 3}, at::kByte);
  png_color black{0, 0, 0};
  if (!png_image_finish_read(&img, &black, out.data_ptr<uint8_t>(), 0, nullptr)) {
    png_image_free(&img);
    throw Error(cat("png '", path, "': cannot decode: ", img.message));
  }
  return out;
}

void write_image_grid(const std::string& path, const at::Tensor& images, const GridOptions& o) {
  DAG_CHECK(images.dim() == 4 && images.size(1) == 3, "png grid '", path,
            "': expected (B, 3, H, W) images, found shape ", images.sizes());
  const int B = static_cast<int>(images.size(0));
  DAG_CHECK(B > 0, "png grid '", path, "': no images");
  DAG_CHECK(o.labels.empty() || static_cast<int>(o.labels.size()) == B, "png grid '", path, "': ", B,
            " images but ", o.labels.size(), " labels");
  DAG_CHECK(o.scale >= 1 && o.gap >= 0 && o.cols >= 0 && o.label_lines >= 1, "png grid '", path,
            "': bad options (scale ", o.scale, ", gap ", o.gap, ", cols ", o.cols, ", label_lines ", o.label_lines, ")");
  const int cols = o.cols > 0 ? std::min(o.cols, B) : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(B))));
  const int rows = (B + cols - 1) / cols;
  const int h = static_cast<int>(images.size(2)) * o.scale, w = static_cast<int>(images.size(3)) * o.scale;
  const int label_h = o.labels.empty() ? 0 : 8 * o.label_lines + 2;
  const int cell_h = h + label_h;
  const int H = rows * cell_h + (rows + 1) * o.gap, W = cols * w + (cols + 1) * o.gap;
  at::Tensor canvas = at::empty({H, W, 3}, at::kByte);
  for (int c = 0; c < 3; ++c) canvas.select(2, c).fill_(static_cast<int64_t>(o.background[c]));
  // (B, 3, h0, w0) float -> (B, h, w, 3) uint8, nearest-neighbour scaled
  at::Tensor u8 = (images.to(at::kCPU, at::kFloat) * 255.0f).round().clamp(0, 255).to(at::kByte);
  if (o.scale > 1) u8 = u8.repeat_interleave(o.scale, 2).repeat_interleave(o.scale, 3);
  u8 = u8.permute({0, 2, 3, 1}).contiguous();
  nlohmann::json cells = nlohmann::json::array();
  const int chars = std::max(1, (w + 1) / 6);
  for (int i = 0; i < B; ++i) {
    const int r = i / cols, c = i % cols;
    const int y0 = o.gap + r * (cell_h + o.gap), x0 = o.gap + c * (w + o.gap);
    canvas.slice(0, y0, y0 + h).slice(1, x0, x0 + w).copy_(u8[i]);
    if (!o.labels.empty()) {
      const auto lines = wrap(o.labels[i], chars, o.label_lines);
      for (size_t l = 0; l < lines.size(); ++l) draw_text(canvas, x0, y0 + h + 2 + 8 * static_cast<int>(l), lines[l], {0, 0, 0});
      cells.push_back({{"index", i}, {"row", r}, {"col", c}, {"x", x0}, {"y", y0}, {"label", o.labels[i]}});
    }
  }
  write_png(path, canvas);
  if (!o.labels.empty() && o.sidecar) {
    nlohmann::json j = {{"image", path}, {"rows", rows}, {"cols", cols}, {"cell_width", w}, {"cell_height", h},
                        {"cells", cells}};
    const std::string side = path + ".json";
    std::ofstream f(side);
    f << j.dump(1) << "\n";
    DAG_CHECK(f.good(), "png grid '", path, "': cannot write the sidecar ", side);
  }
}

}  // namespace dagalign
