#pragma once
// PNG files (libpng's simplified API): single images and labelled sample grids.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign {

// Writes an image: uint8 (H, W, C) or float (C, H, W) in [0, 1] (converted as round(x * 255).clamp(0, 255)),
// C in {1, 3, 4} (gray, RGB, RGBA). Written to PATH.tmp and renamed (a killed job leaves no half file).
// Throws Error naming the path on a bad shape or a failed write.
void write_png(const std::string& path, const at::Tensor& image);

// Reads a PNG as uint8 (H, W, 3) RGB (gray and palette images are expanded, alpha composited on black).
at::Tensor read_png(const std::string& path);

struct GridOptions {
  int cols = 0;                     // 0: ceil(sqrt(B))
  int gap = 2;                      // pixels between cells and around the grid (after scaling)
  int scale = 1;                    // nearest-neighbour upscaling of each image
  std::array<uint8_t, 3> background{255, 255, 255};  // gap and label strip colour
  std::vector<std::string> labels;  // empty, or one per image: drawn under each cell in a 5x7 font
  int label_lines = 2;              // text lines per label (wrapped at the cell width, then cut with "~")
  bool sidecar = true;              // with labels: also write PATH.json {"rows", "cols", "cells": [...]}
};

// Writes images (B, 3, H, W) float in [0, 1] as a rows x cols grid (row-major order). Under each cell, its
// label (e.g. "r=1.234 a red circle ...") in a built-in 5x7 bitmap font (upper-case letters, digits,
// punctuation); the full labels also go to the JSON sidecar.
void write_image_grid(const std::string& path, const at::Tensor& images, const GridOptions& options = {});

// Draws text with the built-in 5x7 font (6 px advance, 8 px line) into an (H, W, 3) uint8 tensor at (x, y);
// characters without a glyph are drawn as a box. Returns the number of characters drawn.
int draw_text(at::Tensor& hwc, int x, int y, const std::string& text, std::array<uint8_t, 3> colour);

}  // namespace dagalign
