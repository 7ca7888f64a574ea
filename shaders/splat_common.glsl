// Shared by the Gaussian-splat compute shaders (see render/splat/splat_renderer.h).
const uint kTileSize = 16u;
