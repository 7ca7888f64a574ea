#include "engine/models/vae/autoencoder_kl.h"

#include "base/error.h"
#include "engine/models/folder_loader.h"

namespace sc::engine {
namespace {

constexpr float kVaeEps = 1e-6f;

void check_block_types(const Config& config, const char* field, const char* want) {
  if (!config.has(field)) return;
  for (const std::string& t : config.get<std::vector<std::string>>(field)) {
    if (t != want) throw Error("{}: {}: only {} is supported, found {}", config.source(), field, want, t);
  }
}

}  // namespace

AutoencoderKlConfig AutoencoderKlConfig::from_config(const Config& config) {
  AutoencoderKlConfig c;
  c.in_channels = config.get_or("in_channels", c.in_channels);
  c.out_channels = config.get_or("out_channels", c.out_channels);
  c.latent_channels = config.get_or("latent_channels", c.latent_channels);
  c.block_out_channels = config.get_or("block_out_channels", c.block_out_channels);
  c.layers_per_block = config.get_or("layers_per_block", c.layers_per_block);
  c.norm_num_groups = config.get_or("norm_num_groups", c.norm_num_groups);
  c.scaling_factor = config.get_or("scaling_factor", c.scaling_factor);
  c.use_quant_conv = config.get_or("use_quant_conv", c.use_quant_conv);
  c.use_post_quant_conv = config.get_or("use_post_quant_conv", c.use_post_quant_conv);
  check_block_types(config, "down_block_types", "DownEncoderBlock2D");
  check_block_types(config, "up_block_types", "UpDecoderBlock2D");
  const std::string act = config.get_or<std::string>("act_fn", "silu");
  if (act != "silu") throw Error("{}: act_fn: only \"silu\" is supported, found \"{}\"", config.source(), act);
  if (c.block_out_channels.empty()) throw Error("{}: block_out_channels is empty", config.source());
  return c;
}

AutoencoderKl AutoencoderKl::load(WeightSource& w, const AutoencoderKlConfig& c) {
  AutoencoderKl m;
  m.config_ = c;
  const auto& ch = c.block_out_channels;
  const std::int64_t g = c.norm_num_groups;
  const std::size_t n = ch.size();
  const std::int64_t top = ch.back();
  const std::int64_t lat = c.latent_channels;

  m.enc_in_ = Conv2d::load(w, "encoder.conv_in", c.in_channels, ch[0], 3, 1, 1);
  for (std::size_t i = 0; i < n; ++i) {
    Stage s;
    const std::string p = "encoder.down_blocks." + std::to_string(i);
    for (std::int64_t j = 0; j < c.layers_per_block; ++j) {
      const std::int64_t in = j == 0 ? ch[i == 0 ? 0 : i - 1] : ch[i];
      s.resnets.push_back(ResnetBlock2d::load(w, p + ".resnets." + std::to_string(j), in, ch[i], 0, g, kVaeEps));
    }
    if (i + 1 < n) s.down.push_back(Downsample2d::load(w, p + ".downsamplers.0", ch[i], true));
    m.enc_stages_.push_back(std::move(s));
  }
  auto load_mid = [&](const std::string& p) {
    return Mid{ResnetBlock2d::load(w, p + ".resnets.0", top, top, 0, g, kVaeEps),
               ResnetBlock2d::load(w, p + ".resnets.1", top, top, 0, g, kVaeEps),
               SpatialSelfAttention::load(w, p + ".attentions.0", top, top, g, kVaeEps)};
  };
  m.enc_mid_ = load_mid("encoder.mid_block");
  m.enc_norm_ = GroupNorm::load(w, "encoder.conv_norm_out", top, g, kVaeEps);
  m.enc_out_ = Conv2d::load(w, "encoder.conv_out", top, 2 * lat, 3, 1, 1);
  if (c.use_quant_conv) m.quant_ = Conv2d::load(w, "quant_conv", 2 * lat, 2 * lat, 1);
  if (c.use_post_quant_conv) m.post_quant_ = Conv2d::load(w, "post_quant_conv", lat, lat, 1);

  m.dec_in_ = Conv2d::load(w, "decoder.conv_in", lat, top, 3, 1, 1);
  m.dec_mid_ = load_mid("decoder.mid_block");
  for (std::size_t i = 0; i < n; ++i) {
    Stage s;
    const std::string p = "decoder.up_blocks." + std::to_string(i);
    const std::int64_t out = ch[n - 1 - i];
    const std::int64_t prev = ch[n - 1 - (i == 0 ? 0 : i - 1)];
    for (std::int64_t j = 0; j <= c.layers_per_block; ++j) {
      s.resnets.push_back(
          ResnetBlock2d::load(w, p + ".resnets." + std::to_string(j), j == 0 ? prev : out, out, 0, g, kVaeEps));
    }
    if (i + 1 < n) s.up.push_back(Upsample2d::load(w, p + ".upsamplers.0", out));
    m.dec_stages_.push_back(std::move(s));
  }
  m.dec_norm_ = GroupNorm::load(w, "decoder.conv_norm_out", ch[0], g, kVaeEps);
  m.dec_out_ = Conv2d::load(w, "decoder.conv_out", ch[0], c.out_channels, 3, 1, 1);
  return m;
}

AutoencoderKl AutoencoderKl::load(const std::filesystem::path& folder, const std::string& variant,
                                  const Placement& placement) {
  return load_model_folder<AutoencoderKl, AutoencoderKlConfig>(folder, variant, placement, "AutoencoderKL");
}

AutoencoderKl::Moments AutoencoderKl::encode(const Tensor& image) const {
  Tensor x = enc_in_(image);
  for (const Stage& s : enc_stages_) {
    for (const ResnetBlock2d& r : s.resnets) x = r(x);
    for (const Downsample2d& d : s.down) x = d(x);
  }
  x = enc_mid_.second(enc_mid_.attention(enc_mid_.first(x)));
  x = enc_out_(enc_norm_.with_silu(x));
  if (quant_.weight.defined()) x = quant_(x);
  const std::int64_t lat = config_.latent_channels;
  return Moments{slice(x, 1, 0, lat), slice(x, 1, lat, 2 * lat)};
}

Tensor AutoencoderKl::decode(const Tensor& latents) const {
  Tensor x = post_quant_.weight.defined() ? post_quant_(latents) : latents;
  x = dec_in_(x);
  x = dec_mid_.second(dec_mid_.attention(dec_mid_.first(x)));
  for (const Stage& s : dec_stages_) {
    for (const ResnetBlock2d& r : s.resnets) x = r(x);
    for (const Upsample2d& u : s.up) x = u(x);
  }
  return dec_out_(dec_norm_.with_silu(x));
}

}  // namespace sc::engine
