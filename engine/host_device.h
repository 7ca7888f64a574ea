#pragma once
// SC_HOST_DEVICE: a function both the CPU backend and CUDA kernels call
// (__host__ __device__ under nvcc, nothing elsewhere), for the arithmetic
// headers the two backends share (image_math.h, resize_math.h, grid_sample_math.h).
#ifndef SC_HOST_DEVICE
#ifdef __CUDACC__
#define SC_HOST_DEVICE __host__ __device__
#else
#define SC_HOST_DEVICE
#endif
#endif
