# -DDAGALIGN_CUDA=ON: the NCCL communicator (src/dist/cuda/*.cpp) in dagalign_dist, plus the NCCL smoke
# program. Needs a CUDA-enabled LibTorch (find_package(Torch) above found one: torch_cuda, CUDA::*) and
# NCCL (nccl.h + libnccl; NCCL_ROOT, the CUDA toolkit or /usr/local). Recipe: tools/build-cuda.sh and
# docs/gpu-build.md. The CPU build never reads this file.
if(NOT TARGET torch_cuda AND NOT TORCH_CUDA_LIBRARIES)
  message(FATAL_ERROR "DAGALIGN_CUDA=ON but the LibTorch found (${TORCH_INSTALL_PREFIX}) has no CUDA "
                      "(no torch_cuda target): point CMAKE_PREFIX_PATH at a CUDA LibTorch (tools/build-cuda.sh)")
endif()
find_package(CUDAToolkit REQUIRED)

find_path(NCCL_INCLUDE_DIR nccl.h
          HINTS ${NCCL_ROOT} $ENV{NCCL_ROOT} ${CUDAToolkit_INCLUDE_DIRS} /usr/local
          PATH_SUFFIXES include)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2
             HINTS ${NCCL_ROOT} $ENV{NCCL_ROOT} ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda /usr/local
             PATH_SUFFIXES lib lib64)
if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
  message(FATAL_ERROR "DAGALIGN_CUDA=ON: NCCL not found (nccl.h: ${NCCL_INCLUDE_DIR}, libnccl: ${NCCL_LIBRARY}); "
                      "set -DNCCL_ROOT=<prefix with include/nccl.h and lib/libnccl.so>")
endif()
file(STRINGS ${NCCL_INCLUDE_DIR}/nccl.h _nccl_ver REGEX "^#define NCCL_(MAJOR|MINOR|PATCH) ")
message(STATUS "NCCL: ${NCCL_INCLUDE_DIR}/nccl.h (${_nccl_ver}), ${NCCL_LIBRARY}")

file(GLOB dagalign_cuda_srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/dist/cuda/*.cpp)
target_sources(dagalign_dist PRIVATE ${dagalign_cuda_srcs})
target_compile_definitions(dagalign_dist PUBLIC DAGALIGN_CUDA)
target_include_directories(dagalign_dist PUBLIC ${NCCL_INCLUDE_DIR})
target_link_libraries(dagalign_dist PUBLIC ${NCCL_LIBRARY} CUDA::cudart)

# Smoke program (needs a GPU to run): mpirun -np N build/tests/nccl_smoke
add_executable(nccl_smoke ${CMAKE_SOURCE_DIR}/tests/integration/mpi/cuda/nccl_smoke.cpp)
target_link_libraries(nccl_smoke PRIVATE dagalign_dist)
target_compile_options(nccl_smoke PRIVATE ${DAGALIGN_WARNINGS})
