#pragma once
// Shared by odr_a.cpp and odr_b.cpp: everything public, included in both TUs,
// and a function (internal linkage, so each TU has its own copy) that touches
// the templates and inline functions of each component.
#include <aether/aether.hpp>
#if __has_include(<aether/rvne.hpp>)
#include <aether/rvne.hpp>
#define AETHER_ODR_HAS_RVNE 1
#endif

#include <cstddef>
#include <cstdint>

namespace aether_odr {

struct OdrResult {
  float head = 0.f;
  float dense = 0.f;
  std::uint32_t crc = 0;
  bool ok = false;
  bool operator==(const OdrResult& o) const {
    return head == o.head && dense == o.dense && crc == o.crc && ok == o.ok;
  }
};

OdrResult run_a();
OdrResult run_b();

namespace {
[[maybe_unused]] OdrResult run_all() {
  OdrResult r;
  const auto hc = aether::TemporalHeadConfig::aether_default();
  const aether::TemporalHead<float> head(hc);
  const std::size_t n = 20;
  aether::Tensor3<float> q(n, hc.q_heads, hc.head_dim), k(n, hc.kv_heads, hc.head_dim), v(n, hc.kv_heads, hc.head_dim);
  for (std::size_t i = 0; i < q.size(); ++i) q.data()[i] = static_cast<float>(i % 7) * 0.1f;
  for (std::size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<float>(i % 5) * 0.2f;
  for (std::size_t i = 0; i < v.size(); ++i) v.data()[i] = static_cast<float>(i % 3) - 1.f;
  r.head = head.forward(q, k, v)(n - 1, 0, 0);
  r.dense = aether::dense_attention(q, k, v, /*causal=*/true)(n - 1, 0, 0);
  bool threw = false;
  try {
    aether::KvCache<float> bad(0, 1, 1, 1);
  } catch (const aether::Error& e) {
    threw = e.code() == aether::Errc::invalid_argument;
  }
#ifdef AETHER_ODR_HAS_RVNE
  r.crc = aether::rvne::crc32("123456789", 9);
  r.ok = threw && r.crc == 0xCBF43926u;
#else
  r.ok = threw;
#endif
  return r;
}
}  // namespace

}  // namespace aether_odr
