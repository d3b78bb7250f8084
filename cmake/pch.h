// The LibTorch headers nearly every translation unit includes, compiled once (DAGALIGN_PCH, see
// CMakeLists.txt). Sources still include what they use: the build is correct without this file.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
