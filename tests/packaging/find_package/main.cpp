// Consumer smoke test: a few public API calls through find_package(aether).
// Exit 0 on success; prints the failed check otherwise.
#include <aether/aether.hpp>
#if __has_include(<aether/rvne.hpp>)
#include <aether/rvne.hpp>
#define CONSUMER_HAS_RVNE 1
#endif

#include <cmath>
#include <cstddef>
#include <cstdio>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

void fill(aether::Tensor3<float>& t, float phase) {
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = std::sin(0.37f * static_cast<float>(i) + phase);
}

}  // namespace

int main() {
  const auto hc = aether::TemporalHeadConfig::aether_default();
  const aether::TemporalHead<float> head(hc);
  const std::size_t n = 40;
  aether::Tensor3<float> q(n, hc.q_heads, hc.head_dim);
  aether::Tensor3<float> k(n, hc.kv_heads, hc.head_dim);
  aether::Tensor3<float> v(n, hc.kv_heads, hc.head_dim);
  fill(q, 0.1f);
  fill(k, 0.7f);
  fill(v, 1.3f);

  // Prefill, and the same tokens streamed one at a time through a cache.
  const aether::Tensor3<float> out = head.forward(q, k, v);
  check(out.seq() == n && out.heads() == hc.q_heads && out.dim() == hc.head_dim, "forward shape");
  auto cache = head.make_cache(n);
  aether::Tensor3<float> last;
  for (std::size_t t = 0; t < n; ++t) {
    last = head.step(q.view().slice(t, 1), k.view().slice(t, 1), v.view().slice(t, 1), cache);
  }
  check(cache.size() == n, "cache size after n steps");
  float step_err = 0.f;
  for (std::size_t h = 0; h < hc.q_heads; ++h)
    for (std::size_t d = 0; d < hc.head_dim; ++d) step_err = std::fmax(step_err, std::fabs(last(0, h, d) - out(n - 1, h, d)));
  check(step_err <= 1e-5f, "step == forward on the last token");

  // Dense reference: causal row 0 attends only to token 0, so it equals v[0].
  const aether::Tensor3<float> dense = aether::dense_attention(q, k, v, /*causal=*/true);
  check(dense.seq() == n && dense.heads() == hc.q_heads, "dense_attention shape");
  check(std::fabs(dense(0, 0, 0) - v(0, 0, 0)) <= 1e-6f, "dense causal row 0 == v[0]");

  // Errors: one exception type with a code.
  auto bad = hc;
  bad.q_heads = 0;
  try {
    aether::TemporalHead<float> h(bad);
    check(false, "invalid config must throw");
  } catch (const aether::Error& e) {
    check(e.code() == aether::Errc::invalid_config, "invalid config -> Errc::invalid_config");
  }

#ifdef CONSUMER_HAS_RVNE
  const char digits[] = "123456789";
  check(aether::rvne::crc32(digits, 9) == 0xCBF43926u, "rvne::crc32 check value");
#endif

  if (failures == 0) std::printf("consumer ok\n");
  return failures == 0 ? 0 : 1;
}
