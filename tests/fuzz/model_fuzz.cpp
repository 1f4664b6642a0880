// libFuzzer target for the whole model path: bytes -> rvne::try_parse ->
// TemporalModel -> forward over a few frames -> a TemporalStream's pushes.
//
// Input layout (any bytes are a valid input):
//   [blob][options: 6 bytes][frame values: 2 bytes each]
// The blob is the first 28 + weights_len bytes (v2: 132 + weights_len;
// weights_len read at 0x14; the whole input when that is longer than the
// input). A blob whose only
// fault is its CRC is repaired (the parser fuzzer covers CRC rejection), so
// mutations reach the model. Options (missing bytes read as 0):
//   o[0] bit 0 dense backend, bit 1 bidirectional, bits 2-3 eviction
//        (0/3 none, 1 sliding window, 2 heavy hitter), bit 4 Pool::last
//   o[1] window % 40; o[2] block_size % 20 (0 must be refused);
//   o[3] global tokens: {}, {0}, {0, 2} or {o[3] / 4} (out of range allowed)
//   o[4] frames N = 1 + o[4] % 6; o[5] stream capacity o[5] % 12 (0 refused)
// A version 2 blob carries its attention options: it is loaded with
// ModelAttention{} (o[0] bits 0-1 and o[1..3] unused) unless o[0] bit 5 is
// set, when the blob's own options with the window changed must be refused
// (invalid_config); eviction, pooling, N and the capacity apply as for v1.
// Frame values are IEEE binary16 bit patterns widened to float, so NaN, +-Inf,
// subnormals and +-65504 all occur; the values are reused cyclically when
// the input runs out (all zero when there are none).
//
// Properties (any violation aborts):
//  - only aether::Error escapes the library (anything else is an uncaught
//    exception, which libFuzzer reports), with an expected code per stage:
//    construction invalid_header / layout_mismatch / invalid_config /
//    limit_exceeded, make_stream invalid_argument, push cache_full;
//  - v2: a contradicting ModelAttention is refused with invalid_config; the
//    convolution's reach is capped at kMaxConvReach (ModelLimits);
//  - forward and push of well-shaped frames never throw;
//  - a refused push leaves the stream as it was (size, pushed count);
//  - a causal sparse stream that evicted nothing returns, bit for bit, the
//    logits of forward(all frames pushed, Pool::last) (NaN where it is NaN);
//  - allocation: the model is capped at kMaxWeights weights (ModelLimits);
//    a refused load allocates at most 64 KiB (the exception and its
//    message); the live heap never grows by more than licence() below, a
//    bound computed from the header, N and the capacity. Measured with the
//    sanitizer allocator's malloc/free hooks (live bytes, peak).
// Build: tests/fuzz/CMakeLists.txt (clang), or .ci/fuzz.sh.

#include "fuzz_support.hpp"

#include <aether/half.hpp>
#include <aether/rvne.hpp>
#include <aether/temporal_model.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <vector>

const char* const fuzz_support::kTarget = "model_fuzz";

namespace {

using fuzz_support::die;
using fuzz_support::HeapWatch;
namespace rvne = aether::rvne;
using aether::Errc;
using Model = aether::TemporalModel<float>;

// The fuzzer's model cap: small enough that inputs of a few KiB cross it (so
// both the refusal and the load paths run), large enough for real layouts.
constexpr std::uint64_t kMaxWeights = 1024;
// The fuzzer's cap on a v2 convolution's look-back (frames per layer a stream holds).
constexpr std::uint64_t kMaxConvReach = 64;

void expect_code(const aether::Error& e, std::initializer_list<Errc> allowed, const char* stage) {
  for (Errc c : allowed) {
    if (e.code() == c) return;
  }
  std::fprintf(stderr, "model_fuzz: %s threw %s\n", stage, e.what());
  die("unexpected error code");
}

// Most bytes the model path may hold at once: twice the weights as float (the
// model holds them once; the rest is slack for per-matrix alignment), and per
// layer 4 floats for every frame of forward (N^2 + N rows: dense scores) and
// every slot of the stream, each as wide as all of a layer's activations (x,
// q, k, v, attention output, classifier), plus 64 KiB for fixed-size objects
// and workspaces. The seeds peak at 1-3% of it; an allocation sized by a
// product of header fields that the weights do not back would exceed it.
// Computed in double: header fields are 32-bit and their products overflow
// 64-bit integers (UBSan found one such header); a licence beyond 2^63 bytes
// is as good as unlimited, so no precision is needed up there.
// v2 widens a row by the residual width, the feed-forward hidden width, the
// RoPE table and the gates' hidden states, and holds the convolution's
// look-back rows per layer.
double licence(const rvne::Header& h, std::size_t frames, std::size_t capacity) {
  const rvne::Architecture& a = h.arch;
  double width = static_cast<double>(h.input_dim) +
                 3.0 * (static_cast<double>(h.q_heads) + static_cast<double>(h.kv_heads)) * h.head_dim +
                 static_cast<double>(h.classes);
  double conv_rows = 0.0;
  if (h.version == rvne::kVersion2) {
    width += 3.0 * h.model_dim() + a.ffn_dim + 2.0 * h.head_dim +
             static_cast<double>(a.attention.gate_hidden) * (static_cast<double>(h.q_heads) + h.kv_heads);
    if (a.has(rvne::kBlockConv)) conv_rows = static_cast<double>(a.conv_kernel) * a.conv_dilation + 1.0;
  }
  const double rows = static_cast<double>(frames) * static_cast<double>(frames) +
                      static_cast<double>(frames + capacity + 16);
  return 2.0 * static_cast<double>(rvne::layout_elements(h)) * 4 +
         16.0 * (rows + conv_rows) * width * (static_cast<double>(h.layers) + 1) + 65536.0;
}

bool same_bits(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  std::uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

void run_model(const rvne::Blob& blob, const std::uint8_t* opt, std::size_t opt_len, const std::uint8_t* vals,
               std::size_t vals_len) {
  auto o = [&](std::size_t i) -> std::uint8_t { return i < opt_len ? opt[i] : 0; };
  aether::ModelAttention attn;
  attn.backend = (o(0) & 1) ? aether::Backend::Dense : aether::Backend::SparseGqa;
  attn.causal = (o(0) & 2) == 0;
  const int ev = (o(0) >> 2) & 3;
  const aether::Eviction eviction =
      ev == 1 ? aether::Eviction::sliding_window : ev == 2 ? aether::Eviction::heavy_hitter : aether::Eviction::none;
  const aether::Pool pool = (o(0) & 16) ? aether::Pool::last : aether::Pool::mean;
  attn.window = o(1) % 40;
  attn.block_size = o(2) % 20;
  switch (o(3) % 4) {
    case 0: attn.global_tokens = {}; break;
    case 1: attn.global_tokens = {0}; break;
    case 2: attn.global_tokens = {0, 2}; break;
    default: attn.global_tokens = {static_cast<std::size_t>(o(3) / 4)}; break;
  }
  const std::size_t frames = 1 + o(4) % 6;
  const std::size_t capacity = o(5) % 12;
  aether::ModelLimits limits;
  limits.max_weight_elements = kMaxWeights;
  limits.max_conv_reach = kMaxConvReach;
  const bool v2 = blob.header.version == rvne::kVersion2;
  bool contradict = false;
  if (v2) {
    attn = aether::ModelAttention{};
    if ((o(0) & 32) != 0 && Model::check(blob.header, blob.weights.size(), attn, limits) == Errc::ok) {
      attn = Model::attention_of(blob.header);
      attn.window += 1;
      contradict = true;
    }
  }

  const HeapWatch watch;
  const double budget = licence(blob.header, frames, capacity);
  std::unique_ptr<Model> model;
  try {
    model = std::make_unique<Model>(blob, attn, limits);
    if (contradict) die("a v2 model was built with a contradicting ModelAttention");
  } catch (const aether::Error& e) {
    if (contradict && e.code() != Errc::invalid_config) die("a contradicting ModelAttention was not invalid_config");
    expect_code(e, {Errc::invalid_header, Errc::layout_mismatch, Errc::invalid_config, Errc::limit_exceeded},
                "TemporalModel construction");
    if (watch.peak() > (64LL << 10)) die("a refused model load allocated more than 64 KiB");
    return;
  }
  if (rvne::layout_elements(blob.header) > kMaxWeights) die("a model beyond ModelLimits was loaded");
  if (v2 && blob.header.arch.has(rvne::kBlockConv) &&
      aether::block::conv_reach(blob.header.arch.conv_kernel, blob.header.arch.conv_dilation) > kMaxConvReach) {
    die("a v2 model beyond ModelLimits::max_conv_reach was loaded");
  }

  const std::size_t D = model->input_dim();
  Model::Matrix x(static_cast<Eigen::Index>(frames), static_cast<Eigen::Index>(D));
  for (std::size_t e = 0; e < frames * D; ++e) {
    const std::size_t at = vals_len >= 2 ? (2 * e) % (vals_len - vals_len % 2) : 0;
    x.data()[e] = vals_len >= 2 ? aether::half_bits_to_float(static_cast<std::uint16_t>(vals[at] | (vals[at + 1] << 8)))
                                : 0.0f;
  }

  try {
    const Model::Vector logits = model->forward(x, pool);
    if (static_cast<std::size_t>(logits.size()) != model->classes()) die("forward returned the wrong number of logits");
  } catch (const aether::Error& e) {
    std::fprintf(stderr, "model_fuzz: forward threw %s\n", e.what());
    die("forward of well-shaped frames threw");
  }
  if (static_cast<double>(watch.peak()) > budget) die("forward allocated more than the header licenses");

  std::unique_ptr<aether::TemporalStream<float>> stream;
  try {
    stream = std::make_unique<aether::TemporalStream<float>>(model->make_stream(capacity, eviction));
  } catch (const aether::Error& e) {
    expect_code(e, {Errc::invalid_argument}, "make_stream");
    return;
  }
  // Push the frames, then once more around, so small caches fill (and evict).
  const std::size_t pushes = frames + capacity;
  Model::Vector last;
  std::size_t accepted = 0;
  bool evicted = false;
  for (std::size_t t = 0; t < pushes; ++t) {
    const std::size_t size_before = stream->size();
    const std::uint64_t pushed_before = stream->pushed();
    try {
      last = stream->push(x.row(static_cast<Eigen::Index>(t % frames)).data());
      ++accepted;
      if (stream->size() != size_before + 1) evicted = true;
    } catch (const aether::Error& e) {
      expect_code(e, {Errc::cache_full}, "TemporalStream::push");
      if (eviction != aether::Eviction::none) die("a stream with an eviction policy refused a frame");
      if (stream->size() != size_before || stream->pushed() != pushed_before) die("a refused push changed the stream");
      break;
    }
  }
  if (static_cast<double>(watch.peak()) > budget) die("the stream allocated more than the header licenses");

  // Exactness where it is defined: causal sparse, nothing evicted, ungated
  // (a gate's kept set may differ between the stream and a forward).
  const aether::ModelAttention used = v2 ? Model::attention_of(blob.header) : attn;
  if (accepted > 0 && !evicted && used.causal && used.backend == aether::Backend::SparseGqa && !used.gate) {
    Model::Matrix seen(static_cast<Eigen::Index>(accepted), static_cast<Eigen::Index>(D));
    for (std::size_t t = 0; t < accepted; ++t) seen.row(static_cast<Eigen::Index>(t)) = x.row(static_cast<Eigen::Index>(t % frames));
    const Model::Vector want = model->forward(seen, aether::Pool::last);
    for (Eigen::Index c = 0; c < want.size(); ++c) {
      if (!same_bits(last[c], want[c])) die("stream logits differ from forward(Pool::last)");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz_support::install_heap_hooks();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz_support::LeadingBlob b = fuzz_support::leading_blob(data, size);
  if (!b.parsed.ok()) {
    if (b.parsed.message[0] == '\0') die("rejection without a message");
    return 0;
  }
  const rvne::Blob blob = b.parsed.view.to_blob();
  const std::uint8_t* rest = data + b.consumed;
  const std::size_t rest_len = size - b.consumed;
  const std::size_t opt_len = rest_len < 6 ? rest_len : 6;
  run_model(blob, rest, opt_len, rest + opt_len, rest_len - opt_len);
  return 0;
}
