#pragma once
// One opened FFmpeg input (file, pipe, capture device, lavfi graph) and the
// decoders on its streams. VideoReader and AudioReader both sit on it, so they
// open sources, name them in errors, give up on interrupt() and clean up the
// same way. Internal to media and its tests: it hands out FFmpeg types.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

struct AVCodec;
struct AVCodecContext;
struct AVFormatContext;
struct AVFrame;
struct AVPacket;
struct AVStream;

namespace sc::media::detail {

// Frees FFmpeg objects the way each one must be freed.
struct AvFree {
  void operator()(AVFormatContext* p) const;
  void operator()(AVCodecContext* p) const;
  void operator()(AVPacket* p) const;
  void operator()(AVFrame* p) const;
};
template <class T>
using AvPtr = std::unique_ptr<T, AvFree>;

enum class MediaType { kVideo, kAudio };

struct InputSpec {
  // How every error names the input, e.g. "source 'clip.mp4'" or
  // "audio source 'mic'": the user must see which of the two failed.
  std::string label;
  std::string url;                             // what avformat_open_input gets
  std::string input_format;                    // an FFmpeg input device ("v4l2", "lavfi", ...) or "" to probe
  std::map<std::string, std::string> options;  // demuxer options
  std::string open_hint;                       // what to check, appended when opening fails
};

class InputContext;

// A decoder on one stream of an InputContext, which must outlive it. One
// decoder per input reads at a time: next() drops other streams' packets.
class Decoder {
 public:
  AVCodecContext* context() const { return ctx_.get(); }
  const AVCodec* codec() const;
  const char* codec_name() const;
  AVStream* stream() const;
  int stream_index() const { return stream_index_; }
  double duration_s() const;  // of the stream, else of the input; 0 when unknown

  // Feeds the stream's packets to the decoder until it gives a frame (true,
  // in frame(); unref it when done) or the stream ends or the input is
  // interrupted (false). Corrupt packets are skipped; other failures throw
  // sc::Error naming the input.
  bool next();
  AVFrame* frame() const { return frame_.get(); }

  // After seeking the input: drops what the decoder still holds and reads on.
  void flush();

 private:
  friend class InputContext;
  Decoder(InputContext& input, int stream_index, AvPtr<AVCodecContext> ctx);

  InputContext* input_;
  int stream_index_;
  AvPtr<AVCodecContext> ctx_;
  AvPtr<AVPacket> packet_;
  AvPtr<AVFrame> frame_;
  bool draining_ = false;  // end of input reached; the decoder is being flushed
};

class InputContext {
 public:
  // Opens the input and reads its stream information. Throws sc::Error
  // naming spec.label and the reason (with spec.open_hint when opening fails).
  explicit InputContext(InputSpec spec);
  ~InputContext();
  // FFmpeg's interrupt callback holds the address.
  InputContext(const InputContext&) = delete;
  InputContext& operator=(const InputContext&) = delete;

  AVFormatContext* get() const { return fmt_.get(); }
  const std::string& label() const { return spec_.label; }
  bool has_stream(MediaType type) const;

  // Opens a decoder on the best stream of `type`. `configure` adjusts the
  // codec context before it opens (threads, a hardware device). Throws
  // sc::Error naming the input when it has no such stream, FFmpeg has no
  // decoder for it, or the decoder does not open.
  Decoder open_decoder(MediaType type, const std::function<void(AVCodecContext&)>& configure = {});

  // Makes blocked demuxer calls and Decoder::next() give up soon; safe from
  // any thread.
  void interrupt() { interrupted_ = true; }
  bool interrupted() const { return interrupted_; }

 private:
  InputSpec spec_;
  std::atomic<bool> interrupted_{false};
  AvPtr<AVFormatContext> fmt_;
};

}  // namespace sc::media::detail
