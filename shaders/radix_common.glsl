// Shared by radix_count.comp and radix_scatter.comp (see render/gpu_sort.h).
// The including shader declares keys_in (one uint per word) and count_in.
layout(push_constant) uniform Push {
  uint n;          // keys, or their upper bound when use_count is set
  uint shift;      // the digit's lowest bit (a multiple of 8: a digit never straddles words)
  uint blocks;     // workgroups dispatched: the histogram's columns
  uint rows;       // rows of 256 keys per workgroup
  uint key_words;  // 1: uint keys; 2: uvec2 keys (x = low word, y = high word)
  uint use_count;  // 1: sort min(count_in, n) keys, a count written on the GPU
} pc;

uint key_count() { return pc.use_count != 0u ? min(count_in, pc.n) : pc.n; }

uvec2 load_key(uint i) {
  return pc.key_words == 2u ? uvec2(keys_in[2u * i], keys_in[2u * i + 1u]) : uvec2(keys_in[i], 0u);
}

uint digit_of(uvec2 k) { return ((pc.shift < 32u ? k.x : k.y) >> (pc.shift & 31u)) & 255u; }
