// Internal: the implementation of aether/c/aether.h, compiled by the one C++
// translation unit that defines AETHER_C_IMPLEMENTATION. A thin layer over
// aether::Node (aether/node.hpp): every function validates its pointers and
// forwards; the node's Errc values are the C statuses.
#pragma once

#include <aether/c/aether.h>
#include <aether/error.hpp>
#include <aether/node.hpp>
#include <aether/rvne/codec.hpp>
#include <aether/rvne/crc32.hpp>
#include <aether/rvne/init.hpp>
#include <aether/temporal_model.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

static_assert(AETHER_OK == static_cast<int>(aether::Errc::ok) &&
                  AETHER_ERR_INVALID_CONFIG == static_cast<int>(aether::Errc::invalid_config) &&
                  AETHER_ERR_SHAPE_MISMATCH == static_cast<int>(aether::Errc::shape_mismatch) &&
                  AETHER_ERR_INVALID_ARGUMENT == static_cast<int>(aether::Errc::invalid_argument) &&
                  AETHER_ERR_LIMIT_EXCEEDED == static_cast<int>(aether::Errc::limit_exceeded) &&
                  AETHER_ERR_TRUNCATED == static_cast<int>(aether::Errc::truncated) &&
                  AETHER_ERR_BAD_MAGIC == static_cast<int>(aether::Errc::bad_magic) &&
                  AETHER_ERR_UNSUPPORTED_VERSION == static_cast<int>(aether::Errc::unsupported_version) &&
                  AETHER_ERR_UNSUPPORTED_FLAGS == static_cast<int>(aether::Errc::unsupported_flags) &&
                  AETHER_ERR_TRAILING_BYTES == static_cast<int>(aether::Errc::trailing_bytes) &&
                  AETHER_ERR_CHECKSUM == static_cast<int>(aether::Errc::checksum_mismatch) &&
                  AETHER_ERR_INVALID_HEADER == static_cast<int>(aether::Errc::invalid_header) &&
                  AETHER_ERR_LAYOUT_MISMATCH == static_cast<int>(aether::Errc::layout_mismatch) &&
                  AETHER_ERR_UNSUPPORTED_FEATURE == static_cast<int>(aether::Errc::unsupported_feature) &&
                  AETHER_ERR_NO_MEMORY == static_cast<int>(aether::Errc::no_memory) &&
                  AETHER_ERR_INVALID_STATE == static_cast<int>(aether::Errc::invalid_state) &&
                  AETHER_ERR_CHECK_FAILED == static_cast<int>(aether::Errc::check_failed) &&
                  AETHER_ERR_NON_FINITE == static_cast<int>(aether::Errc::non_finite) &&
                  AETHER_ERR_NO_FEATURISER == static_cast<int>(aether::Errc::no_featuriser) &&
                  AETHER_SKIPPED_FRAME == static_cast<int>(aether::Errc::skipped_frame),
              "C status values are the aether::Errc values");

namespace aether {
namespace c_abi {
inline Node* node_of(aether_node* n) noexcept { return reinterpret_cast<Node*>(n); }
inline aether_status status(Errc e) noexcept { return static_cast<aether_status>(e); }

/// The C configuration as a NodeConfig; false for an unknown mode or dtype.
inline bool to_config(const aether_node_config& c, NodeConfig& out) noexcept {
  if (c.mode != AETHER_MODE_RING && c.mode != AETHER_MODE_STREAM) return false;
  if (c.cache_dtype != AETHER_CACHE_F32 && c.cache_dtype != AETHER_CACHE_F16) return false;
  out.input_dim = c.input_dim;
  out.window_len = c.window_len;
  out.n_classes = c.n_classes;
  out.mode = c.mode == AETHER_MODE_RING ? NodeMode::ring : NodeMode::stream;
  out.capacity = c.capacity;
  out.cache = c.cache_dtype == AETHER_CACHE_F16 ? CacheDtype::f16 : CacheDtype::f32;
  return true;
}
}  // namespace c_abi
}  // namespace aether

extern "C" {

aether_status aether_node_memory_needed(const uint8_t* blob, size_t blob_len, const aether_node_config* config,
                                        size_t* bytes) {
  aether::NodeConfig cfg;
  if (config == nullptr || bytes == nullptr || !aether::c_abi::to_config(*config, cfg)) {
    return AETHER_ERR_INVALID_ARGUMENT;
  }
  return aether::c_abi::status(aether::Node::memory_needed(blob, blob_len, cfg, bytes));
}

aether_status aether_node_init(const uint8_t* blob, size_t blob_len, const aether_node_config* config, void* memory,
                               size_t memory_len, aether_node** out) {
  aether::NodeConfig cfg;
  if (config == nullptr || out == nullptr || !aether::c_abi::to_config(*config, cfg)) {
    return AETHER_ERR_INVALID_ARGUMENT;
  }
  aether::Node* node = nullptr;
  const aether::Errc e = aether::Node::create(blob, blob_len, cfg, memory, memory_len, &node);
  if (e == aether::Errc::ok) *out = reinterpret_cast<aether_node*>(node);
  return aether::c_abi::status(e);
}

aether_status aether_node_push(aether_node* node, const float* frame, float* logits) {
  if (node == nullptr) return AETHER_ERR_INVALID_ARGUMENT;
  return aether::c_abi::status(aether::c_abi::node_of(node)->push(frame, logits));
}

aether_status aether_node_push_csi(aether_node* node, const int8_t* iq, uint32_t n_subcarriers, float* logits) {
  if (node == nullptr) return AETHER_ERR_INVALID_ARGUMENT;
  return aether::c_abi::status(aether::c_abi::node_of(node)->push_csi(iq, n_subcarriers, logits));
}

aether_status aether_node_classify(aether_node* node, float* logits, uint32_t n_classes) {
  if (node == nullptr) return AETHER_ERR_INVALID_ARGUMENT;
  return aether::c_abi::status(aether::c_abi::node_of(node)->classify(logits, n_classes));
}

aether_status aether_node_reset(aether_node* node) {
  if (node == nullptr) return AETHER_ERR_INVALID_ARGUMENT;
  aether::c_abi::node_of(node)->reset();
  return AETHER_OK;
}

void aether_node_destroy(aether_node* node) { aether::Node::destroy(aether::c_abi::node_of(node)); }

aether_status aether_node_self_test(void) {
  using aether::Errc;
  namespace rvne = aether::rvne;
  if (rvne::crc32("123456789", 9) != 0xCBF43926u) return AETHER_ERR_CHECK_FAILED;
  // A small seeded model: D 4, Hq 2, Hkv 1, d 4, one layer, 3 classes.
  rvne::Header h;
  h.input_dim = 4;
  h.q_heads = 2;
  h.kv_heads = 1;
  h.head_dim = 4;
  h.layers = 1;
  h.classes = 3;
  const std::vector<std::uint8_t> blob = rvne::serialize(rvne::init_random(h));
  const aether::TemporalModel<float> model(rvne::parse_view(blob.data(), blob.size()));
  constexpr std::size_t kFrames = 7, kWindow = 5;
  aether::TemporalModel<float>::Matrix x(kFrames, 4);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>((i * 7) % 11) / 11.0f - 0.5f;
  const auto ring_want = model.forward(x.bottomRows(kWindow), aether::Pool::mean);
  const auto stream_want = model.forward(x, aether::Pool::last);
  bool ok = true;
  for (std::uint32_t mode : {AETHER_MODE_RING, AETHER_MODE_STREAM}) {
    const aether_node_config cfg{4, static_cast<uint32_t>(kWindow), 3, mode, 16, AETHER_CACHE_F32};
    aether_node* node = nullptr;
    if (aether_node_init(blob.data(), blob.size(), &cfg, nullptr, 0, &node) != AETHER_OK) return AETHER_ERR_CHECK_FAILED;
    float logits[3] = {0, 0, 0};
    for (std::size_t i = 0; i < kFrames; ++i) ok = ok && aether_node_push(node, x.row(i).data(), logits) == AETHER_OK;
    ok = ok && aether_node_classify(node, logits, 3) == AETHER_OK;
    const auto& want = mode == AETHER_MODE_RING ? ring_want : stream_want;
    for (int c = 0; c < 3; ++c) ok = ok && logits[c] == want[c];  // same kernels, same order: same bits
    aether_node_destroy(node);
  }
  return ok ? AETHER_OK : AETHER_ERR_CHECK_FAILED;
}

const char* aether_status_name(aether_status status) {
  if (status < 0 || status > 255) return "unknown";
  return aether::errc_name(static_cast<aether::Errc>(status));
}

}  // extern "C"
