#include "engine/models/unet/unet.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/models/folder_loader.h"

namespace sc::engine {
namespace {

// Transformer2DModel's GroupNorm uses a fixed eps, not the UNet's norm_eps.
constexpr float kTransformerNormEps = 1e-6f;
constexpr float kLayerNormEps = 1e-5f;

// An int or a list of ints in the config, as a list of `n`.
std::vector<std::int64_t> per_block(const Config& config, const std::string& field, std::size_t n,
                                    std::int64_t fallback) {
  if (!config.has(field)) return std::vector<std::int64_t>(n, fallback);
  if (config.json().at(field).is_array()) {
    auto v = config.get<std::vector<std::int64_t>>(field);
    if (v.size() != n) throw Error("{}: {} has {} entries, expected {}", config.source(), field, v.size(), n);
    return v;
  }
  return std::vector<std::int64_t>(n, config.get<std::int64_t>(field));
}

bool has_cross_attention(const std::string& type) { return type.rfind("CrossAttn", 0) == 0; }

UNet2DCondition::Transformer2d load_transformer(WeightSource& w, const std::string& p, const UNetConfig& c,
                                                std::int64_t channels, std::int64_t heads, std::int64_t layers) {
  UNet2DCondition::Transformer2d t;
  t.heads = heads;
  t.linear_projection = c.use_linear_projection;
  t.norm = GroupNorm::load(w, p + ".norm", channels, c.norm_num_groups, kTransformerNormEps);
  if (t.linear_projection) {
    t.proj_in_linear = Linear::load(w, p + ".proj_in", channels, channels);
    t.proj_out_linear = Linear::load(w, p + ".proj_out", channels, channels);
  } else {
    t.proj_in_conv = Conv2d::load(w, p + ".proj_in", channels, channels, 1);
    t.proj_out_conv = Conv2d::load(w, p + ".proj_out", channels, channels, 1);
  }
  const std::int64_t d = channels, ctx = c.cross_attention_dim, inner = 4 * channels;
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string b = p + ".transformer_blocks." + std::to_string(i);
    UNet2DCondition::TransformerBlock tb;
    tb.norm1 = LayerNorm::load(w, b + ".norm1", d, kLayerNormEps);
    tb.norm2 = LayerNorm::load(w, b + ".norm2", d, kLayerNormEps);
    tb.norm3 = LayerNorm::load(w, b + ".norm3", d, kLayerNormEps);
    tb.q1 = Linear::load(w, b + ".attn1.to_q", d, d, false);
    tb.k1 = Linear::load(w, b + ".attn1.to_k", d, d, false);
    tb.v1 = Linear::load(w, b + ".attn1.to_v", d, d, false);
    tb.out1 = Linear::load(w, b + ".attn1.to_out.0", d, d);
    tb.q2 = Linear::load(w, b + ".attn2.to_q", d, d, false);
    tb.k2 = Linear::load(w, b + ".attn2.to_k", ctx, d, false);
    tb.v2 = Linear::load(w, b + ".attn2.to_v", ctx, d, false);
    tb.out2 = Linear::load(w, b + ".attn2.to_out.0", d, d);
    tb.ff_in = Linear::load(w, b + ".ff.net.0.proj", d, 2 * inner);
    tb.ff_out = Linear::load(w, b + ".ff.net.2", inner, d);
    t.blocks.push_back(std::move(tb));
  }
  return t;
}

Tensor run_attention(const Linear& q, const Linear& k, const Linear& v, const Linear& out, const Tensor& x,
                     const Tensor& ctx, std::int64_t heads) {
  const Tensor a = attention(split_heads(q(x), heads), split_heads(k(ctx), heads), split_heads(v(ctx), heads));
  return out(merge_heads(a));
}

Tensor run_transformer(const UNet2DCondition::Transformer2d& t, const Tensor& x, const Tensor& context) {
  const std::int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
  Tensor s = t.norm(x);
  if (t.linear_projection) {
    s = t.proj_in_linear(transpose(s.reshape({n, c, h * wd}), 1, 2));
  } else {
    s = transpose(t.proj_in_conv(s).reshape({n, c, h * wd}), 1, 2);
  }
  for (const UNet2DCondition::TransformerBlock& b : t.blocks) {
    const Tensor n1 = b.norm1(s);
    s = add(s, run_attention(b.q1, b.k1, b.v1, b.out1, n1, n1, t.heads));
    s = add(s, run_attention(b.q2, b.k2, b.v2, b.out2, b.norm2(s), context, t.heads));
    // GEGLU: the first half of the projection is the value, the second its gate.
    s = add(s, b.ff_out(geglu(b.ff_in(b.norm3(s)))));
  }
  Tensor o;
  if (t.linear_projection) {
    o = transpose(t.proj_out_linear(s), 1, 2).reshape({n, c, h, wd});
  } else {
    o = t.proj_out_conv(transpose(s, 1, 2).reshape({n, c, h, wd}));
  }
  return add(o, x);
}

}  // namespace

UNetConfig UNetConfig::from_config(const Config& config) {
  UNetConfig c;
  c.in_channels = config.get_or("in_channels", c.in_channels);
  c.out_channels = config.get_or("out_channels", c.out_channels);
  c.block_out_channels = config.get<std::vector<std::int64_t>>("block_out_channels");
  const std::size_t n = c.block_out_channels.size();
  c.down_block_types = config.get<std::vector<std::string>>("down_block_types");
  c.up_block_types = config.get<std::vector<std::string>>("up_block_types");
  if (c.down_block_types.size() != n || c.up_block_types.size() != n) {
    throw Error("{}: block_out_channels has {} entries, down_block_types {}, up_block_types {}", config.source(), n,
                c.down_block_types.size(), c.up_block_types.size());
  }
  for (const auto& t : c.down_block_types) {
    if (t != "CrossAttnDownBlock2D" && t != "DownBlock2D") {
      throw Error("{}: down_block_types: unsupported block {}", config.source(), t);
    }
  }
  for (const auto& t : c.up_block_types) {
    if (t != "CrossAttnUpBlock2D" && t != "UpBlock2D") {
      throw Error("{}: up_block_types: unsupported block {}", config.source(), t);
    }
  }
  const std::string mid = config.get_or<std::string>("mid_block_type", "UNetMidBlock2DCrossAttn");
  if (mid != "UNetMidBlock2DCrossAttn") throw Error("{}: mid_block_type: unsupported {}", config.source(), mid);
  c.layers_per_block = config.get_or("layers_per_block", c.layers_per_block);
  // diffusers: num_attention_heads, or else attention_head_dim, is the head count.
  c.heads = config.has("num_attention_heads") ? per_block(config, "num_attention_heads", n, 8)
                                              : per_block(config, "attention_head_dim", n, 8);
  c.transformer_layers = per_block(config, "transformer_layers_per_block", n, 1);
  c.cross_attention_dim = config.get<std::int64_t>("cross_attention_dim");
  c.norm_num_groups = config.get_or("norm_num_groups", c.norm_num_groups);
  c.norm_eps = config.get_or("norm_eps", c.norm_eps);
  c.use_linear_projection = config.get_or("use_linear_projection", false);
  c.upcast_attention = config.get_or("upcast_attention", false);
  c.flip_sin_to_cos = config.get_or("flip_sin_to_cos", true);
  c.freq_shift = config.get_or("freq_shift", 0.0f);
  if (config.has("addition_embed_type") &&
      config.get_or<std::string>("addition_embed_type", "") == std::string("text_time")) {
    throw Error(
        "{}: this is an SDXL UNet (addition_embed_type text_time); StreamCanvas runs the SD 1.x / SD 2.x family "
        "(SD 1.5, SD 2.1, sd-turbo), not SDXL or sdxl-turbo",
        config.source());
  }
  for (const char* field : {"class_embed_type", "addition_embed_type", "encoder_hid_dim", "time_cond_proj_dim"}) {
    if (config.has(field)) {
      throw Error("{}: {} is set: this UNet is not of the SD 1.x / SD 2.x family that StreamCanvas runs",
                  config.source(), field);
    }
  }
  if (config.get_or<std::string>("time_embedding_type", "positional") != "positional" ||
      config.get_or<std::string>("act_fn", "silu") != "silu" ||
      config.get_or<std::string>("resnet_time_scale_shift", "default") != "default" ||
      config.get_or<std::int64_t>("conv_in_kernel", 3) != 3 || config.get_or<std::int64_t>("conv_out_kernel", 3) != 3 ||
      config.get_or("only_cross_attention", false) || config.get_or("dual_cross_attention", false)) {
    throw Error("{}: an option outside SD 1.5 / SD 2.x UNets is set", config.source());
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (c.heads[i] <= 0 || c.block_out_channels[i] % c.heads[i] != 0) {
      throw Error("{}: block {} has {} channels, not a multiple of {} heads", config.source(), i,
                  c.block_out_channels[i], c.heads[i]);
    }
  }
  return c;
}

Tensor timestep_embedding(std::span<const float> timesteps, std::int64_t dim, bool flip_sin_to_cos, float freq_shift) {
  const std::int64_t half = dim / 2;
  std::vector<float> out(static_cast<std::size_t>(static_cast<std::int64_t>(timesteps.size()) * dim), 0.0f);
  const float log_period = -std::log(10000.0f);
  for (std::size_t n = 0; n < timesteps.size(); ++n) {
    float* row = out.data() + static_cast<std::int64_t>(n) * dim;
    for (std::int64_t i = 0; i < half; ++i) {
      // Same f32 steps as torch, so the phase of large timesteps agrees.
      const float exponent = log_period * static_cast<float>(i) / (static_cast<float>(half) - freq_shift);
      const float arg = timesteps[n] * std::exp(exponent);
      const float s = static_cast<float>(std::sin(static_cast<double>(arg)));
      const float c = static_cast<float>(std::cos(static_cast<double>(arg)));
      row[i] = flip_sin_to_cos ? c : s;
      row[half + i] = flip_sin_to_cos ? s : c;
    }
  }
  return Tensor::from_vector({static_cast<std::int64_t>(timesteps.size()), dim}, out);
}

UNet2DCondition UNet2DCondition::load(WeightSource& w, const UNetConfig& c) {
  UNet2DCondition m;
  m.config_ = c;
  const auto& ch = c.block_out_channels;
  const std::size_t n = ch.size();
  const std::int64_t temb = 4 * ch[0];
  const std::int64_t g = c.norm_num_groups;
  const float eps = c.norm_eps;
  m.time_linear1_ = Linear::load(w, "time_embedding.linear_1", ch[0], temb);
  m.time_linear2_ = Linear::load(w, "time_embedding.linear_2", temb, temb);
  m.conv_in_ = Conv2d::load(w, "conv_in", c.in_channels, ch[0], 3, 1, 1);

  for (std::size_t i = 0; i < n; ++i) {
    Stage s;
    const std::string p = "down_blocks." + std::to_string(i);
    const bool cross = has_cross_attention(c.down_block_types[i]);
    for (std::int64_t j = 0; j < c.layers_per_block; ++j) {
      const std::int64_t in = j == 0 ? ch[i == 0 ? 0 : i - 1] : ch[i];
      const std::string id = std::to_string(j);
      s.resnets.push_back(ResnetBlock2d::load(w, p + ".resnets." + id, in, ch[i], temb, g, eps));
      if (cross) {
        s.attentions.push_back(
            load_transformer(w, p + ".attentions." + id, c, ch[i], c.heads[i], c.transformer_layers[i]));
      }
    }
    if (i + 1 < n) s.down.push_back(Downsample2d::load(w, p + ".downsamplers.0", ch[i], false));
    m.down_.push_back(std::move(s));
  }

  m.mid_first_ = ResnetBlock2d::load(w, "mid_block.resnets.0", ch.back(), ch.back(), temb, g, eps);
  m.mid_attention_ =
      load_transformer(w, "mid_block.attentions.0", c, ch.back(), c.heads.back(), c.transformer_layers.back());
  m.mid_second_ = ResnetBlock2d::load(w, "mid_block.resnets.1", ch.back(), ch.back(), temb, g, eps);

  for (std::size_t i = 0; i < n; ++i) {
    Stage s;
    const std::string p = "up_blocks." + std::to_string(i);
    const std::size_t r = n - 1 - i;  // the matching down block
    const std::int64_t out = ch[r];
    const std::int64_t prev = ch[i == 0 ? n - 1 : r + 1];
    const std::int64_t in = ch[r == 0 ? 0 : r - 1];
    const bool cross = has_cross_attention(c.up_block_types[i]);
    for (std::int64_t j = 0; j <= c.layers_per_block; ++j) {
      const std::int64_t skip = j == c.layers_per_block ? in : out;
      const std::int64_t res_in = (j == 0 ? prev : out) + skip;
      const std::string id = std::to_string(j);
      s.resnets.push_back(ResnetBlock2d::load(w, p + ".resnets." + id, res_in, out, temb, g, eps));
      if (cross) {
        s.attentions.push_back(
            load_transformer(w, p + ".attentions." + id, c, out, c.heads[r], c.transformer_layers[r]));
      }
    }
    if (i + 1 < n) s.up.push_back(Upsample2d::load(w, p + ".upsamplers.0", out));
    m.up_.push_back(std::move(s));
  }
  m.norm_out_ = GroupNorm::load(w, "conv_norm_out", ch[0], g, eps);
  m.conv_out_ = Conv2d::load(w, "conv_out", ch[0], c.out_channels, 3, 1, 1);
  return m;
}

UNet2DCondition UNet2DCondition::load(const std::filesystem::path& folder, const std::string& variant,
                                      const Placement& placement) {
  return load_model_folder<UNet2DCondition, UNetConfig>(folder, variant, placement, "UNet2DConditionModel");
}

Tensor UNet2DCondition::forward(const Tensor& sample, std::span<const float> timesteps, const Tensor& context) const {
  const auto& c = config_;
  if (sample.rank() != 4 || sample.dim(1) != c.in_channels) {
    throw Error("UNet: sample must be [N, {}, H, W], got {}", c.in_channels, sample.describe());
  }
  const std::int64_t n = sample.dim(0);
  const std::int64_t multiple = std::int64_t{1} << (c.block_out_channels.size() - 1);
  if (sample.dim(2) % multiple != 0 || sample.dim(3) % multiple != 0) {
    throw Error("UNet: sample height and width must be multiples of {}, got {}", multiple, sample.describe());
  }
  if (context.rank() != 3 || context.dim(0) != n || context.dim(2) != c.cross_attention_dim) {
    throw Error("UNet: context must be [{}, S, {}], got {}", n, c.cross_attention_dim, context.describe());
  }
  std::vector<float> steps(timesteps.begin(), timesteps.end());
  if (steps.size() == 1) steps.assign(static_cast<std::size_t>(n), steps[0]);
  if (static_cast<std::int64_t>(steps.size()) != n) {
    throw Error("UNet: {} timesteps for a batch of {}", timesteps.size(), n);
  }

  // Computed in f32 on the host (as diffusers does), then stored like the weights.
  const Tensor t_emb =
      to_dtype(timestep_embedding(steps, c.block_out_channels[0], c.flip_sin_to_cos, c.freq_shift).to(sample.device()),
               sample.dtype());
  return forward_embedded(sample, t_emb, context);
}

Tensor UNet2DCondition::forward_embedded(const Tensor& sample, const Tensor& t_emb, const Tensor& context) const {
  const Tensor temb = time_linear2_(silu(time_linear1_(t_emb)));

  Tensor x = conv_in_(sample);
  std::vector<Tensor> skips{x};
  for (const Stage& s : down_) {
    for (std::size_t j = 0; j < s.resnets.size(); ++j) {
      x = s.resnets[j](x, temb);
      if (!s.attentions.empty()) x = run_transformer(s.attentions[j], x, context);
      skips.push_back(x);
    }
    for (const Downsample2d& d : s.down) {
      x = d(x);
      skips.push_back(x);
    }
  }
  x = mid_second_(run_transformer(mid_attention_, mid_first_(x, temb), context), temb);
  for (const Stage& s : up_) {
    for (std::size_t j = 0; j < s.resnets.size(); ++j) {
      x = concat({x, skips.back()}, 1);
      skips.pop_back();
      x = s.resnets[j](x, temb);
      if (!s.attentions.empty()) x = run_transformer(s.attentions[j], x, context);
    }
    for (const Upsample2d& u : s.up) x = u(x);
  }
  return conv_out_(norm_out_.with_silu(x));
}

}  // namespace sc::engine
