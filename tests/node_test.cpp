// The sensor node (aether/node.hpp) through its C ABI (aether/c/aether.h) and
// the ruv_temporal compatibility layer: results against the host library,
// weights in place, caller memory, and every error code and path.
#define AETHER_C_IMPLEMENTATION
#include <aether/c/ruv_temporal.h>

#include <aether/io/featurizer.hpp>
#include <aether/node.hpp>
#include <aether/rvne.hpp>
#include <aether/rvne/init.hpp>
#include <aether/rvne/tensors.hpp>
#include <aether/temporal_model.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace node_test {

namespace {

namespace rvne = aether::rvne;
using Model = aether::TemporalModel<float>;
using Bytes = std::vector<std::uint8_t>;

Bytes default_blob(rvne::Dtype dtype = rvne::Dtype::f32) {
  return rvne::serialize(rvne::init_random(rvne::Header::aether_default(dtype)));
}

/// `n` frames of 16 values, deterministic.
Model::Matrix frames(std::size_t n, std::size_t d = 16) {
  Model::Matrix x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = std::sin(0.37f * static_cast<float>(i)) * 0.8f;
  return x;
}

aether_node_config ring_config(std::uint32_t window = 8) { return {16, window, 4, AETHER_MODE_RING, 0, AETHER_CACHE_F32}; }
aether_node_config stream_config(std::uint32_t capacity = 32, std::uint32_t dtype = AETHER_CACHE_F32) {
  return {16, 0, 4, AETHER_MODE_STREAM, capacity, dtype};
}

/// Node over `blob` (heap memory); fails the test if init refuses.
struct NodeHandle {
  aether_node* node = nullptr;
  NodeHandle(const std::uint8_t* blob, std::size_t len, const aether_node_config& cfg) {
    EXPECT_EQ(aether_node_init(blob, len, &cfg, nullptr, 0, &node), AETHER_OK);
  }
  ~NodeHandle() { aether_node_destroy(node); }
};

void store_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
/// Rewrites the trailing CRC so that only the intended rule fails.
Bytes with_crc(Bytes b) {
  store_u32(b.data() + b.size() - 4, rvne::crc32(b.data(), b.size() - 4));
  return b;
}

/// The hostile blobs of tests/rvne_test.cpp's classes, each with its aether
/// status and ESP-IDF code.
struct Hostile {
  const char* name;
  Bytes bytes;
  aether_status status;
  esp_err_t esp;
};
std::vector<Hostile> hostile_blobs() {
  const Bytes good = default_blob();
  std::vector<Hostile> out;
  Bytes b = good;
  b.pop_back();
  out.push_back({"truncated", b, AETHER_ERR_TRUNCATED, ESP_ERR_INVALID_SIZE});
  out.push_back({"header only", Bytes(good.begin(), good.begin() + 20), AETHER_ERR_TRUNCATED, ESP_ERR_INVALID_SIZE});
  b = good;
  b.push_back(0);
  out.push_back({"trailing byte", b, AETHER_ERR_TRAILING_BYTES, ESP_ERR_INVALID_SIZE});
  b = good;
  b[0] = 'X';
  out.push_back({"bad magic", b, AETHER_ERR_BAD_MAGIC, ESP_ERR_INVALID_ARG});
  b = good;
  b[4] = 3;
  out.push_back({"version 3", with_crc(b), AETHER_ERR_UNSUPPORTED_VERSION, ESP_ERR_INVALID_VERSION});
  b = good;
  b[6] = 0x02;
  out.push_back({"unknown flag", with_crc(b), AETHER_ERR_UNSUPPORTED_FLAGS, ESP_ERR_INVALID_ARG});
  b = good;
  b[100] ^= 0x01;
  out.push_back({"crc", b, AETHER_ERR_CHECKSUM, ESP_ERR_INVALID_CRC});
  b = good;
  store_u32(b.data() + 0x14, 0xFFFFFFF0u);
  out.push_back({"weights_len overflow", with_crc(b), AETHER_ERR_TRUNCATED, ESP_ERR_INVALID_SIZE});
  b = good;
  b[0x08] = 0;  // input_dim 0
  out.push_back({"zero input_dim", with_crc(b), AETHER_ERR_INVALID_HEADER, ESP_ERR_INVALID_ARG});
  b = good;
  b[0x12] = 5;  // 5 classes, weights of 4
  out.push_back({"layout mismatch", with_crc(b), AETHER_ERR_LAYOUT_MISMATCH, ESP_ERR_INVALID_ARG});
  return out;
}

/// A v2 blob of the benchmark shape (csi-amplitude featuriser for 64
/// subcarriers, 16 features), trainable initialisation; `edit` changes the
/// header first.
template <class Edit>
Bytes v2_blob(Edit edit, rvne::Dtype dtype = rvne::Dtype::f32) {
  rvne::Header h = rvne::v2_benchmark_header(dtype);
  edit(h);
  return rvne::serialize(rvne::init_trainable(h, 0x5EED));
}
Bytes v2_blob(rvne::Dtype dtype = rvne::Dtype::f32) {
  return v2_blob([](rvne::Header&) {}, dtype);
}

/// Frame t's I/Q bytes: `n` (I, Q) pairs, deterministic, with null guard
/// pairs at 0, 27..37 (as the radio sends them) and a gain that changes.
std::vector<std::int8_t> iq_frame(std::size_t t, std::size_t n = 64) {
  std::vector<std::int8_t> iq(2 * n, 0);
  for (std::size_t j = 1; j < n; ++j) {
    if (j >= 27 && j <= 37) continue;
    const double g = 8.0 + 6.0 * std::sin(0.05 * static_cast<double>(t));
    iq[2 * j] = static_cast<std::int8_t>(std::lround(g * std::cos(0.3 * static_cast<double>(j + t))));
    iq[2 * j + 1] = static_cast<std::int8_t>(std::lround(g * std::sin(0.17 * static_cast<double>(j * t % 29)) + 1));
  }
  return iq;
}

/// The features of frames 0..n-1 through the model's featuriser (the host path).
Model::Matrix features(const Model& model, std::size_t n) {
  Model::Matrix x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(model.input_dim()));
  for (std::size_t t = 0; t < n; ++t) {
    const std::vector<std::int8_t> iq = iq_frame(t);
    EXPECT_EQ(aether::io::featurize_iq(model.featurizer(), iq.data(), 64, x.row(static_cast<Eigen::Index>(t)).data()),
              aether::io::FrameResult::ok);
  }
  return x;
}

}  // namespace

TEST(Node, SelfTestPasses) {
  EXPECT_EQ(aether_node_self_test(), AETHER_OK);
  EXPECT_EQ(ruv_temporal_kernel_self_test(), ESP_OK);
}

TEST(Node, RingClassifyIsForwardOverTheRingOldestFirst) {
  const Bytes blob = default_blob();
  const Model model(rvne::parse(blob));
  const auto x = frames(21);
  NodeHandle h(blob.data(), blob.size(), ring_config(8));
  float logits[4];
  EXPECT_EQ(aether_node_classify(h.node, logits, 4), AETHER_ERR_INVALID_STATE);
  for (std::size_t i = 0; i < 21; ++i) {
    ASSERT_EQ(aether_node_push(h.node, x.row(static_cast<Eigen::Index>(i)).data(), nullptr), AETHER_OK);
    ASSERT_EQ(aether_node_classify(h.node, logits, 4), AETHER_OK);
    const std::size_t n = std::min<std::size_t>(i + 1, 8);
    const auto want = model.forward(x.middleRows(static_cast<Eigen::Index>(i + 1 - n), static_cast<Eigen::Index>(n)),
                                    aether::Pool::mean);
    for (int c = 0; c < 4; ++c) ASSERT_EQ(logits[c], want[c]) << "after frame " << i << ", class " << c;
  }
  ASSERT_EQ(aether_node_reset(h.node), AETHER_OK);
  EXPECT_EQ(aether_node_classify(h.node, logits, 4), AETHER_ERR_INVALID_STATE);
}

TEST(Node, StreamPushEqualsTemporalStreamWithSlidingWindow) {
  const Bytes blob = default_blob();
  const Model model(rvne::parse(blob));
  auto stream = model.make_stream(32, aether::Eviction::sliding_window);
  const auto x = frames(100);
  NodeHandle h(blob.data(), blob.size(), stream_config(32));
  float logits[4], again[4];
  EXPECT_EQ(aether_node_classify(h.node, logits, 4), AETHER_ERR_INVALID_STATE);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    ASSERT_EQ(aether_node_push(h.node, x.row(i).data(), logits), AETHER_OK);
    const auto& want = stream.push(x.row(i).data());
    for (int c = 0; c < 4; ++c) ASSERT_EQ(logits[c], want[c]) << "frame " << i;
    ASSERT_EQ(aether_node_classify(h.node, again, 4), AETHER_OK);
    EXPECT_EQ(std::memcmp(logits, again, sizeof logits), 0);
  }
  // Before eviction a stream equals the prefill with Pool::last (MODEL.md).
  ASSERT_EQ(aether_node_reset(h.node), AETHER_OK);
  for (Eigen::Index i = 0; i < 20; ++i) ASSERT_EQ(aether_node_push(h.node, x.row(i).data(), logits), AETHER_OK);
  const auto want = model.forward(x.topRows(20), aether::Pool::last);
  for (int c = 0; c < 4; ++c) EXPECT_EQ(logits[c], want[c]);
}

TEST(Node, Fp16CacheStaysCloseToFp32) {
  const Bytes blob = default_blob();
  const auto x = frames(80);
  NodeHandle a(blob.data(), blob.size(), stream_config(32, AETHER_CACHE_F32));
  NodeHandle b(blob.data(), blob.size(), stream_config(32, AETHER_CACHE_F16));
  float la[4], lb[4];
  double worst = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    ASSERT_EQ(aether_node_push(a.node, x.row(i).data(), la), AETHER_OK);
    ASSERT_EQ(aether_node_push(b.node, x.row(i).data(), lb), AETHER_OK);
    for (int c = 0; c < 4; ++c) worst = std::max(worst, std::abs(double(la[c]) - lb[c]) / std::max(1.0, std::abs(double(la[c]))));
  }
  EXPECT_LT(worst, 1e-2);  // keys/values rounded to half: ~1e-3 relative
  EXPECT_GT(worst, 0.0);   // and it really is another storage
}

TEST(Node, Fp32WeightsAreReadInPlaceUnalignedOnesAreCopied) {
  const Bytes blob = default_blob();
  // Aligned copy of the blob (std::vector's buffer is malloc-aligned; weights start at +24).
  aether::Node* node = nullptr;
  aether::NodeConfig cfg;
  cfg.input_dim = 16;
  cfg.n_classes = 4;
  cfg.window_len = 8;
  ASSERT_EQ(aether::Node::create(blob.data(), blob.size(), cfg, nullptr, 0, &node), aether::Errc::ok);
  EXPECT_EQ(static_cast<const void*>(node->model().weights()), static_cast<const void*>(blob.data() + 24));
  // The same bytes at an odd address: widened into the node's memory.
  Bytes shifted(blob.size() + 1);
  std::memcpy(shifted.data() + 1, blob.data(), blob.size());
  aether::Node* copy = nullptr;
  ASSERT_EQ(aether::Node::create(shifted.data() + 1, blob.size(), cfg, nullptr, 0, &copy), aether::Errc::ok);
  const auto* w = reinterpret_cast<const std::uint8_t*>(copy->model().weights());
  EXPECT_TRUE(w < shifted.data() || w >= shifted.data() + shifted.size());
  const auto x = frames(8);
  float l1[4], l2[4];
  for (Eigen::Index i = 0; i < 8; ++i) {
    ASSERT_EQ(node->push(x.row(i).data(), nullptr), aether::Errc::ok);
    ASSERT_EQ(copy->push(x.row(i).data(), nullptr), aether::Errc::ok);
  }
  ASSERT_EQ(node->classify(l1, 4), aether::Errc::ok);
  ASSERT_EQ(copy->classify(l2, 4), aether::Errc::ok);
  EXPECT_EQ(std::memcmp(l1, l2, sizeof l1), 0);
  // Needed memory: the copy needs the widened weights on top.
  rvne::BlobView v1 = rvne::parse_view(blob.data(), blob.size());
  rvne::BlobView v2 = rvne::parse_view(shifted.data() + 1, blob.size());
  EXPECT_EQ(aether::Node::memory_needed(v2, cfg) - aether::Node::memory_needed(v1, cfg), 41216u);
  aether::Node::destroy(node);
  aether::Node::destroy(copy);
}

TEST(Node, Fp16BlobIsWidenedOnceAndMatchesTheHostModel) {
  const Bytes blob = default_blob(rvne::Dtype::f16);
  const Model model(rvne::parse(blob));
  const auto x = frames(6);
  NodeHandle h(blob.data(), blob.size(), ring_config(8));
  for (Eigen::Index i = 0; i < 6; ++i) ASSERT_EQ(aether_node_push(h.node, x.row(i).data(), nullptr), AETHER_OK);
  float logits[4];
  ASSERT_EQ(aether_node_classify(h.node, logits, 4), AETHER_OK);
  const auto want = model.forward(x, aether::Pool::mean);
  for (int c = 0; c < 4; ++c) EXPECT_EQ(logits[c], want[c]);
}

TEST(Node, CallerMemoryIsExactlyMemoryNeeded) {
  const Bytes blob = default_blob();
  const auto x = frames(40);
  for (const aether_node_config& cfg : {ring_config(64), ring_config(1), stream_config(128), stream_config(128, AETHER_CACHE_F16),
                                       stream_config(2), stream_config(100, AETHER_CACHE_F16)}) {
    std::size_t need = 0;
    ASSERT_EQ(aether_node_memory_needed(blob.data(), blob.size(), &cfg, &need), AETHER_OK);
    // Aligned buffer: every byte but the alignment slack is used.
    std::vector<std::uint8_t, Eigen::aligned_allocator<std::uint8_t>> mem(need + 64);
    aether_node* node = nullptr;
    EXPECT_EQ(aether_node_init(blob.data(), blob.size(), &cfg, mem.data(), need - 1, &node), AETHER_ERR_NO_MEMORY);
    EXPECT_EQ(node, nullptr);
    ASSERT_EQ(aether_node_init(blob.data(), blob.size(), &cfg, mem.data(), need, &node), AETHER_OK);
    EXPECT_EQ(static_cast<void*>(node), static_cast<void*>(mem.data()));
    EXPECT_EQ(reinterpret_cast<aether::Node*>(node)->memory_used(), need - aether::Arena::slack())
        << "mode " << cfg.mode << " capacity " << cfg.capacity << " window " << cfg.window_len;
    float logits[4];
    for (Eigen::Index i = 0; i < x.rows(); ++i) ASSERT_EQ(aether_node_push(node, x.row(i).data(), logits), AETHER_OK);
    EXPECT_EQ(aether_node_classify(node, logits, 4), AETHER_OK);
    aether_node_destroy(node);
    // Any alignment: the same size works at an odd address.
    ASSERT_EQ(aether_node_init(blob.data(), blob.size(), &cfg, mem.data() + 3, need, &node), AETHER_OK);
    EXPECT_LE(reinterpret_cast<aether::Node*>(node)->memory_used(), need);
    aether_node_destroy(node);
  }
}

TEST(Node, StreamingRamForTheDefaultModelFitsTheBudget) {
  const Bytes blob = default_blob();
  std::size_t f16 = 0, f32 = 0, ring = 0;
  const aether_node_config c16 = stream_config(128, AETHER_CACHE_F16), c32 = stream_config(128), r = ring_config(64);
  ASSERT_EQ(aether_node_memory_needed(blob.data(), blob.size(), &c16, &f16), AETHER_OK);
  ASSERT_EQ(aether_node_memory_needed(blob.data(), blob.size(), &c32, &f32), AETHER_OK);
  ASSERT_EQ(aether_node_memory_needed(blob.data(), blob.size(), &r, &ring), AETHER_OK);
  std::printf("node memory: stream capacity 128 fp16 %zu B, fp32 %zu B; ring window 64 %zu B\n", f16, f32, ring);
  // The budget is the target's (16-byte arena alignment, as on Cortex-M4
  // and SSE2); wider SIMD builds pad every piece to 64 bytes and widen the
  // score rows, which adds well under 4 KiB.
  EXPECT_LE(f16, aether::detail::kArenaAlign == 16 ? 64u * 1024u : 68u * 1024u);
  EXPECT_LT(f16, f32);
}

TEST(Node, EveryInitCode) {
  const Bytes blob = default_blob();
  const aether_node_config ok = ring_config();
  aether_node* node = nullptr;
  auto init = [&](const std::uint8_t* b, std::size_t n, const aether_node_config* c) {
    return aether_node_init(b, n, c, nullptr, 0, &node);
  };
  EXPECT_EQ(init(nullptr, blob.size(), &ok), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(init(blob.data(), 0, &ok), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(init(blob.data(), blob.size(), nullptr), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(aether_node_init(blob.data(), blob.size(), &ok, nullptr, 0, nullptr), AETHER_ERR_INVALID_ARGUMENT);
  auto with = [&](auto edit) {
    aether_node_config c = ok;
    edit(c);
    return init(blob.data(), blob.size(), &c);
  };
  EXPECT_EQ(with([](auto& c) { c.input_dim = 0; }), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& c) { c.input_dim = 15; }), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& c) { c.n_classes = 0; }), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& c) { c.n_classes = 5; }), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& c) { c.window_len = 0; }), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& c) { c.mode = 2; }), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& c) { c.cache_dtype = 7; }), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& c) { c.mode = AETHER_MODE_STREAM; c.capacity = 0; }), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](auto& c) { c.mode = AETHER_MODE_STREAM; c.capacity = 1; }), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(node, nullptr);
  for (const Hostile& h : hostile_blobs()) {
    EXPECT_EQ(init(h.bytes.data(), h.bytes.size(), &ok), h.status) << h.name;
    std::size_t need = 1;
    EXPECT_EQ(aether_node_memory_needed(h.bytes.data(), h.bytes.size(), &ok, &need), h.status) << h.name;
    EXPECT_EQ(need, 1u) << h.name;
  }
  EXPECT_EQ(node, nullptr);
  std::size_t need = 0;
  EXPECT_EQ(aether_node_memory_needed(blob.data(), blob.size(), &ok, nullptr), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(aether_node_memory_needed(blob.data(), blob.size(), nullptr, &need), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(aether_status_name(AETHER_ERR_CHECKSUM), "checksum_mismatch");
  EXPECT_STREQ(aether_status_name(-5), "unknown");
}

TEST(Node, RefusedCallsLeaveTheNodeUsable) {
  const Bytes blob = default_blob();
  const auto x = frames(10);
  for (const aether_node_config& cfg : {ring_config(4), stream_config(16)}) {
    NodeHandle h(blob.data(), blob.size(), cfg), fresh(blob.data(), blob.size(), cfg);
    float logits[4], want[4];
    for (Eigen::Index i = 0; i < 10; ++i) {
      ASSERT_EQ(aether_node_push(h.node, nullptr, logits), AETHER_ERR_INVALID_ARGUMENT);
      ASSERT_EQ(aether_node_classify(h.node, logits, 3), AETHER_ERR_INVALID_ARGUMENT);
      ASSERT_EQ(aether_node_classify(h.node, nullptr, 4), AETHER_ERR_INVALID_ARGUMENT);
      for (const Hostile& bad : hostile_blobs()) {  // another init failing does not touch this node
        aether_node* other = nullptr;
        ASSERT_EQ(aether_node_init(bad.bytes.data(), bad.bytes.size(), &cfg, nullptr, 0, &other), bad.status);
      }
      ASSERT_EQ(aether_node_push(h.node, x.row(i).data(), logits), AETHER_OK);
      ASSERT_EQ(aether_node_push(fresh.node, x.row(i).data(), want), AETHER_OK);
    }
    ASSERT_EQ(aether_node_classify(h.node, logits, 4), AETHER_OK);
    ASSERT_EQ(aether_node_classify(fresh.node, want, 4), AETHER_OK);
    EXPECT_EQ(std::memcmp(logits, want, sizeof logits), 0) << "mode " << cfg.mode;
  }
  float logits[4];
  EXPECT_EQ(aether_node_push(nullptr, logits, logits), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(aether_node_classify(nullptr, logits, 4), AETHER_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(aether_node_reset(nullptr), AETHER_ERR_INVALID_ARGUMENT);
  aether_node_destroy(nullptr);
}

TEST(NodeV2, RingClassifyFromRawCsiIsForwardWithTheBlobsPool) {
  const Bytes blob = v2_blob();
  const Model model(rvne::parse(blob));
  ASSERT_EQ(model.pool(), aether::Pool::last);
  const auto x = features(model, 21);
  NodeHandle h(blob.data(), blob.size(), ring_config(8));
  float logits[4];
  for (std::size_t i = 0; i < 21; ++i) {
    const std::vector<std::int8_t> iq = iq_frame(i);
    ASSERT_EQ(aether_node_push_csi(h.node, iq.data(), 64, nullptr), AETHER_OK);
    ASSERT_EQ(aether_node_classify(h.node, logits, 4), AETHER_OK);
    const std::size_t n = std::min<std::size_t>(i + 1, 8);
    // Positions from 0 in every window (forward's default first_position).
    const auto want = model.forward(x.middleRows(static_cast<Eigen::Index>(i + 1 - n), static_cast<Eigen::Index>(n)),
                                    model.pool());
    for (int c = 0; c < 4; ++c) ASSERT_EQ(logits[c], want[c]) << "after frame " << i << ", class " << c;
  }
  // A mean-pooled v2 blob pools by mean.
  const Bytes mean_blob = v2_blob([](rvne::Header& hd) { hd.arch.pool = rvne::PoolKind::mean; });
  const Model mean_model(rvne::parse(mean_blob));
  NodeHandle m(mean_blob.data(), mean_blob.size(), ring_config(8));
  for (Eigen::Index i = 0; i < 5; ++i) ASSERT_EQ(aether_node_push(m.node, x.row(i).data(), nullptr), AETHER_OK);
  ASSERT_EQ(aether_node_classify(m.node, logits, 4), AETHER_OK);
  const auto want = mean_model.forward(x.topRows(5), aether::Pool::mean);
  for (int c = 0; c < 4; ++c) EXPECT_EQ(logits[c], want[c]);
}

TEST(NodeV2, StreamFromRawCsiEqualsTemporalStream) {
  for (const rvne::Dtype dtype : {rvne::Dtype::f32, rvne::Dtype::f16}) {
    const Bytes blob = v2_blob(dtype);
    const Model model(rvne::parse(blob));
    auto stream = model.make_stream(32, aether::Eviction::sliding_window);
    const auto x = features(model, 100);
    NodeHandle h(blob.data(), blob.size(), stream_config(32));
    NodeHandle features_node(blob.data(), blob.size(), stream_config(32));
    float logits[4], again[4];
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      const std::vector<std::int8_t> iq = iq_frame(static_cast<std::size_t>(i));
      ASSERT_EQ(aether_node_push_csi(h.node, iq.data(), 64, logits), AETHER_OK);
      const auto& want = stream.push(x.row(i).data());
      for (int c = 0; c < 4; ++c) ASSERT_EQ(logits[c], want[c]) << "frame " << i;
      // The feature-vector push of the same features gives the same logits.
      ASSERT_EQ(aether_node_push(features_node.node, x.row(i).data(), again), AETHER_OK);
      EXPECT_EQ(std::memcmp(logits, again, sizeof logits), 0);
      ASSERT_EQ(aether_node_classify(h.node, again, 4), AETHER_OK);
      EXPECT_EQ(std::memcmp(logits, again, sizeof logits), 0);
    }
    // After reset the positions start at 0 again: a stream equals the prefill with Pool::last.
    ASSERT_EQ(aether_node_reset(h.node), AETHER_OK);
    for (Eigen::Index i = 0; i < 20; ++i) ASSERT_EQ(aether_node_push(h.node, x.row(i).data(), logits), AETHER_OK);
    const auto want = model.forward(x.topRows(20), aether::Pool::last);
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(logits[c], want[c], 1e-5 * std::max(1.0f, std::abs(want[c])));
  }
}

// A featuriser with a high-pass (step 6): push_csi keeps one baseline over the
// frames it took, exactly as the host's series featuriser does over a
// recording; a skipped or refused frame leaves it alone; reset restarts it.
TEST(NodeV2, HighpassFeaturiserKeepsItsBaselineAcrossPushes) {
  const Bytes blob = v2_blob([](rvne::Header& h) { h.arch.features.highpass = 8; });
  const Model model(rvne::parse(blob));
  ASSERT_EQ(model.featurizer().highpass, 8u);
  // The host path: features, then step 6 over the stream of frames.
  Model::Matrix x = features(model, 60);
  std::vector<float> baseline(model.input_dim());
  std::uint64_t seen = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) aether::io::remove_baseline(model.featurizer(), baseline.data(), seen, x.row(i).data());
  EXPECT_EQ(x.row(0).norm(), 0.0f);  // the first frame is its own baseline
  EXPECT_GT(x.row(30).norm(), 0.0f);
  auto stream = model.make_stream(32, aether::Eviction::sliding_window);
  NodeHandle h(blob.data(), blob.size(), stream_config(32));
  std::vector<std::int8_t> null_pairs(128, 0);
  float logits[4];
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const std::vector<std::int8_t> iq = iq_frame(static_cast<std::size_t>(i));
    ASSERT_EQ(aether_node_push_csi(h.node, null_pairs.data(), 64, logits), AETHER_SKIPPED_FRAME);
    ASSERT_EQ(aether_node_push_csi(h.node, iq.data(), 64, logits), AETHER_OK);
    const auto& want = stream.push(x.row(i).data());
    for (int c = 0; c < 4; ++c) ASSERT_EQ(logits[c], want[c]) << "frame " << i;
  }
  // Without step 6 the same frames give other logits: the check can fail.
  const Bytes plain = v2_blob();
  NodeHandle p(plain.data(), plain.size(), stream_config(32));
  float other[4];
  for (std::size_t i = 0; i < 60; ++i) ASSERT_EQ(aether_node_push_csi(p.node, iq_frame(i).data(), 64, other), AETHER_OK);
  EXPECT_NE(std::memcmp(logits, other, sizeof logits), 0);
  // reset: the baseline starts again at the next frame.
  ASSERT_EQ(aether_node_reset(h.node), AETHER_OK);
  NodeHandle fresh(blob.data(), blob.size(), stream_config(32));
  float again[4];
  for (std::size_t i = 0; i < 5; ++i) {
    ASSERT_EQ(aether_node_push_csi(h.node, iq_frame(i + 7).data(), 64, logits), AETHER_OK);
    ASSERT_EQ(aether_node_push_csi(fresh.node, iq_frame(i + 7).data(), 64, again), AETHER_OK);
    EXPECT_EQ(std::memcmp(logits, again, sizeof logits), 0) << "frame " << i << " after reset";
  }
}

TEST(NodeV2, Fp16CacheRuns) {
  const Bytes blob = v2_blob();
  const Model model(rvne::parse(blob));
  const auto x = features(model, 60);
  NodeHandle a(blob.data(), blob.size(), stream_config(32, AETHER_CACHE_F32));
  NodeHandle b(blob.data(), blob.size(), stream_config(32, AETHER_CACHE_F16));
  float la[4], lb[4];
  double worst = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    ASSERT_EQ(aether_node_push(a.node, x.row(i).data(), la), AETHER_OK);
    ASSERT_EQ(aether_node_push(b.node, x.row(i).data(), lb), AETHER_OK);
    for (int c = 0; c < 4; ++c) worst = std::max(worst, std::abs(double(la[c]) - lb[c]) / std::max(1.0, std::abs(double(la[c]))));
  }
  EXPECT_LT(worst, 2e-2);
  EXPECT_GT(worst, 0.0);
}

TEST(NodeV2, WeightsInPlaceFromAlignedBlobsWidenedOtherwise) {
  const Bytes blob = v2_blob();
  aether::NodeConfig cfg;
  cfg.input_dim = 16;
  cfg.n_classes = 4;
  cfg.window_len = 8;
  aether::Node* node = nullptr;
  ASSERT_EQ(aether::Node::create(blob.data(), blob.size(), cfg, nullptr, 0, &node), aether::Errc::ok);
  EXPECT_EQ(static_cast<const void*>(node->model().weights()), static_cast<const void*>(blob.data() + 0x80));
  Bytes shifted(blob.size() + 1);
  std::memcpy(shifted.data() + 1, blob.data(), blob.size());
  aether::Node* copy = nullptr;
  ASSERT_EQ(aether::Node::create(shifted.data() + 1, blob.size(), cfg, nullptr, 0, &copy), aether::Errc::ok);
  const auto* w = reinterpret_cast<const std::uint8_t*>(copy->model().weights());
  EXPECT_TRUE(w < shifted.data() || w >= shifted.data() + shifted.size());
  float l1[4], l2[4];
  for (std::size_t t = 0; t < 8; ++t) {
    const std::vector<std::int8_t> iq = iq_frame(t);
    ASSERT_EQ(node->push_csi(iq.data(), 64, nullptr), aether::Errc::ok);
    ASSERT_EQ(copy->push_csi(iq.data(), 64, nullptr), aether::Errc::ok);
  }
  ASSERT_EQ(node->classify(l1, 4), aether::Errc::ok);
  ASSERT_EQ(copy->classify(l2, 4), aether::Errc::ok);
  EXPECT_EQ(std::memcmp(l1, l2, sizeof l1), 0);
  const rvne::BlobView v1 = rvne::parse_view(blob.data(), blob.size());
  const rvne::BlobView v2 = rvne::parse_view(shifted.data() + 1, blob.size());
  EXPECT_EQ(aether::Node::memory_needed(v2, cfg) - aether::Node::memory_needed(v1, cfg),
            aether::detail::arena_bytes<float>(static_cast<std::size_t>(rvne::layout_elements(v1.header))));
  aether::Node::destroy(node);
  aether::Node::destroy(copy);
}

TEST(NodeV2, CallerMemoryIsExactlyMemoryNeeded) {
  const Bytes f32 = v2_blob(), f16 = v2_blob(rvne::Dtype::f16);
  const Bytes mean_pool = v2_blob([](rvne::Header& h) { h.arch.pool = rvne::PoolKind::mean; });
  // No input projection (d_model = input_dim) and two global tokens (a longer protected prefix).
  const Bytes plain = v2_blob([](rvne::Header& h) {
    h.arch.blocks &= ~rvne::kBlockInputProjection;
    h.arch.d_model = 0;
    h.arch.attention.global_count = 2;
    h.arch.attention.globals[1] = 1;
  });
  // The model's scratch and convolution history are what memory_needed counts.
  const Model model(rvne::parse(f32));
  EXPECT_EQ(model.conv_state_size(), 2u * 5u * 32u);
  for (const Bytes* blob : {&f32, &f16, &mean_pool, &plain}) {
    for (const aether_node_config& cfg : {ring_config(64), ring_config(1), stream_config(128),
                                         stream_config(128, AETHER_CACHE_F16), stream_config(3),
                                         stream_config(100, AETHER_CACHE_F16)}) {
      std::size_t need = 0;
      ASSERT_EQ(aether_node_memory_needed(blob->data(), blob->size(), &cfg, &need), AETHER_OK);
      std::vector<std::uint8_t, Eigen::aligned_allocator<std::uint8_t>> mem(need + 64);
      aether_node* node = nullptr;
      EXPECT_EQ(aether_node_init(blob->data(), blob->size(), &cfg, mem.data(), need - 1, &node), AETHER_ERR_NO_MEMORY);
      ASSERT_EQ(aether_node_init(blob->data(), blob->size(), &cfg, mem.data(), need, &node), AETHER_OK);
      EXPECT_EQ(reinterpret_cast<aether::Node*>(node)->memory_used(), need - aether::Arena::slack())
          << "mode " << cfg.mode << " capacity " << cfg.capacity << " window " << cfg.window_len;
      float logits[4];
      for (std::size_t t = 0; t < 70; ++t) {
        const std::vector<std::int8_t> iq = iq_frame(t);
        ASSERT_EQ(aether_node_push_csi(node, iq.data(), 64, logits), AETHER_OK);
      }
      EXPECT_EQ(aether_node_classify(node, logits, 4), AETHER_OK);
      aether_node_destroy(node);
    }
  }
}

TEST(NodeV2, PushCsiCodes) {
  const Bytes v1 = default_blob(), v2 = v2_blob();
  const std::vector<std::int8_t> iq = iq_frame(3);
  for (const aether_node_config& cfg : {ring_config(4), stream_config(16)}) {
    NodeHandle old(v1.data(), v1.size(), cfg), h(v2.data(), v2.size(), cfg), fresh(v2.data(), v2.size(), cfg);
    float logits[4] = {7, 7, 7, 7}, want[4];
    EXPECT_EQ(aether_node_push_csi(old.node, iq.data(), 64, logits), AETHER_ERR_NO_FEATURISER);
    EXPECT_EQ(aether_node_push_csi(nullptr, iq.data(), 64, logits), AETHER_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(aether_node_push_csi(h.node, nullptr, 64, logits), AETHER_ERR_INVALID_ARGUMENT);
    // Filtered out: another subcarrier count (the first 128 bytes of a 128-subcarrier frame), or every pair null.
    const std::vector<std::int8_t> wide = iq_frame(3, 128), null_pairs(128, 0);
    EXPECT_EQ(aether_node_push_csi(h.node, wide.data(), 128, logits), AETHER_SKIPPED_FRAME);
    EXPECT_EQ(aether_node_push_csi(h.node, iq.data(), 63, logits), AETHER_SKIPPED_FRAME);
    EXPECT_EQ(aether_node_push_csi(h.node, null_pairs.data(), 64, logits), AETHER_SKIPPED_FRAME);
    for (int c = 0; c < 4; ++c) EXPECT_EQ(logits[c], 7.0f) << "logits untouched";
    // Nothing changed: the node still equals a fresh one fed the same good frames.
    EXPECT_EQ(aether_node_classify(h.node, logits, 4), AETHER_ERR_INVALID_STATE);
    for (std::size_t t = 0; t < 6; ++t) {
      const std::vector<std::int8_t> f = iq_frame(t);
      ASSERT_EQ(aether_node_push_csi(h.node, f.data(), 64, logits), AETHER_OK);
      ASSERT_EQ(aether_node_push_csi(h.node, null_pairs.data(), 64, logits), AETHER_SKIPPED_FRAME);
      ASSERT_EQ(aether_node_push_csi(fresh.node, f.data(), 64, want), AETHER_OK);
    }
    ASSERT_EQ(aether_node_classify(h.node, logits, 4), AETHER_OK);
    ASSERT_EQ(aether_node_classify(fresh.node, want, 4), AETHER_OK);
    EXPECT_EQ(std::memcmp(logits, want, sizeof logits), 0) << "mode " << cfg.mode;
  }
  // A standardisation that overflows float: (v - offset) * scale = (v + 3e38) * 3e38 is infinite.
  rvne::Header sh = rvne::v2_benchmark_header();
  sh.arch.features.flags |= rvne::kFeatureStandardised;
  rvne::Blob standardised = rvne::init_trainable(sh, 1);
  rvne::for_each_tensor(sh, [&](const rvne::MatrixShape& m) {
    if (std::strcmp(m.name, "features.scale") == 0 || std::strcmp(m.name, "features.offset") == 0) {
      const float huge = m.name[9] == 's' ? 3e38f : -3e38f;
      for (std::size_t i = 0; i < m.rows * m.cols; ++i) std::memcpy(standardised.weights.data() + 4 * (m.offset + i), &huge, 4);
    }
  });
  const Bytes sb = rvne::serialize(standardised);
  NodeHandle inf(sb.data(), sb.size(), stream_config(16));
  float logits[4] = {7, 7, 7, 7};
  EXPECT_EQ(aether_node_push_csi(inf.node, iq.data(), 64, logits), AETHER_ERR_NON_FINITE);
  EXPECT_EQ(logits[0], 7.0f);
  EXPECT_EQ(aether_node_classify(inf.node, logits, 4), AETHER_ERR_INVALID_STATE);
  EXPECT_STREQ(aether_status_name(AETHER_SKIPPED_FRAME), "skipped_frame");
  EXPECT_STREQ(aether_status_name(AETHER_ERR_NO_FEATURISER), "no_featuriser");
  EXPECT_EQ(ruv_temporal_esp_err(AETHER_SKIPPED_FRAME), ESP_ERR_NOT_FOUND);
  EXPECT_EQ(ruv_temporal_esp_err(AETHER_ERR_NO_FEATURISER), ESP_ERR_NOT_SUPPORTED);
  EXPECT_EQ(ruv_temporal_esp_err(AETHER_ERR_NON_FINITE), ESP_ERR_INVALID_ARG);
}

TEST(NodeV2, RefusedBlobsAndConfigs) {
  const Bytes good = v2_blob();
  const aether_node_config cfg = ring_config();
  auto refused = [&](const Bytes& b, const aether_node_config& c) {
    aether_node* node = nullptr;
    const aether_status s = aether_node_init(b.data(), b.size(), &c, nullptr, 0, &node);
    EXPECT_EQ(node, nullptr);
    std::size_t need = 1;
    EXPECT_EQ(aether_node_memory_needed(b.data(), b.size(), &c, &need), s);
    return s;
  };
  // The node runs ungated sparse v2 blobs.
  EXPECT_EQ(refused(v2_blob([](rvne::Header& h) {
              h.arch.attention.gate = rvne::GateKind::salient;
              h.arch.attention.gate_top_k = 8;
              h.arch.attention.gate_hidden = 8;
            }), cfg),
            AETHER_ERR_INVALID_CONFIG);
  EXPECT_EQ(refused(v2_blob([](rvne::Header& h) { h.arch.attention.backend = rvne::BackendKind::dense; }), cfg),
            AETHER_ERR_INVALID_CONFIG);
  aether_node_config wrong = cfg;
  wrong.input_dim = 32;  // d_model, not the featuriser's output
  EXPECT_EQ(refused(good, wrong), AETHER_ERR_INVALID_ARGUMENT);
  namespace d = rvne::detail;
  Bytes b = good;
  store_u32(b.data() + d::kOffNormEps, 0x40000000u);  // norm_eps 2.0
  EXPECT_EQ(refused(with_crc(b), cfg), AETHER_ERR_INVALID_HEADER);
  b = good;
  b[d::kOffFeatureVersion] = 2;  // version 2 without the constant feature
  EXPECT_EQ(refused(with_crc(b), cfg), AETHER_ERR_INVALID_HEADER);
  b = good;
  b[d::kOffFeatureFlags] |= rvne::kFeatureStandardised;  // offset and scale tensors the section lacks
  EXPECT_EQ(refused(with_crc(b), cfg), AETHER_ERR_LAYOUT_MISMATCH);
  b = good;
  b.erase(b.end() - 20, b.end() - 4);  // the tensor section 16 bytes short
  store_u32(b.data() + d::kOffWeightsLen, static_cast<std::uint32_t>(b.size() - 0x80 - 4));
  EXPECT_EQ(refused(with_crc(b), cfg), AETHER_ERR_LAYOUT_MISMATCH);
  b = good;
  b[d::kOffBlocks + 3] |= 0x80;  // an unknown block bit
  EXPECT_EQ(refused(with_crc(b), cfg), AETHER_ERR_UNSUPPORTED_FEATURE);
  // Non-zero padding: a shape with padding (b1 of 62 floats ends 8 bytes short of 16-byte alignment).
  const Bytes padded = v2_blob([](rvne::Header& h) { h.arch.ffn_dim = 62; });
  std::size_t need = 0;
  ASSERT_EQ(aether_node_memory_needed(padded.data(), padded.size(), &cfg, &need), AETHER_OK);  // itself fine
  b = padded;
  std::size_t gap = 0;
  rvne::for_each_tensor(rvne::parse_view(padded.data(), padded.size()).header, [&](const rvne::MatrixShape& m) {
    if (gap == 0 && std::strcmp(m.name, "b1") == 0) gap = 0x80 + 4 * (m.offset + m.rows * m.cols);
  });
  ASSERT_GT(gap, 0u);
  b[gap] = 1;
  b = with_crc(b);
  EXPECT_EQ(refused(b, cfg), AETHER_ERR_INVALID_HEADER);
  // ruv_temporal_init takes v2 blobs and maps the new refusals.
  ruv_temporal_ctx_t* ctx = nullptr;
  ASSERT_EQ(ruv_temporal_init(good.data(), good.size(), 16, 8, 4, &ctx), ESP_OK);
  const Model model(rvne::parse(good));
  const auto x = features(model, 10);
  for (Eigen::Index i = 0; i < 10; ++i) ASSERT_EQ(ruv_temporal_push(ctx, x.row(i).data()), ESP_OK);
  float logits[4];
  ASSERT_EQ(ruv_temporal_classify(ctx, logits, 4), ESP_OK);
  const auto want = model.forward(x.bottomRows(8), model.pool());
  for (int c = 0; c < 4; ++c) EXPECT_EQ(logits[c], want[c]);
  ruv_temporal_destroy(ctx);
  ruv_temporal_ctx_t* none = nullptr;
  EXPECT_EQ(ruv_temporal_init(b.data(), b.size(), 16, 8, 4, &none), ESP_ERR_INVALID_ARG);
  b = good;
  b[d::kOffBlocks + 3] |= 0x80;
  EXPECT_EQ(ruv_temporal_init(with_crc(b).data(), b.size(), 16, 8, 4, &none), ESP_ERR_NOT_SUPPORTED);
  EXPECT_EQ(none, nullptr);
}

TEST(RuvTemporal, FirmwareCallsAndCodes) {
  const Bytes blob = default_blob();
  const Model model(rvne::parse(blob));
  ruv_temporal_ctx_t* ctx = nullptr;
  EXPECT_EQ(ruv_temporal_init(nullptr, blob.size(), 16, 8, 4, &ctx), ESP_ERR_INVALID_ARG);
  EXPECT_EQ(ruv_temporal_init(blob.data(), 0, 16, 8, 4, &ctx), ESP_ERR_INVALID_ARG);
  EXPECT_EQ(ruv_temporal_init(blob.data(), blob.size(), 16, 8, 4, nullptr), ESP_ERR_INVALID_ARG);
  EXPECT_EQ(ruv_temporal_init(blob.data(), blob.size(), 0, 8, 4, &ctx), ESP_ERR_INVALID_ARG);
  EXPECT_EQ(ruv_temporal_init(blob.data(), blob.size(), 16, 0, 4, &ctx), ESP_ERR_INVALID_ARG);
  EXPECT_EQ(ruv_temporal_init(blob.data(), blob.size(), 16, 8, 0, &ctx), ESP_ERR_INVALID_ARG);
  EXPECT_EQ(ruv_temporal_init(blob.data(), blob.size(), 12, 8, 4, &ctx), ESP_ERR_INVALID_ARG);
  EXPECT_EQ(ruv_temporal_init(blob.data(), blob.size(), 16, 8, 3, &ctx), ESP_ERR_INVALID_ARG);
  for (const Hostile& h : hostile_blobs()) {
    EXPECT_EQ(ruv_temporal_init(h.bytes.data(), h.bytes.size(), 16, 8, 4, &ctx), h.esp) << h.name;
  }
  EXPECT_EQ(ctx, nullptr);
  ASSERT_EQ(ruv_temporal_init(blob.data(), blob.size(), 16, 8, 4, &ctx), ESP_OK);
  float logits[4];
  EXPECT_EQ(ruv_temporal_classify(ctx, logits, 4), ESP_ERR_INVALID_STATE);
  EXPECT_EQ(ruv_temporal_push(ctx, nullptr), ESP_ERR_INVALID_ARG);
  EXPECT_EQ(ruv_temporal_push(nullptr, logits), ESP_ERR_INVALID_ARG);
  const auto x = frames(12);
  for (Eigen::Index i = 0; i < 12; ++i) ASSERT_EQ(ruv_temporal_push(ctx, x.row(i).data()), ESP_OK);
  EXPECT_EQ(ruv_temporal_classify(ctx, logits, 3), ESP_ERR_INVALID_ARG);
  EXPECT_EQ(ruv_temporal_classify(ctx, nullptr, 4), ESP_ERR_INVALID_ARG);
  EXPECT_EQ(ruv_temporal_classify(nullptr, logits, 4), ESP_ERR_INVALID_ARG);
  ASSERT_EQ(ruv_temporal_classify(ctx, logits, 4), ESP_OK);
  const auto want = model.forward(x.bottomRows(8), aether::Pool::mean);
  for (int c = 0; c < 4; ++c) EXPECT_EQ(logits[c], want[c]);
  ruv_temporal_destroy(ctx);
  ruv_temporal_destroy(nullptr);
  EXPECT_EQ(ruv_temporal_kernel_self_test(), ESP_OK);
  // Every status maps to the documented code.
  EXPECT_EQ(ruv_temporal_esp_err(AETHER_ERR_NO_MEMORY), ESP_ERR_NO_MEM);
  EXPECT_EQ(ruv_temporal_esp_err(AETHER_ERR_CHECK_FAILED), ESP_FAIL);
  EXPECT_EQ(ESP_ERR_INVALID_VERSION, 0x10A);
  EXPECT_EQ(ESP_ERR_INVALID_CRC, 0x109);
}

TEST(RuvTemporal, CallerMemoryTooSmallIsNoMem) {
  const Bytes blob = default_blob();
  const aether_node_config cfg = ring_config();
  std::size_t need = 0;
  ASSERT_EQ(aether_node_memory_needed(blob.data(), blob.size(), &cfg, &need), AETHER_OK);
  std::vector<std::uint8_t> mem(need);
  aether_node* node = nullptr;
  EXPECT_EQ(ruv_temporal_esp_err(aether_node_init(blob.data(), blob.size(), &cfg, mem.data(), need / 2, &node)),
            ESP_ERR_NO_MEM);
}

}  // namespace node_test
